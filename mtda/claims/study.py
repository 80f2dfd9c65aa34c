"""The claims study: the main job for several seeds and model families, the extra merges and
linear-mode-connectivity sweeps the claims need, then ``claims.{json,md}``.

    for each family, for each seed:   mtda.main_job (data, shared init, 4 stage-one runs,
                                      pool/mean/first/own-heads merges, every model evaluated)
                                      -> subsets/<C+I ...>/   pool merge of every subset of >= 2
                                         targets (the all-four one is the main job's)
                                      -> subsets/C+I_own_heads/   encoder-only merge of C and I
                                      -> lmc/shared_init/      θ(λ) between this seed's C and I
                                      -> lmc/different_init/   this seed's C and the next seed's I
    -> summary.summarize -> claims.json, claims.md

Each step is a ``tools/*.py`` process and is skipped when its output exists, so the study resumes
after an interruption and can reuse main-job work dirs laid out as ``<root>/<family>/seed<N>``.
The synthetic data are made once (``data_seed``) and shared by every seed: the seeds vary training
only.
"""
import json
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..errors import MtdaError
from ..io.atomic import atomic_write_bytes
from ..main_job import Experiment, run_main_job, run_tool_step, step, tiny_experiment
from .summary import TARGETS, render_claims_markdown, subset_name, subsets, summarize

#: the model families of the study: the main one (C6's table) first
FAMILIES = ('daformer_mit-b0_tiny', 'daformer_r18_tiny')


def seed_dir(root, family: str, seed: int) -> Path:
    return Path(root) / family / f'seed{seed}'


def stage_one_weights(work_dir: Path, target: str) -> Path:
    return work_dir / 'stage_one' / target / 'weights' / 'final.pth'


def run_subset_merges(experiment: Experiment, work_dir: Path) -> None:
    """Pool merges of every subset of two or three targets, and the encoder-only C+I merge."""
    config = next(iter(experiment.uda_configs.values()))
    jobs = [(subset_name(s), list(s), []) for s in subsets() if 1 < len(s) < len(TARGETS)]
    jobs.append(('C+I_own_heads', ['cityscapes', 'idd'], ['--heads', 'separate']))
    for name, targets, options in jobs:
        out = work_dir / 'subsets' / name
        if (out / 'results.json').exists():
            continue
        step(f'claims: merge {name} ({work_dir})')
        run_tool_step('merge.py', [config, *(stage_one_weights(work_dir, t) for t in targets),
                              '--out', out / 'merged.pth', '--work-dir', out,
                              '--name', f'merged {name}', '--buffers', 'pool', *options])


def run_lmc_sweeps(experiment: Experiment, work_dir: Path, other_seed_dir: Path) -> None:
    """θ(λ) from this seed's Cityscapes model to its IDD model, and to the next seed's."""
    config = next(iter(experiment.uda_configs.values()))
    start = stage_one_weights(work_dir, 'cityscapes')
    for kind, end in (('shared_init', stage_one_weights(work_dir, 'idd')),
                      ('different_init', stage_one_weights(other_seed_dir, 'idd'))):
        out = work_dir / 'lmc' / kind
        if (out / 'lmc.json').exists():
            continue
        step(f'claims: linear mode connectivity, {kind.replace("_", " ")} ({work_dir})')
        run_tool_step('analyze_lmc.py', [config, start, end, '--steps', 11, '--work-dir', out])


def collect_run(work_dir: Path) -> dict:
    """Read one seed's results into the shape :mod:`mtda.claims.summary` takes."""
    from ..evaluation import read_results
    models = {m['name']: m for m in read_results(work_dir / 'results.json')}
    found = {subset_name(s): read_results(work_dir / 'subsets' / subset_name(s) /
                                          'results.json')[0]
             for s in subsets() if 1 < len(s) < len(TARGETS)}
    found[subset_name(TARGETS)] = models['merged (pool BN)']
    own = read_results(work_dir / 'subsets' / 'C+I_own_heads' / 'results.json')[0]
    lmc = {kind.replace('_', ' '): json.loads((work_dir / 'lmc' / kind / 'lmc.json').read_text())
           for kind in ('shared_init', 'different_init')}
    return dict(models=models, subsets=found, cs_idd_own_heads=own, lmc=lmc)


def run_claims_study(root='work_dirs/claims', *, families: Sequence[str] = FAMILIES,
                     seeds: Sequence[int] = (0, 1, 2), data_root='data', data_seed: int = 0,
                     pretrain_iters: Optional[int] = None, uda_iters: Optional[int] = None,
                     command: str = '') -> Dict[str, Path]:
    """Run (or resume) the study and write ``claims.json`` and ``claims.md`` into ``root``.

    Args:
        root: work dir of the study; each seed's main job goes to ``root/<family>/seed<N>``.
        families: tiny model families; the first one's subset table is C6.
        seeds: training seeds (at least two: the different-init sweep pairs seed s with the next).
        data_root / data_seed: the synthetic datasets (made once, shared by every seed).
        pretrain_iters / uda_iters: override the configs' training lengths (for quick tries).
        command: the command line, recorded in claims.md.
    """
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise MtdaError(f'--seeds {" ".join(map(str, seeds))}: the study needs at least two '
                        'different seeds (the different-init sweep pairs each seed with the next); '
                        'pass e.g. --seeds 0 1 2')
    start = time.time()
    root = Path(root)
    for family in families:
        experiment = tiny_experiment(family)
        for seed in seeds:
            run_main_job(experiment, work_dir=seed_dir(root, family, seed), data_root=data_root,
                         seed=seed, data_seed=data_seed, pretrain_iters=pretrain_iters,
                         uda_iters=uda_iters)
        for i, seed in enumerate(seeds):
            work_dir = seed_dir(root, family, seed)
            run_subset_merges(experiment, work_dir)
            run_lmc_sweeps(experiment, work_dir,
                           seed_dir(root, family, seeds[(i + 1) % len(seeds)]))
    runs = {family: {seed: collect_run(seed_dir(root, family, seed)) for seed in seeds}
            for family in families}
    claims = summarize(runs, main_family=families[0])
    minutes = {family: sum(_job_minutes(seed_dir(root, family, seed)) for seed in seeds)
               for family in families}
    claims['minutes'] = dict(main_jobs=minutes, this_run=round((time.time() - start) / 60, 2))
    preamble = (f'Produced by `{command or "python tools/run_claims.py"}`: families '
                f'{", ".join(families)}; seeds {", ".join(map(str, seeds))} (training seeds; one '
                f'synthetic dataset, data seed {data_seed}). Main jobs took ' +
                ', '.join(f'{m:.0f} min ({f})' for f, m in minutes.items()) +
                f'; this run {claims["minutes"]["this_run"]:.0f} min.')
    paths = dict(json=root / 'claims.json', md=root / 'claims.md')
    atomic_write_bytes(paths['json'], (json.dumps(claims, indent=1) + '\n').encode())
    atomic_write_bytes(paths['md'], render_claims_markdown(claims, preamble=preamble).encode())
    print('\n' + paths['md'].read_text())
    return paths


def _job_minutes(work_dir: Path) -> float:
    timing = work_dir / 'timing.json'
    return json.loads(timing.read_text())['minutes'] if timing.exists() else 0.0
