"""The claims study: paired statistics and verdicts (by hand-computed numbers), the steps it asks
the tools for, and claims.md."""
import math

import pytest

from experiments.claims import paper_numbers as paper
from experiments.claims import study
from experiments.claims.summary import (claim_buffers, claim_lmc, claim_merge_beats_best_single,
                                        hmean_over, mean_std, render_claims_markdown, subset_name,
                                        subset_ranking, subsets, summarize, verdict)
from experiments.layout import TARGETS, JobLayout
from experiments.main_job import tiny_experiment
from mtda.errors import MtdaError
from support import CONFIGS


def record(c, i, a, d):
    return {'domains': {t: {'mIoU': v} for t, v in zip(TARGETS, (c, i, a, d))}}


def lmc(curve_ci):
    """Sweep points whose H(C, I) is ``curve_ci`` (C = I = the value, so H = the value)."""
    n = len(curve_ci)
    return {'points': [{'lambda': k / (n - 1), 'mIoU': dict(cityscapes=v, idd=v, acdc=1.0,
                                                               dark_zurich=1.0)}
                       for k, v in enumerate(curve_ci)]}


def run(shift=0.0):
    """One seed: D is the best single; merges add ``shift`` to every domain of a fixed record."""
    singles = {'cityscapes': record(40, 20, 20, 10), 'idd': record(20, 40, 20, 10),
               'acdc': record(20, 20, 40, 10), 'dark_zurich': record(20, 20, 20, 20)}
    merges = {'pool': record(30 + shift, 30, 30, 20), 'mean': record(30, 30, 30, 18),
              'first': record(30, 30, 30, 15), 'own_heads': record(30, 30, 30, 22)}
    found = {subset_name(s): record(30 + shift, 30, 30, 15) for s in subsets() if len(s) > 1}
    found['C+I+A+D'] = merges['pool']
    return dict(singles=singles, merges=merges, subsets=found, cs_idd_own_heads=record(32, 32, 0, 0),
                lmc={'shared init': lmc([30, 32, 31]), 'different init': lmc([30, 5, 31])})


def test_subsets_follow_the_papers_row_order():
    names = [subset_name(s) for s in subsets()]
    assert names == list(paper.FOUR_DOMAIN_TABLE) and len(names) == 15


def test_mean_std_and_verdicts():
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    assert verdict([1.0, 3.0]) == 'holds'  # mean 2 > std 1.41
    assert verdict([-1.0, -3.0]) == 'does not hold'
    assert verdict([-1.0, 3.0]) == 'inconclusive'  # mean 1 < std 2.83
    assert verdict([2.0]) == 'inconclusive (one seed)'


def test_merge_against_best_single_is_paired_within_each_seed():
    runs = {0: run(0.0), 1: run(10.0)}
    c3 = claim_merge_beats_best_single(runs)
    # best single over four: D, H(20, 20, 20, 20) = 20; merged: H(30, 30, 30, 20) = 4 / (3/30 + 1/20)
    merged0 = 4 / (3 / 30 + 1 / 20)
    merged1 = 4 / (1 / 40 + 2 / 30 + 1 / 20)
    assert c3['values']['all: best single'] == [pytest.approx(20.0)] * 2
    assert c3['values']['all: difference'] == [pytest.approx(merged0 - 20), pytest.approx(merged1 - 20)]
    # C+I over (C, I): singles H(40, 20) = 26.67 each; the C+I merge H(30, 30) = 30 / H(40, 30)
    assert c3['values']['C+I: best single'][0] == pytest.approx(2 / (1 / 40 + 1 / 20))
    assert c3['values']['C+I: merged'] == [pytest.approx(30.0), pytest.approx(2 / (1 / 40 + 1 / 30))]
    assert c3['verdict']['all'] == 'holds'


def test_buffer_policies_and_lmc_barrier():
    runs = {0: run(), 1: run()}
    c4 = claim_buffers(runs)
    assert c4['values']['pool - first'][0] == pytest.approx(hmean_over(record(30, 30, 30, 20))
                                                            - hmean_over(record(30, 30, 30, 15)))
    c1 = claim_lmc(runs)
    # the line from 30 to 31 is at 30.5 when λ = 0.5: barriers 30.5 - 32 < 0 -> 0 (ends), 30.5 - 5
    assert c1['values']['shared init: barrier'] == [pytest.approx(0.0)] * 2
    assert c1['values']['different init: barrier'] == [pytest.approx(25.5)] * 2
    assert c1['curves']['different init'] == [pytest.approx(v) for v in (30, 5, 31)]
    assert c1['verdict'] == 'holds'  # identical seeds: std 0 < mean 25.5


def test_lmc_verdict_with_spread():
    a, b = run(), run()
    b['lmc']['different init'] = lmc([30, 10, 31])
    c1 = claim_lmc({0: a, 1: b})
    assert c1['values']['difference'] == [pytest.approx(25.5), pytest.approx(20.5)]
    assert c1['verdict'] == 'holds'


