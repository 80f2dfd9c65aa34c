"""The SlimDA width study: the paired summary (hand-computed), and one tiny run whose measures
agree with mmseg's own evaluation of the same weights, written and read back."""
import json
import re
import shutil
from pathlib import Path

import pytest

from experiments.layout import JobLayout
from experiments.slimda_width_study import (alone_weights, bank_weights, merge_step,
                                            merged_weights, render_markdown, summarise,
                                            training_steps)
from support import CONFIGS, run_tool, run_tool_in_process

DAFORMER = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_efficientnet-lite0_tiny.py'


def _record(seed, bank, alone, merged):
    targets = ('cityscapes', 'idd')
    return dict(seed=seed, gflops={'0.5': 0.02, '1': 0.08},
                bank={t: dict(zip(('0.5', '1'), bank[i])) for i, t in enumerate(targets)},
                alone={t: dict(zip(('0.5', '1'), alone[i])) for i, t in enumerate(targets)},
                merged={w: dict(zip(targets, merged[j])) for j, w in enumerate(('0.5', '1'))})


def test_the_summary_pairs_bank_and_alone_and_compares_the_merged_bank_with_the_banks():
    records = [_record(0, [(20, 30), (10, 15)], [(18, 30), (12, 15)], [(16, 8), (24, 12)]),
               _record(1, [(22, 32), (12, 16)], [(18, 31), (11, 15)], [(18, 9), (25, 12)])]
    summary = summarise(records)
    city = summary['targets']['cityscapes']['0.5']
    assert city['bank']['mean'] == 21 and city['bank_minus_alone']['mean'] == 3
    assert city['bank_minus_alone']['std'] == pytest.approx(2 ** 0.5)  # differences 2 and 4
    h = summary['hmean']['0.5']  # harmonic means: banks 2*20*10/30, 2*22*12/34; merged 2*16*8/24...
    assert h['banks']['mean'] == pytest.approx((400 / 30 + 528 / 34) / 2)
    assert h['merged']['mean'] == pytest.approx((256 / 24 + 324 / 27) / 2)
    assert h['merged_minus_banks']['mean'] == pytest.approx(
        (256 / 24 - 400 / 30 + 324 / 27 - 528 / 34) / 2)
    table = render_markdown(summary)
    assert '| cityscapes | 0.5 | 0.0200 | 21.0 ± 1.4 | 18.0 ± 0.0 | +3.0 ± 1.4 |' in table


def test_merge_targets_get_banks_but_no_alone_runs(tmp_path):
    layout = JobLayout(tmp_path)
    run_tool('make_shared_init.py', DAFORMER, '--out', layout.shared_init, '--seed', '5',
             cwd=tmp_path)
    bank_weights(layout, 'idd').parent.mkdir(parents=True)
    bank_weights(layout, 'idd').write_bytes(b'')  # an existing export is not trained again
    steps = training_steps(layout, [0.5, 1.0], ['cityscapes'],
                           bank_targets=['cityscapes', 'idd', 'acdc'])
    work_dirs = [Path(args[args.index('--work-dir') + 1]) for _, args, _ in steps]
    assert work_dirs == [bank_weights(layout, 'cityscapes').parents[1],
                         alone_weights(layout, 'cityscapes', 0.5).parents[1],
                         bank_weights(layout, 'acdc').parents[1]]
    assert all('randomness.seed=5' in args for _, args, _ in steps)
    (merge,) = merge_step(layout, ['cityscapes', 'idd'])
    assert merged_weights(layout, ['cityscapes', 'idd']) in merge[1]
    assert merge[1][1:3] == [bank_weights(layout, 'cityscapes'), bank_weights(layout, 'idd')]


def test_a_merge_of_one_bank_is_refused(tmp_path):
    proc = run_tool_in_process('slimda_width_study.py', '--work-dirs', tmp_path,
                               '--merge-targets', 'idd', cwd=tmp_path)
    assert proc.returncode == 2
    assert 'error: --merge-targets idd: a merge needs two banks or more' in proc.stderr


def test_a_calibrated_study_with_a_merge_is_refused(tmp_path):
    proc = run_tool_in_process('slimda_width_study.py', '--work-dirs', tmp_path,
                               '--merge-targets', 'cityscapes', 'idd', '--calibrate-frames', '8',
                               cwd=tmp_path)
    assert proc.returncode == 2
    assert 'error: --calibrate-frames evaluates no merged bank' in proc.stderr


