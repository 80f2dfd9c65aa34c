"""The stage-one report: does stage one adapt, and do the single models specialise?

Read from a main job's work dir (:class:`~experiments.layout.JobLayout`), per target:

* source-only, UDA single and target-supervised ("oracle", where target train labels exist:
  Cityscapes, IDD, ACDC) mIoU, and the share of the source-only -> oracle gap that UDA closes,
  ``(UDA - source) / (oracle - source)`` (real DAFormer GTA -> Cityscapes closes about 70 %);
* the matrix of every single on every target, and each single's own-target advantage: its mIoU on
  its own target minus the best other single's there (the paper's Table 3: Cityscapes +10 over the
  Dark Zurich model on Cityscapes).

The miniature's targets (decided before any merge result is looked at): UDA closes >= 40 % of the
gap on Cityscapes, IDD and ACDC; own-target advantage >= +3 on Cityscapes and IDD; every target's
UDA mIoU >= 20. Over several seeds each number is reported as mean ± sample std.

:func:`bn_recalibrated_numbers` gives the same numbers with the BatchNorm statistics each model
tracked in training replaced by statistics of target frames: each single's re-estimated on
unlabelled training frames of its own target, the source-only model's on each target it is
evaluated on (AdaBN, Li et al., "Revisiting Batch Normalization For Practical Domain Adaptation",
2016). A UDA run tracks its statistics over source and mixed batches, so they are not its target's
(docs/stage_one.md).
"""
import math
from statistics import mean, stdev
from typing import Dict, Mapping, Optional, Sequence

from .layout import TARGETS, JobLayout, read_step_record
from .main_job import Experiment, Tools, step

#: the miniature's targets for stage one: (quantity, targets it applies to, threshold)
TARGET_GAP_CLOSED = (('cityscapes', 'idd', 'acdc'), 0.40)
TARGET_ADVANTAGE = (('cityscapes', 'idd'), 3.0)
TARGET_UDA_MIOU = (TARGETS, 20.0)


def gap_closed(source: float, uda: float, oracle: float) -> Optional[float]:
    """``(uda - source) / (oracle - source)``; ``None`` when the oracle is not above source-only."""
    return (uda - source) / (oracle - source) if oracle > source else None


def own_target_advantage(matrix: Mapping[str, Mapping[str, float]], target: str) -> float:
    """mIoU of the single trained for ``target`` on ``target`` minus the best other single's there.

    Args:
        matrix: ``{single's target: {evaluated target: mIoU}}``.
    """
    others = [row[target] for single, row in matrix.items() if single != target]
    return matrix[target][target] - max(others)


def _miou(path) -> Dict[str, float]:
    record = read_step_record(path.parent, fix='run the main job first (python tools/run_mtda.py '
                              'CONFIG) and the oracles (this tool runs them)')
    return {d: v['mIoU'] for d, v in record['domains'].items()}


def report_numbers(source: Mapping[str, float], matrix: Mapping[str, Mapping[str, float]],
                   oracles: Mapping[str, float]) -> dict:
    """Per target (the matrix's rows) source/UDA/oracle/gap and advantage, and the matrix."""
    per_target = {}
    for t in matrix:
        oracle = oracles.get(t)
        per_target[t] = dict(source_only=source[t], uda=matrix[t][t], oracle=oracle,
                             gap_closed=None if oracle is None
                             else gap_closed(source[t], matrix[t][t], oracle),
                             advantage=own_target_advantage(matrix, t))
    return dict(per_target=per_target, matrix=matrix)


def _oracles(layout: JobLayout, targets: Sequence[str]) -> Dict[str, float]:
    """Each oracle's mIoU on its target, for the targets that have one."""
    files = {t: layout.oracle_dir(t) / 'results.json' for t in targets}
    return {t: _miou(f)[t] for t, f in files.items() if f.exists()}


def stage_one_numbers(layout: JobLayout, *, targets: Sequence[str] = TARGETS) -> dict:
    """One seed's report: per target source/UDA/oracle/gap, the matrix and the advantages."""
    source = _miou(layout.source_only_eval_dir / 'results.json')
    matrix = {t: _miou(layout.single_eval_dir(t) / 'results.json') for t in targets}
    return report_numbers(source, matrix, _oracles(layout, targets))


def bn_recalibrated_numbers(experiment: Experiment, layout: JobLayout, *, frames: int, seed: int,
                            targets: Sequence[str] = TARGETS) -> dict:
    """:func:`stage_one_numbers` with target BatchNorm statistics: every single's re-estimated on
    ``frames`` unlabelled training frames of its own target (then evaluated on every target), the
    source-only model's on those of each target before it is evaluated there; the oracles keep
    their own (trained on the target). The frame sample is seeded with ``seed``."""
    from mmengine.registry import init_default_scope

    from mtda.apis.infer import load_segmentor
    from mtda.apis.select_subnet import calibrate_segmentor_batchnorm_, file_batches
    from mtda.config import load_config

    from .slimda_selection_study import labelled_items, labelled_miou, target_frames
    init_default_scope('mmseg')
    configs = {t: load_config(str(experiment.uda_configs[t])) for t in targets}
    items = {t: labelled_items(configs[t], t) for t in targets}
    # the re-estimation resets every statistic, so one loaded source-only model serves all targets
    source_only = load_segmentor(configs[targets[0]], layout.source_only_weights)
    matrix, source = {}, {}
    for t in targets:
        batches = file_batches(source_only, target_frames(configs[t], count=frames, seed=seed))
        single = load_segmentor(configs[t], layout.stage_one_weights(t))
        for model in (single, source_only):
            calibrate_segmentor_batchnorm_(model, batches)
        matrix[t] = {d: labelled_miou(single, *items[d]) for d in targets}
        source[t] = labelled_miou(source_only, *items[t])
    return report_numbers(source, matrix, _oracles(layout, targets))


