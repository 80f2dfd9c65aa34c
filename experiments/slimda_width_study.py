"""SlimDA's banks against the same widths trained alone, and the merged bank, on the miniature.

For main-job work dirs of the DAFormer EfficientNet-Lite0 miniature (:class:`JobLayout`, one per
seed), everything from the job's shared init with the job's seed (the shared init's meta), under
``<work dir>/slimda/``:

* ``bank/<target>/``: one bank per target (``configs/slimda/gta2<target>_slimda_*``: sandwich
  rule and SEED);
* ``alone/<target>_w<width>/``: each narrower width of the bank trained alone
  (``configs/slimda/gta2<target>_slimda-width-alone_*``). Width 1 alone is the job's DAFormer
  single of that target: the same network, init, data and schedule (a plain init fills the bank's
  widest width exactly, ``tests/models/test_slimda_uda.py``);
* ``merged/<target>+<target>.../``: the banks of the merge targets (all four, or a subset such as
  Cityscapes + IDD) merged by ``tools/merge.py --buffers pool`` (each width's BatchNorm statistics
  pooled with the other banks' same width);
* ``widths.json``: every bank width and alone width evaluated on its own target, and the merged
  bank at every width on each merged target (:func:`evaluate_record`).

By default no width is BN-calibrated after training: a bank's widths, the alone widths and the
merged bank keep the statistics their training tracked, so all are compared alike. With
``calibrate_frames`` every bank width, every alone width and the single have their BatchNorm
statistics re-estimated on the same seeded sample of the target's unlabelled training frames
(SlimDA's BN calibration, :func:`mtda.apis.select_subnet.calibrate_batchnorm_`), again alike; the
merged bank is then not evaluated (one set of statistics serving every target is its point).
:func:`summarise` pairs the seeds: per width and target the bank's and the alone model's mIoU
and their difference, and the merged bank's H-mean beside the H-mean of the per-target banks
(each on its own target), as mean ± sample std over seeds.
"""
import json
from pathlib import Path
from statistics import mean, stdev
from typing import Dict, List, Mapping, Optional, Sequence

from .layout import TARGETS, JobLayout

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
FAMILY = 'efficientnet-lite0_tiny'


def bank_config(target: str) -> Path:
    return CONFIGS / 'slimda' / f'gta2{target}_slimda_{FAMILY}.py'


def alone_config(target: str) -> Path:
    return CONFIGS / 'slimda' / f'gta2{target}_slimda-width-alone_{FAMILY}.py'


def single_config(target: str) -> Path:
    return CONFIGS / 'daformer' / f'gta2{target}_daformer_{FAMILY}.py'


def study_dir(layout: JobLayout) -> Path:
    return layout.root / 'slimda'


def bank_weights(layout: JobLayout, target: str) -> Path:
    return study_dir(layout) / 'bank' / target / 'weights' / 'final.pth'


def alone_weights(layout: JobLayout, target: str, width: float) -> Path:
    return study_dir(layout) / 'alone' / f'{target}_w{width:g}' / 'weights' / 'final.pth'


def merged_weights(layout: JobLayout, targets: Sequence[str]) -> Path:
    return study_dir(layout) / 'merged' / '+'.join(targets) / 'merged.pth'


def shared_init_seed(layout: JobLayout) -> int:
    """The seed the main job made its shared init (and trained its singles) with."""
    from mtda.errors import CheckpointError
    from mtda.io.checkpoint import load_checkpoint_file
    meta = load_checkpoint_file(layout.shared_init).get('meta') or {}
    if 'seed' not in meta:
        raise CheckpointError(f'{layout.shared_init}: no seed in its meta; make it with '
                              'tools/make_shared_init.py --seed N')
    return int(meta['seed'])


def training_steps(layout: JobLayout, widths: Sequence[float],
                   targets: Sequence[str] = TARGETS, *, bank_targets: Sequence[str] = (),
                   iters: Optional[int] = None) -> list:
    """``(tool, args, log)`` of the banks and alone widths of ``targets``, and the banks of
    ``bank_targets`` (the merge's), whose exports are missing (``iters``: another training length
    than the configs', as the main job's ``uda_iters``)."""
    options = [f'model.init_checkpoint={layout.shared_init}',
               f'randomness.seed={shared_init_seed(layout)}']
    if iters:
        options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}']
    steps = []
    for target in dict.fromkeys([*targets, *bank_targets]):
        out = bank_weights(layout, target)
        if not out.exists():
            run_dir = out.parents[1]
            steps.append(('train.py', [bank_config(target), '--work-dir', run_dir,
                                       '--cfg-options', *options], run_dir / 'train.out'))
        for width in widths if target in targets else ():
            out = alone_weights(layout, target, width)
            if width != 1.0 and not out.exists():
                run_dir = out.parents[1]
                steps.append(('train.py', [alone_config(target), '--work-dir', run_dir,
                                           '--cfg-options', *options,
                                           f'model.segmentor.inference_width={width:g}'],
                              run_dir / 'train.out'))
    return steps