def test_a_width_outside_the_bank_is_refused_in_one_line(tmp_path):
    proc = run_tool_in_process('slimda_width_study.py', '--work-dirs', tmp_path,
                               '--widths', '0.3', cwd=tmp_path)
    assert proc.returncode == 2
    assert 'error: --widths 0.3: the bank has the widths 0.25 0.5 0.75 1' in proc.stderr


def test_a_tiny_study_measures_what_mmseg_measures(tiny_data_root, tmp_path, monkeypatch):
    layout = JobLayout(tmp_path / 'job')
    run_tool('make_shared_init.py', DAFORMER, '--out', layout.shared_init, '--seed', '3',
             cwd=tiny_data_root)
    single = layout.stage_one_weights('cityscapes')  # the untrained init stands for the single
    single.parent.mkdir(parents=True)
    shutil.copy(layout.shared_init, single)
    run_tool('slimda_width_study.py', '--work-dirs', layout.root, '--targets', 'cityscapes',
             '--widths', '0.25', '1', '--iters', '2', '--jobs', '1', cwd=tiny_data_root)
    record = json.loads((layout.root / 'slimda' / 'widths.json').read_text())
    assert record['seed'] == 3 and record['merged'] == {}
    assert record['gflops']['0.25'] < record['gflops']['1'] / 4
    # the alone run's own validation at the end of training (mmseg's IoUMetric, at its width)
    run_dir = layout.root / 'slimda' / 'alone' / 'cityscapes_w0.25'
    (log_file,) = run_dir.glob('*/*.log')  # mmengine's log: <work_dir>/<timestamp>/<timestamp>.log
    log = log_file.read_text()
    final = float(re.findall(r'cityscapes/mIoU: ([0-9.]+)', log)[-1])
    assert record['alone']['cityscapes']['0.25'] == pytest.approx(final, abs=0.01)
    # width 1 alone is the single, evaluated by tools/test.py
    run_tool('test.py', DAFORMER, single, '--work-dir', tmp_path / 'eval', cwd=tiny_data_root)
    tested = json.loads((tmp_path / 'eval' / 'results.json').read_text())
    assert record['alone']['cityscapes']['1'] == pytest.approx(
        tested['domains']['cityscapes']['mIoU'], abs=0.01)
    assert 0 <= record['bank']['cityscapes']['0.25'] <= 100
    table = (layout.root / 'slimda_widths.md').read_text()
    assert '| cityscapes | 0.25 |' in table and (layout.root / 'slimda_widths.png').stat().st_size

    # BN-calibrated: the same models, each width's statistics re-estimated on 4 target frames
    before = (layout.root / 'slimda' / 'widths.json').read_text()
    run_tool('slimda_width_study.py', '--work-dirs', layout.root, '--targets', 'cityscapes',
             '--widths', '0.25', '1', '--iters', '2', '--jobs', '1', '--calibrate-frames', '4',
             cwd=tiny_data_root)
    assert (layout.root / 'slimda' / 'widths.json').read_text() == before
    calibrated = json.loads((layout.root / 'slimda' / 'widths_calibrated.json').read_text())
    assert calibrated['calibration_frames'] == 4
    assert 'BN calibrated on 4 unlabelled target frames' in (
        layout.root / 'slimda_widths_calibrated.md').read_text()
    # the single, calibrated here with torch's own cumulative average over the same frames
    import torch
    from mmengine.registry import init_default_scope

    from experiments.slimda_selection_study import labelled_items, labelled_miou, target_frames
    from mtda.apis.infer import load_segmentor
    from mtda.apis.select_subnet import file_batches
    from mtda.config import load_config
    monkeypatch.chdir(tiny_data_root)
    init_default_scope('mmseg')
    cfg = load_config(str(DAFORMER))
    model = load_segmentor(cfg, single)
    frames = target_frames(load_config(str(CONFIGS / 'slimda' /
                                           'gta2cityscapes_slimda_efficientnet-lite0_tiny.py')),
                           count=4, seed=3)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
        norm.train()
    with torch.no_grad():
        for batch in file_batches(model, frames):
            model._forward(batch)
    model.eval()
    expected = labelled_miou(model, *labelled_items(cfg, 'cityscapes'))
    assert calibrated['alone']['cityscapes']['1'] == pytest.approx(expected, abs=1e-6)