def summarise(runs: Sequence[dict]) -> dict:
    """Mean and sample std over seeds of every number, and the targets met (on the means)."""
    def stats(values):
        values = [v for v in values if v is not None]
        if not values:
            return None
        return dict(mean=mean(values), std=stdev(values) if len(values) > 1 else math.nan,
                    values=values)

    targets = list(runs[0]['per_target'])
    per_target = {t: {key: stats([r['per_target'][t][key] for r in runs])
                      for key in runs[0]['per_target'][t]} for t in targets}
    matrix = {s: {t: stats([r['matrix'][s][t] for r in runs]) for t in targets} for s in targets}

    def met(key, spec):
        names, threshold = spec
        return {t: (per_target[t][key] is not None and per_target[t][key]['mean'] >= threshold)
                for t in names if t in per_target}

    checks = dict(gap_closed=met('gap_closed', TARGET_GAP_CLOSED),
                  advantage=met('advantage', TARGET_ADVANTAGE),
                  uda=met('uda', TARGET_UDA_MIOU))
    return dict(seeds=len(runs), per_target=per_target, matrix=matrix, checks=checks)


def render_markdown(report: Mapping, *, bn_frames: int = 0) -> str:
    """The report as two Markdown tables and the list of targets met; ``bn_frames``: the number
    of target frames the BatchNorm statistics were re-estimated on (0: those of training)."""
    def cell(s, percent=False):
        if s is None:
            return '–'
        scale = 100 if percent else 1
        text = f'{s["mean"] * scale:.1f}'
        return text if math.isnan(s['std']) else f'{text} ± {s["std"] * scale:.1f}'

    targets = list(report['per_target'])
    statistics = (f'; BN statistics re-estimated on {bn_frames} target frames' if bn_frames
                  else '')
    lines = [f'## Stage one ({report["seeds"]} seed(s); mIoU %, mean ± std{statistics})', '',
             '| target | source-only | UDA single | oracle | gap closed (%) | own-target advantage |',
             '|---|---|---|---|---|---|']
    for t in targets:
        r = report['per_target'][t]
        lines.append(f'| {t} | {cell(r["source_only"])} | {cell(r["uda"])} | {cell(r["oracle"])} | '
                     f'{cell(r["gap_closed"], percent=True)} | {cell(r["advantage"])} |')
    lines += ['', '**Every single on every target** (rows: the single\'s target)', '',
              '| single | ' + ' | '.join(targets) + ' |', '|---|' + '---|' * len(targets)]
    for s in targets:
        lines.append(f'| {s} | ' + ' | '.join(
            (f'**{cell(report["matrix"][s][t])}**' if s == t else cell(report['matrix'][s][t]))
            for t in targets) + ' |')
    names = dict(gap_closed=f'UDA closes >= {TARGET_GAP_CLOSED[1]:.0%} of the gap',
                 advantage=f'own-target advantage >= +{TARGET_ADVANTAGE[1]:g}',
                 uda=f'UDA mIoU >= {TARGET_UDA_MIOU[1]:g}')
    lines += ['', 'Targets of the miniature:', '']
    for key, verdicts in report['checks'].items():
        lines.append(f'- {names[key]}: ' + ', '.join(
            f'{t} {"met" if ok else "not met"}' for t, ok in verdicts.items()))
    return '\n'.join(lines) + '\n'


def run_oracles(experiment: Experiment, layout: JobLayout, *, tools: Tools,
                oracle_configs: Mapping[str, object], seed: int = 0,
                iters: Optional[int] = None) -> None:
    """Train and evaluate each target-supervised run from the shared init (skipped if done);
    the trainings run ``tools.jobs`` at a time, then the evaluations."""
    training, testing = [], []
    for target, config in oracle_configs.items():
        out = layout.oracle_dir(target)
        weights = out / 'weights' / 'final.pth'
        if not weights.exists():
            options = [f'load_from={layout.shared_init}', f'randomness.seed={seed}']
            if iters:
                options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}']
            training.append(('train.py', [config, '--work-dir', out, '--cfg-options', *options],
                             out / 'train.out'))
        if not (out / 'results.json').exists():
            testing.append(('test.py', [experiment.first_config, weights, '--work-dir', out,
                                        '--name', f'oracle: {target}'], out / 'test.out'))
    if training:
        step(f'oracles: {", ".join(str(args[0].name) for _, args, _ in training)} '
             f'({layout.root})')
    tools.run_all(training)
    tools.run_all(testing)