def merge_step(layout: JobLayout, targets: Sequence[str] = TARGETS) -> list:
    """The ``tools/merge.py`` step of the banks of ``targets``, unless its output exists."""
    out = merged_weights(layout, targets)
    if out.exists():
        return []
    return [('merge.py', [bank_config(targets[0]), *(bank_weights(layout, t) for t in targets),
                          '--out', out, '--work-dir', out.parent, '--buffers', 'pool',
                          '--name', 'merged banks (pool BN)'], out.parent / 'merge.out')]


def _miou_at_widths(cfg, model, widths: Sequence[float], domains: Sequence[str],
                    calibration: Optional[list] = None) -> Dict[str, Dict[str, float]]:
    """``{width: {domain: mIoU}}`` of one loaded slimmable segmentor, each width's BatchNorm
    statistics first re-estimated on the ``calibration`` batches if given."""
    from mtda.apis.select_subnet import calibrate_batchnorm_

    from .slimda_selection_study import labelled_items, labelled_miou
    items = {d: labelled_items(cfg, d) for d in domains}
    out = {}
    for width in widths:
        model.set_width(model.width_index_of(width))
        if calibration is not None:
            calibrate_batchnorm_(model, calibration)
        out[f'{width:g}'] = {d: labelled_miou(model, *items[d]) for d in domains}
    return out


def evaluate_record(layout: JobLayout, widths: Sequence[float],
                    targets: Sequence[str] = TARGETS, *, merge_targets: Sequence[str] = (),
                    calibrate_frames: int = 0, progress=print) -> dict:
    """One seed's measures (``widths.json``): the widths' GFLOPs at the training crop, each
    bank's own-target mIoU (``targets`` and ``merge_targets``), each alone width's (``targets``),
    and the merged bank's of ``merge_targets`` on each of them. ``calibrate_frames`` > 0:
    every model BN-calibrated on that many of its target's unlabelled training frames (seeded
    with the job's seed) before it is evaluated; no merged bank then."""
    from mmengine.registry import init_default_scope

    from mtda.apis.infer import load_segmentor
    from mtda.apis.select_subnet import calibrate_segmentor_batchnorm_, file_batches, width_flops
    from mtda.config import load_config

    from .slimda_selection_study import labelled_items, labelled_miou, target_frames
    if calibrate_frames and merge_targets:
        raise ValueError('a BN-calibrated study evaluates no merged bank (it would be '
                         'calibrated per target); leave merge_targets empty')
    init_default_scope('mmseg')
    key = [f'{w:g}' for w in widths]
    seed = shared_init_seed(layout)
    record = dict(seed=seed, root=str(layout.root), calibration_frames=calibrate_frames,
                  gflops={}, bank={}, alone={}, merged={})
    for target in dict.fromkeys([*targets, *merge_targets]):
        cfg = load_config(str(bank_config(target)))
        bank = load_segmentor(cfg, bank_weights(layout, target))
        if not record['gflops']:  # every bank has the same widths and crop
            every = dict(zip((f'{w:g}' for w in bank.width_mult_list),
                             width_flops(bank, tuple(bank.data_preprocessor.size))))
            record['gflops'] = {k: every[k] / 1e9 for k in key}
        calibration = (file_batches(bank, target_frames(cfg, count=calibrate_frames, seed=seed))
                       if calibrate_frames else None)
        record['bank'][target] = {w: m[target] for w, m in _miou_at_widths(
            cfg, bank, widths, [target], calibration).items()}
        if target not in targets:
            continue
        record['alone'][target] = {}
        for width in widths:
            if width == 1.0:  # the job's DAFormer single
                single_cfg = load_config(str(single_config(target)))
                model = load_segmentor(single_cfg, layout.stage_one_weights(target))
                if calibration is not None:
                    calibrate_segmentor_batchnorm_(model, calibration)
                miou = labelled_miou(model, *labelled_items(single_cfg, target))
            else:
                alone = load_segmentor(cfg, alone_weights(layout, target, width))
                miou = _miou_at_widths(cfg, alone, [width], [target],
                                       calibration)[f'{width:g}'][target]
            record['alone'][target][f'{width:g}'] = miou
        progress(f'seed {record["seed"]} {target}: bank '
                 + ', '.join(f'{w} {record["bank"][target][w]:.1f}' for w in key) + '; alone '
                 + ', '.join(f'{w} {record["alone"][target][w]:.1f}' for w in key))
    if merge_targets:
        cfg = load_config(str(bank_config(merge_targets[0])))
        merged = load_segmentor(cfg, merged_weights(layout, merge_targets))
        record['merged'] = _miou_at_widths(cfg, merged, widths, merge_targets)
    return record


def _spread(values: Sequence[float]) -> dict:
    values = list(values)
    return dict(mean=mean(values), std=stdev(values) if len(values) > 1 else None,
                n=len(values))