def test_claims_markdown_has_every_claim_and_fifteen_subset_rows():
    claims = summarize({'fam': {0: run(0.0), 1: run(10.0)}}, main_family='fam')
    text = render_claims_markdown(claims, preamble='Produced by a test.')
    for claim in ('C1 LMC', 'C3 merge', 'C4 buffers', 'C5 encoder-only', 'C6 merges beating'):
        assert claim in text
    rows = [line for line in text.splitlines() if line.startswith('| ') and '**' in line
            and line.split(' | ')[1] in paper.FOUR_DOMAIN_TABLE]
    assert len(rows) == 15 and rows[-1].split(' | ')[-2] == '36.4'
    assert 'Produced by a test.' in text


def test_c6_holds_only_when_every_merge_the_paper_finds_better_is_better_here():
    # the paper's 11 merges all beat its best single (D); here the rows' H follow the paper's
    # order, and ``better`` names the merges whose paired delta is above its spread
    def rows(better):
        return [dict(name=subset_name(t), size=len(t),
                     values=dict(H=[paper.FOUR_DOMAIN_TABLE[subset_name(t)][4]] * 2,
                                 delta=[1.0, 1.2] if subset_name(t) in better else [-1.0, -1.2]))
                for t in subsets()]
    merges = [subset_name(t) for t in subsets() if len(t) > 1]
    assert len(merges) == 11
    assert sorted(subset_ranking(rows([]))['paper_merges_beating_best_single']) == sorted(merges)
    assert subset_ranking(rows(merges))['verdict'] == 'holds'
    one = subset_ranking(rows(['C+A']))
    assert one['merges_beating_best_single'] == ['C+A'] and one['verdict'] == 'partly'
    none = subset_ranking(rows([]))
    assert none['verdict'] == 'does not hold' and none['spearman_rho'] == pytest.approx(1.0)


class RecordingTools:
    """Stands in for experiments.main_job.Tools: records the steps instead of running them."""

    def __init__(self):
        self.calls = []

    def run(self, tool, args):
        self.calls.append((tool, list(args)))

    def run_all(self, steps):
        for tool, args, *_ in steps:
            self.run(tool, args)


def test_study_asks_for_every_subset_merge_and_both_sweeps_once(tmp_path):
    tools = RecordingTools()
    calls = tools.calls
    experiment = tiny_experiment(CONFIGS)
    seed0, seed1 = JobLayout(tmp_path / 'seed0'), JobLayout(tmp_path / 'seed1')
    done = seed0.subset_dir('C+A')
    done.mkdir(parents=True)
    (done / 'results.json').write_text('{}')
    study.run_subset_merges(experiment, seed0, tools=tools)
    merged = {args[args.index('--name') + 1]: args for tool, args in calls if tool == 'merge.py'}
    # 6 pairs + 4 triples - the one already done + the encoder-only C+I merge
    assert len(merged) == 10 and 'merged C+A' not in merged
    inputs = [a for a in merged['merged I+A+D'] if str(a).endswith('final.pth')]
    assert [p.parts[-3] for p in inputs] == ['idd', 'acdc', 'dark_zurich']
    assert merged['merged C+I_own_heads'][-2:] == ['--heads', 'separate']
    calls.clear()
    study.run_lmc_sweeps(experiment, seed0, seed1, tools=tools)
    ends = [(args[1].parts[-5], args[2].parts[-5], args[2].parts[-3], '--rebasin' in args)
            for _, args in calls]
    assert ends == [('seed0', 'seed0', 'idd', False), ('seed0', 'seed1', 'idd', False),
                    ('seed0', 'seed1', 'idd', True)]


def test_study_needs_two_different_seeds(tmp_path):
    with pytest.raises(MtdaError, match='--seeds 0: the study needs at least two'):
        study.run_claims_study(tmp_path, configs_dir=CONFIGS, tools=RecordingTools(), seeds=[0])


def test_methods_are_compared_with_the_average_of_the_same_seed():
    from experiments.claims.summary import compare_methods
    runs = {0: run(0.0), 1: run(0.0), 2: run(0.0)}
    for seed, (ties_c, dare_c) in enumerate([(40, 28), (41, 20), (39, 36)]):
        runs[seed]['methods'] = {'ties': record(ties_c, 30, 30, 20),
                                 'dare': record(dare_c, 30, 30, 20)}
    rows = compare_methods(runs)
    average = 4 / (3 / 30 + 1 / 20)  # pool merge H, the same in every seed
    ties = [4 / (1 / c + 2 / 30 + 1 / 20) for c in (40, 41, 39)]
    assert rows['ties']['values']['H - average'] == pytest.approx([h - average for h in ties])
    assert rows['ties']['reading'] == 'better'  # +1.6 ± 0.1
    dare = [4 / (1 / c + 2 / 30 + 1 / 20) for c in (28, 20, 36)]
    assert rows['dare']['values']['H - average'] == pytest.approx([h - average for h in dare])
    assert rows['dare']['reading'] == 'level'  # -0.7 ± 1.9
    text = render_claims_markdown(summarize({'f': runs}, main_family='f'))
    assert '| f | ties | 40.0 ± 1.0 | 30.0 ± 0.0 |' in text
    # runs without method merges (an older study) compare nothing
    assert compare_methods({0: run(), 1: run()}) == {}


