"""tools/compare_stage_one.py: paired differences of two stage-one methods, checked against numbers
computed by hand from results files laid out as the main job writes them."""
import json

import pytest

from experiments.layout import MERGE_ROWS, TARGETS, JobLayout
from experiments.stage_one_comparison import compare, read_run, render_markdown
from mtda.errors import MtdaError
from support import run_tool_in_process

POOL, OWN_HEADS = MERGE_ROWS[0], MERGE_ROWS[3]


def _write(folder, miou, hmean=None):
    folder.mkdir(parents=True, exist_ok=True)
    record = {'name': folder.name, 'domains': {t: {'mIoU': v} for t, v in zip(TARGETS, miou)}}
    if hmean is not None:
        record['hmean'] = hmean
    (folder / 'results.json').write_text(json.dumps(record))


def _job(root, own, pool=None, own_heads=None, source_only=None, elsewhere=(10.0,) * 4):
    """Singles scoring ``own[i]`` on their own target and ``elsewhere[i]`` on the others; the
    source-only model and the merges as given."""
    layout = JobLayout(root)
    for i, t in enumerate(TARGETS):
        _write(layout.single_eval_dir(t), [own[i] if j == i else elsewhere[i] for j in range(4)])
    for folder, miou in ((layout.source_only_eval_dir, source_only),
                         (layout.merge_dir(POOL), pool), (layout.merge_dir(OWN_HEADS), own_heads)):
        if miou is not None:
            _write(folder, miou, hmean=len(miou) / sum(1 / v for v in miou))
    return layout


def test_paired_differences_by_hand(tmp_path):
    base = [_job(tmp_path / 'b0', [30, 25, 20, 10], pool=[28, 22, 18, 8], own_heads=[1, 1, 1, 1]),
            _job(tmp_path / 'b1', [34, 27, 22, 12], pool=[30, 24, 20, 10])]
    cand = [_job(tmp_path / 'c0', [32, 24, 23, 9], pool=[29, 22, 18, 8]),
            _job(tmp_path / 'c1', [35, 26, 24, 10], pool=[31, 25, 19, 10], own_heads=[2, 2, 2, 2])]
    report = compare([read_run(j) for j in base], [read_run(j) for j in cand])
    cs, idd = report['singles']['cityscapes'], report['singles']['idd']
    assert cs['difference'] == [2, 1] and cs['reading'] == 'better'  # mean 1.5 > std 0.71
    assert idd['difference'] == [-1, -1] and idd['reading'] == 'worse'  # std 0
    acdc = report['singles']['acdc']
    assert acdc['difference'] == [3, 2]
    dz = report['singles']['dark_zurich']
    assert dz['difference'] == [-1, -2] and dz['reading'] == 'worse'
    # only the pool merge is in all four work dirs
    assert list(report['models']) == [POOL.label]
    h = report['models'][POOL.label]['H']
    h_of = [4 / sum(1 / v for v in m) for m in ([28, 22, 18, 8], [30, 24, 20, 10],
                                                [29, 22, 18, 8], [31, 25, 19, 10])]
    assert h['difference'] == pytest.approx([h_of[2] - h_of[0], h_of[3] - h_of[1]])
    assert report['models'][POOL.label]['idd']['difference'] == [0, 1]
    text = render_markdown(report, labels=('DAFormer', 'MIC'))
    # cityscapes: 32 ± 2.83 and 33.5 ± 2.12 over the seeds, difference 1.5 ± 0.71
    assert '| cityscapes | 32.0 ± 2.8 | 33.5 ± 2.1 | +1.5 ± 0.7 (better) | +2.0, +1.0 |' in text
    assert '| MIC − DAFormer | +1.0 ± 0.0 | +0.5 ± 0.7 |' in text


def test_one_seed_has_no_spread(tmp_path):
    report = compare([read_run(_job(tmp_path / 'b', [30, 25, 20, 10]))],
                     [read_run(_job(tmp_path / 'c', [31, 25, 20, 10]))])
    assert report['singles']['cityscapes']['reading'] == 'one seed'
    assert report['models'] == {}  # neither has a merge or a source-only model
    assert '| cityscapes | 30.0 | 31.0 | +1.0 (one seed) | +1.0 |' in \
        render_markdown(report)