def summarise(records: Sequence[Mapping]) -> dict:
    """Mean ± sample std over seeds of every measure, and the paired differences: bank − alone
    per width and target, merged bank − per-target banks (H-mean) per width."""
    from mtda.evaluation.scores import harmonic_mean
    first = records[0]
    widths, targets = list(first['gflops']), list(first['alone'])
    out = dict(seeds=[r['seed'] for r in records], gflops=first['gflops'], targets={}, hmean={},
               calibration_frames=first.get('calibration_frames', 0))
    for target in targets:
        out['targets'][target] = {w: dict(
            bank=_spread(r['bank'][target][w] for r in records),
            alone=_spread(r['alone'][target][w] for r in records),
            bank_minus_alone=_spread(r['bank'][target][w] - r['alone'][target][w]
                                     for r in records)) for w in widths}
    if all(r['merged'] for r in records):
        merged_targets = list(first['merged'][widths[0]])
        out['merged_targets'] = merged_targets
        for w in widths:
            banks = [harmonic_mean(r['bank'][t][w] for t in merged_targets) for r in records]
            merged = [harmonic_mean(r['merged'][w][t] for t in merged_targets) for r in records]
            out['hmean'][w] = dict(
                banks=_spread(banks), merged=_spread(merged),
                merged_minus_banks=_spread(m - b for m, b in zip(merged, banks)),
                merged_domains={t: _spread(r['merged'][w][t] for r in records)
                                for t in merged_targets})
    return out


def _cell(spread: Mapping, sign: bool = False) -> str:
    value = f'{spread["mean"]:+.1f}' if sign else f'{spread["mean"]:.1f}'
    return value + (f' ± {spread["std"]:.1f}' if spread['std'] is not None else '')


def render_markdown(summary: Mapping) -> str:
    seeds = ', '.join(map(str, summary['seeds']))
    frames = summary.get('calibration_frames', 0)
    statistics = (f'BN calibrated on {frames} unlabelled target frames' if frames
                  else 'BN statistics of training')
    lines = [f'# SlimDA banks vs widths trained alone (seeds {seeds}; mean ± sample std; '
             f'{statistics})', '',
             '| target | width | GFLOPs | bank | alone | bank − alone |', '|---|---|---|---|---|---|']
    for target, rows in summary['targets'].items():
        for width, row in rows.items():
            lines.append(f'| {target} | {width} | {summary["gflops"][width]:.4f} | '
                         f'{_cell(row["bank"])} | {_cell(row["alone"])} | '
                         f'{_cell(row["bank_minus_alone"], True)} |')
    if summary['hmean']:
        targets = summary['merged_targets']
        lines += ['', f'## The banks of {" + ".join(targets)} merged (pool BN), at every width', '',
                  '| width | ' + ' | '.join(targets) + ' | H-mean, merged | H-mean, per-target '
                  'banks | merged − banks |', '|---' * (len(targets) + 4) + '|']
        for width, row in summary['hmean'].items():
            lines.append(f'| {width} | ' + ' | '.join(_cell(row['merged_domains'][t])
                                                      for t in targets)
                         + f' | {_cell(row["merged"])} | {_cell(row["banks"])} | '
                         f'{_cell(row["merged_minus_banks"], True)} |')
    return '\n'.join(lines) + '\n'


def plot_curves(summary: Mapping, out) -> Path:
    """mIoU against GFLOPs per target, the bank's widths beside the widths alone."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    targets = list(summary['targets'])
    widths = list(summary['gflops'])
    gflops = [summary['gflops'][w] for w in widths]
    figure, axes = plt.subplots(1, len(targets), figsize=(3.2 * len(targets), 3), squeeze=False)
    for axis, target in zip(axes[0], targets):
        for kind, style in (('bank', 'o-'), ('alone', 's--')):
            rows = [summary['targets'][target][w][kind] for w in widths]
            axis.errorbar(gflops, [r['mean'] for r in rows], yerr=[r['std'] or 0 for r in rows],
                          fmt=style, capsize=3, label='bank' if kind == 'bank' else 'width alone')
        axis.set_title(target)
        axis.set_xlabel('GFLOPs per image')
    axes[0][0].set_ylabel('mIoU (%)')
    axes[0][0].legend()
    figure.tight_layout()
    out = Path(out)
    tmp = out.with_name(out.stem + '.tmp' + out.suffix)
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    tmp.replace(out)
    return out


def study_name(calibrate_frames: int = 0) -> str:
    """The stem of a study's files: ``widths``, or ``widths_calibrated`` with BN calibration."""
    return 'widths_calibrated' if calibrate_frames else 'widths'


def write_study(records: List[dict], out_dir) -> Dict[str, Path]:
    """``slimda_widths[_calibrated].{json,md,png}`` of the seeds' records into ``out_dir``."""
    from mtda.io.atomic import atomic_write_bytes
    summary = summarise(records)
    out_dir = Path(out_dir)
    stem = 'slimda_' + study_name(summary['calibration_frames'])
    paths = {ext: out_dir / f'{stem}.{ext}' for ext in ('json', 'md', 'png')}
    atomic_write_bytes(paths['json'], (json.dumps(dict(summary=summary, runs=records),
                                                  indent=1) + '\n').encode())
    atomic_write_bytes(paths['md'], render_markdown(summary).encode())
    plot_curves(summary, paths['png'])
    return paths
