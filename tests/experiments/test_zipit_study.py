"""The ZipIt! study: which models each merge reads, the paired statistics (hand-computed numbers),
the table, and the cost of a backbone-only zip (FLOPs counted independently by module)."""
import pytest

from experiments.layout import TARGETS, JobLayout
from experiments.zipit_study import merge_steps, model_cost, render_markdown, summarise


def _record(name, c, i, a, d, hmean):
    return {'name': name, 'domains': {t: {'mIoU': v} for t, v in zip(TARGETS, (c, i, a, d))},
            'hmean': hmean}


def test_the_different_init_set_takes_idd_and_dark_zurich_from_the_partner_seed(tmp_path):
    layout, partner = JobLayout(tmp_path / 'seed0'), JobLayout(tmp_path / 'seed1')
    steps = merge_steps('config.py', layout, partner)
    by_out = {str(args[args.index('--out') + 1].parent.name): args for _, args, _ in steps}
    assert sorted(by_out) == ['different_average', 'different_own_heads', 'different_rebasin',
                              'different_zipit', 'different_zipit_backbone', 'shared_zipit_16',
                              'shared_zipit_256']
    weights = by_out['different_zipit'][1:5]
    assert [w.parts[-5] for w in weights] == ['seed0', 'seed1', 'seed0', 'seed1']
    assert [w.parts[-3] for w in weights] == list(TARGETS)
    assert all(w.parts[-5] == 'seed0' for w in by_out['shared_zipit_16'][1:5])
    assert '--allow-different-init' in by_out['different_average']
    assert by_out['different_zipit_backbone'][-2:] == ['--zip-until', 'decode_head']
    # a row with results is not run again
    done = tmp_path / 'seed0' / 'zipit' / 'shared_zipit_16'
    done.mkdir(parents=True)
    (done / 'results.json').write_text('{}')
    assert len(merge_steps('config.py', layout, partner)) == 6


def test_summary_pairs_each_row_with_its_settings_average_within_a_seed():
    seeds = {
        's0': {('shared', 'average'): _record('avg', 30, 20, 20, 10, 18.0),
               ('shared', 'zipit'): _record('zip', 32, 20, 20, 10, 19.0)},
        's1': {('shared', 'average'): _record('avg', 34, 20, 20, 10, 20.0),
               ('shared', 'zipit'): _record('zip', 30, 20, 20, 10, 23.0)},
    }
    summary = summarise(seeds)
    row = summary['shared']['zipit']
    assert row['hmean']['mean'] == 21.0 and row['hmean']['std'] == pytest.approx(2 ** 0.5 * 2)
    assert row['hmean_minus_average']['values'] == [1.0, 3.0]
    assert row['domains']['cityscapes']['mean'] == 31.0
    table = render_markdown(summary)
    assert '| shared | zip | 31.0 ± 1.4 |' in table and '| +2.0 ± 1.4 | 2 |' in table


def test_the_backbone_only_zip_costs_n_heads_and_an_image_one_model():
    from mtda.config import load_config
    from support import CONFIGS
    cfg = load_config(str(CONFIGS / 'daformer' / 'gta2cityscapes_daformer_r18_tiny.py'))
    cost = model_cost(cfg, num_models=4, image_size=(32, 32))
    assert 0 < cost['tail_params'] < cost['params']
    assert cost['zipped_trunk_params'] == cost['params'] + 3 * cost['tail_params']
    assert cost['zipped_trunk_flops_all_tails'] == cost['flops'] + 3 * cost['tail_flops']
    assert 0 < cost['tail_flops'] < cost['flops']