def test_method_merges_take_the_shared_init_as_base_except_rebasin_and_zipit(tmp_path):
    from experiments.main_job import method_merge_steps
    layout = JobLayout(tmp_path / 'seed0')
    singles = [layout.stage_one_weights(t) for t in TARGETS]
    done = layout.method_dir('dare')
    done.mkdir(parents=True)
    (done / 'results.json').write_text('{}')
    steps = method_merge_steps('config.py', layout, singles)
    assert [args[args.index('--method') + 1] for _, args, _, _ in steps] == [
        'ties', 'dare-ties', 'rebasin', 'zipit', 'zipit']
    folders = ['ties', 'dare-ties', 'rebasin', 'zipit', 'zipit_backbone']
    for (_, args, log, needs), folder in zip(steps, folders):
        method = args[args.index('--method') + 1]
        assert needs == singles  # started once the four stage-one runs are trained
        assert ('--base' in args) == (method not in ('rebasin', 'zipit'))
        assert '--base' not in args or args[args.index('--base') + 1] == layout.shared_init
        assert args[1:5] == singles and log == layout.method_dir(folder) / 'merge.out'
    assert args[-2:] == ['--zip-until', 'decode_head']  # the backbone-only zip


def _with_rebasin(base, fractions, h_shift, matched_curve):
    run_ = dict(base)
    run_['methods'] = {'rebasin': {**record(30, 30, 30, 20 + h_shift),
                                   'matching': {'fixed_fraction': fractions}}}
    run_['lmc'] = {**base['lmc'], 'different init rebasin': {
        **lmc(matched_curve), 'rebasin': {'fixed_fraction': 0.9,
                                          'fixed_fraction_by_module': {'backbone': 0.99,
                                                                       'decode_head': 0.5}}}}
    return run_


def test_c2_reads_the_identity_off_the_rebasin_merge_and_the_matched_sweep():
    from experiments.claims.summary import claim_rebasin
    runs = {0: _with_rebasin(run(), {'i.pth': 1.0, 'a.pth': 1.0, 'd.pth': 1.0}, 0, [30, 15, 31]),
            1: _with_rebasin(run(), {'i.pth': 1.0, 'a.pth': 1.0, 'd.pth': 1.0}, 0, [30, 20, 31])}
    c2 = claim_rebasin(runs)
    values = c2['values']
    assert values['shared init: units in place (%)'] == [100.0, 100.0]
    assert values['shared init: H Re-Basin - average'] == [pytest.approx(0.0)] * 2
    assert values['different init: decode_head units in place (%)'] == [50.0, 50.0]
    # before: the plain different-init sweep 30 -> 5 -> 31 (barrier 25.5); after: 15 and 20
    assert values['different init: barrier before matching'] == [pytest.approx(25.5)] * 2
    assert values['different init: barrier after matching'] == [pytest.approx(15.5),
                                                                 pytest.approx(10.5)]
    assert values['different init: H(C,I) at λ=0.5 after matching'] == [15.0, 20.0]
    assert c2['verdict'] == 'holds'
    runs[1] = _with_rebasin(run(), {'i.pth': 1.0, 'a.pth': 0.98, 'd.pth': 1.0}, 1, [30, 20, 31])
    assert claim_rebasin(runs)['verdict'] == 'does not hold'
    text = render_claims_markdown(summarize({'f': runs}, main_family='f'))
    assert '| C2 Re-Basin on shared-init models: units left in place | f | 99.7 ± 0.5 % ' in text
    assert '## C2 Git Re-Basin' in text
    # a study without the Re-Basin runs (an older one) has no C2
    assert claim_rebasin({0: run(), 1: run()}) == {}
    assert 'C2 Re-Basin' not in render_claims_markdown(summarize({'f': {0: run(), 1: run()}},
                                                                 main_family='f'))


def test_the_main_table_over_seeds_has_every_model_row_with_mean_and_std():
    from experiments.claims.summary import main_table
    runs = {0: run(0.0), 1: run(10.0)}
    for seed, c in ((0, 10), (1, 14)):
        runs[seed]['source_only'] = record(c, 5, 5, 5)
    rows = main_table(runs)
    assert [r['name'] for r in rows] == [
        'source-only (GTA)', 'single: cityscapes', 'single: idd', 'single: acdc',
        'single: dark_zurich', 'merged (pool BN)', 'merged (mean BN)', 'merged (first BN)',
        'merged encoder, own heads']
    assert rows[0]['values']['cityscapes'] == [10, 14]
    assert rows[5]['values']['cityscapes'] == [30, 40]  # the pool merge, shifted in seed 1
    assert rows[4]['values']['H'] == pytest.approx([20.0, 20.0])
    text = render_claims_markdown(summarize({'f': runs}, main_family='f'))
    assert '| source-only (GTA) | 12.0 ± 2.8 | 5.0 ± 0.0 |' in text
    # runs collected without a source-only model leave its row out
    assert main_table({0: run(), 1: run()})[0]['name'] == 'single: cityscapes'