def test_own_target_advantage_and_source_only_by_hand(tmp_path):
    # baseline seed 0: singles 10 elsewhere, so advantages own - 10; seed 1: the best other single
    # on a target is the highest of the three others' constant scores
    base = [_job(tmp_path / 'b0', [30, 25, 20, 12], source_only=[20, 15, 10, 5]),
            _job(tmp_path / 'b1', [34, 27, 22, 12], source_only=[22, 15, 12, 5],
                 elsewhere=(11.0, 14.0, 9.0, 13.0))]
    cand = [_job(tmp_path / 'c0', [32, 24, 23, 9], source_only=[21, 16, 10, 6]),
            _job(tmp_path / 'c1', [35, 26, 24, 10], elsewhere=(11.0, 14.0, 9.0, 13.0))]
    report = compare([read_run(j) for j in base], [read_run(j) for j in cand])
    adv = report['advantage']
    # seed 1, cityscapes: 34 - max(14, 9, 13) = 20; idd: 27 - max(11, 9, 13) = 14;
    # acdc: 22 - 14 = 8; dark_zurich: 12 - 14 = -2 (candidate 10 - 14 = -4)
    assert adv['cityscapes']['baseline'] == [20, 20] and adv['cityscapes']['candidate'] == [22, 21]
    assert adv['idd']['baseline'] == [15, 14] and adv['acdc']['candidate'] == [13, 10]
    assert adv['dark_zurich']['difference'] == [-3, -2]
    # the candidate's seed 1 has no source-only model, so no pair of them is complete
    assert report['models'] == {}
    cand[1] = _job(tmp_path / 'c1s', [35, 26, 24, 10], source_only=[24, 17, 12, 6],
                   elsewhere=(11.0, 14.0, 9.0, 13.0))
    report = compare([read_run(j) for j in base], [read_run(j) for j in cand])
    source = report['models']['source-only (GTA)']
    assert source['cityscapes']['difference'] == [1, 2] and source['acdc']['difference'] == [0, 0]
    h = [4 / sum(1 / v for v in m) for m in ([20, 15, 10, 5], [21, 16, 10, 6])]
    assert source['H']['difference'][0] == pytest.approx(h[1] - h[0])
    assert report['advantage']['dark_zurich']['difference'] == [-3, -2]
    text = render_markdown(report, labels=('DAFormer', 'HRDA'))
    # baseline advantages 2, -2; candidate -1, -4
    assert '| dark_zurich | +0.0 ± 2.8 | -2.5 ± 2.1 | -2.5 ± 0.7 (worse) | -3.0, -2.0 |' in text
    assert '**source-only (GTA)**' in text


def test_no_advantage_without_the_full_matrix(tmp_path):
    layout = _job(tmp_path / 'b', [30, 25, 20, 10])
    record = json.loads((layout.single_eval_dir('idd') / 'results.json').read_text())
    del record['domains']['acdc']  # the IDD single evaluated on three targets only
    (layout.single_eval_dir('idd') / 'results.json').write_text(json.dumps(record))
    run = read_run(layout)
    assert run['advantage'] == {} and run['singles']['idd'] == 25
    report = compare([run], [read_run(_job(tmp_path / 'c', [31, 25, 20, 10]))])
    assert report['advantage'] == {} and 'advantage' not in render_markdown(report)


def test_tool_writes_both_files(tmp_path):
    _job(tmp_path / 'b0', [30, 25, 20, 10], pool=[28, 22, 18, 8])
    _job(tmp_path / 'c0', [32, 24, 23, 9], pool=[29, 22, 18, 8])
    proc = run_tool_in_process('compare_stage_one.py', '--baseline', 'b0', '--candidate', 'c0',
                               '--labels', 'DAFormer', 'MIC', '--out', 'cmp', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / 'cmp' / 'stage_one_comparison.json').read_text())
    assert report['singles']['acdc']['difference'] == [3]
    assert report['labels'] == ['DAFormer', 'MIC'] and report['baseline_dirs'] == ['b0']
    assert (tmp_path / 'cmp' / 'stage_one_comparison.md').read_text() in proc.stdout


def test_bad_inputs_end_in_one_line(tmp_path):
    _job(tmp_path / 'b0', [30, 25, 20, 10])
    _job(tmp_path / 'c0', [30, 25, 20, 10])
    (JobLayout(tmp_path / 'c0').single_eval_dir('idd') / 'results.json').unlink()
    proc = run_tool_in_process('compare_stage_one.py', '--baseline', 'b0', '--candidate', 'c0',
                               '--out', 'cmp', cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'error: c0/eval/idd/results.json: missing; run the main job into c0 first')
    assert not (tmp_path / 'cmp').exists()  # nothing written on bad input
    with pytest.raises(MtdaError, match='1 baseline and 2 candidate work dirs'):
        compare([read_run(JobLayout(tmp_path / 'b0'))], [read_run(JobLayout(tmp_path / 'b0'))] * 2)
