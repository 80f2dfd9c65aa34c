"""The stage-one report: gap closed and own-target advantage by hand-computed numbers, read from a
work dir laid out as the main job writes it, summarised over seeds and rendered; the report with
target BatchNorm statistics on tiny weights."""
import json
import math
import shutil

import pytest

from experiments.layout import TARGETS, JobLayout
from experiments.stage_one_report import (bn_recalibrated_numbers, gap_closed,
                                          own_target_advantage, render_markdown,
                                          stage_one_numbers, summarise)
from mtda.errors import MtdaError
from support import CONFIGS, run_tool, run_tool_in_process


def test_gap_closed_and_advantage_by_hand():
    assert gap_closed(10.0, 24.0, 30.0) == pytest.approx(0.7)
    assert gap_closed(10.0, 5.0, 30.0) == pytest.approx(-0.25)  # UDA below source-only
    assert gap_closed(30.0, 35.0, 30.0) is None  # no gap to close
    matrix = {'cityscapes': {'cityscapes': 40, 'idd': 20}, 'idd': {'cityscapes': 33, 'idd': 30},
              'acdc': {'cityscapes': 36, 'idd': 25}}
    assert own_target_advantage(matrix, 'cityscapes') == 4  # 40 - max(33, 36)
    assert own_target_advantage(matrix, 'idd') == 5  # 30 - max(20, 25)


def _write(folder, miou):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'results.json').write_text(json.dumps(
        {'name': folder.name, 'domains': {t: {'mIoU': v} for t, v in zip(TARGETS, miou)}}))


def _job(root, shift=0.0):
    layout = JobLayout(root)
    _write(layout.source_only_eval_dir, [20, 10, 10, 2])
    for i, t in enumerate(TARGETS):
        _write(layout.single_eval_dir(t), [25 + shift + (5 if j == i else 0) for j in range(4)])
    for t, v in (('cityscapes', 45), ('idd', 40), ('acdc', 40)):
        _write(layout.oracle_dir(t), [v] * 4)
    return layout


def test_report_from_work_dirs_over_two_seeds(tmp_path):
    runs = [stage_one_numbers(_job(tmp_path / 's0')), stage_one_numbers(_job(tmp_path / 's1', 2.0))]
    cs = runs[0]['per_target']['cityscapes']
    assert (cs['source_only'], cs['uda'], cs['oracle']) == (20, 30, 45)
    assert cs['gap_closed'] == pytest.approx(10 / 25) and cs['advantage'] == 5
    assert runs[0]['per_target']['dark_zurich']['oracle'] is None  # no train labels
    report = summarise(runs)
    idd = report['per_target']['idd']
    assert idd['uda']['mean'] == 31 and idd['uda']['std'] == pytest.approx(math.sqrt(2))
    # seed 0: (30 - 10) / 30; seed 1: (32 - 10) / 30
    assert idd['gap_closed']['mean'] == pytest.approx(21 / 30)
    assert report['checks']['gap_closed'] == {'cityscapes': True, 'idd': True, 'acdc': True}
    assert report['checks']['advantage'] == {'cityscapes': True, 'idd': True}
    assert report['checks']['uda'] == {t: True for t in TARGETS}
    text = render_markdown(report)
    assert '| cityscapes | 20.0 ± 0.0 | 31.0 ± 1.4 | 45.0 ± 0.0 | 44.0 ± 5.7 | 5.0 ± 0.0 |' in text
    assert '| dark_zurich | 2.0 ± 0.0 | 31.0 ± 1.4 | – | – | 5.0 ± 0.0 |' in text
    assert 'own-target advantage >= +3: cityscapes met, idd met' in text


def test_a_missing_single_names_the_main_job(tmp_path):
    layout = _job(tmp_path / 's0')
    (layout.single_eval_dir('acdc') / 'results.json').unlink()
    with pytest.raises(MtdaError, match=r'acdc/results\.json: missing; run the main job first'):
        stage_one_numbers(layout)


def test_target_statistics_replace_those_of_training(tiny_data_root, tmp_path, monkeypatch):
    """One set of weights as source-only and all four singles: calibrated on the same frames of a
    target, the source-only model scores what the single of that target scores there; a single
    whose stored BatchNorm statistics are wrecked scores as if they were intact."""
    import torch

    from experiments.main_job import load_experiment
    layout = JobLayout(tmp_path / 'job')
    run_tool('make_shared_init.py', CONFIGS / 'daformer' /
             'gta2cityscapes_daformer_efficientnet-lite0_tiny.py', '--out', layout.shared_init,
             '--seed', '3', cwd=tiny_data_root)
    for weights in (layout.source_only_weights, *(layout.stage_one_weights(t) for t in TARGETS)):
        weights.parent.mkdir(parents=True)
        shutil.copy(layout.shared_init, weights)
    wrecked = torch.load(layout.stage_one_weights('idd'), weights_only=True)
    for key, value in wrecked['state_dict'].items():
        if key.endswith(('running_mean', 'running_var')):
            value.mul_(40.0).add_(3.0)
    torch.save(wrecked, layout.stage_one_weights('idd'))
    _write(layout.oracle_dir('cityscapes'), [60.0] * 4)
    experiment = load_experiment(CONFIGS / 'mtda' / 'gta2all_daformer_efficientnet-lite0_tiny.py')
    monkeypatch.chdir(tiny_data_root)
    run = bn_recalibrated_numbers(experiment, layout, frames=4, seed=3)
    matrix, per_target = run['matrix'], run['per_target']
    for t in TARGETS:  # the IDD single too, whose stored statistics were wrecked
        assert per_target[t]['source_only'] == pytest.approx(matrix[t][t], abs=1e-9)
        assert 0 <= matrix[t][t] <= 100
    cs = per_target['cityscapes']
    assert cs['oracle'] == 60.0 and cs['gap_closed'] == pytest.approx(0.0, abs=1e-9)
    assert per_target['idd']['oracle'] is None


def test_a_negative_frame_count_is_refused_in_one_line(tmp_path):
    result = run_tool_in_process('stage_one_report.py', '--work-dirs', tmp_path, '--bn-frames',
                                 '-2', cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        'error: --bn-frames -2: give a number of frames >= 1, or 0 for the statistics of training')
