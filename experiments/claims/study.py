"""The claims study: the main job for several seeds and model families, the extra merges and
linear-mode-connectivity sweeps the claims need, then ``claims.{json,md}``.

    for each family, for each seed:   experiments.main_job (data, shared init, 4 stage-one runs,
                                      pool/mean/first/own-heads merges, the merge methods,
                                      every model evaluated)
                                      -> subsets/<C+I ...>/   pool merge of every subset of >= 2
                                         targets (the all-four one is the main job's)
                                      -> subsets/C+I_own_heads/   encoder-only merge of C and I
                                      -> lmc/shared_init/      θ(λ) between this seed's C and I
                                      -> lmc/different_init/   this seed's C and the next seed's I
                                      -> lmc/different_init_rebasin/   the same, I matched to C
    -> summary.summarize -> claims.json, claims.md

Each step is a ``tools/*.py`` process and is skipped when its output exists, so the study resumes
after an interruption and can reuse main-job work dirs laid out as ``<root>/<family>/seed<N>``
(each a :class:`~experiments.layout.JobLayout`).
The synthetic data are made once (``data_seed``) and shared by every seed: the seeds vary training
only.
"""
import json
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from mtda.errors import MtdaError
from mtda.io.atomic import atomic_write_bytes

from ..layout import MERGE_ROWS, METHOD_ROWS, TARGETS, JobLayout
from ..main_job import Experiment, Tools, run_main_job, step, tiny_experiment
from .summary import render_claims_markdown, subset_name, subsets, summarize

#: the model families of the study: the main one (C6's table) first
FAMILIES = ('daformer_efficientnet-lite0_tiny', 'daformer_mit-b0_tiny', 'daformer_r18_tiny')


#: the sweeps of each seed: {kind: (the seed whose IDD model is the end, analyze_lmc.py options)}
LMC_KINDS = {'shared_init': ('this', ()), 'different_init': ('next', ()),
             'different_init_rebasin': ('next', ('--rebasin',))}


def seed_layout(root, family: str, seed: int) -> JobLayout:
    return JobLayout(Path(root) / family / f'seed{seed}')


def run_subset_merges(experiment: Experiment, layout: JobLayout, *, tools: Tools) -> None:
    """Pool merges of every subset of two or three targets, and the encoder-only C+I merge."""
    merges = [(subset_name(s), list(s), []) for s in subsets() if 1 < len(s) < len(TARGETS)]
    merges.append(('C+I_own_heads', ['cityscapes', 'idd'], ['--heads', 'separate']))
    steps = []
    for name, targets, options in merges:
        out = layout.subset_dir(name)
        if not (out / 'results.json').exists():
            steps.append(('merge.py', [experiment.first_config,
                                       *(layout.stage_one_weights(t) for t in targets),
                                       '--out', out / 'merged.pth', '--work-dir', out,
                                       '--name', f'merged {name}', '--buffers', 'pool', *options],
                          out / 'merge.out'))
    if steps:
        step(f'claims: {len(steps)} subset merges ({layout.root})')
        tools.run_all(steps)


def run_lmc_sweeps(experiment: Experiment, layout: JobLayout, other_seed: JobLayout, *,
                   tools: Tools) -> None:
    """θ(λ) from this seed's Cityscapes model to its IDD model, and to the next seed's (as it is
    and matched to the Cityscapes model by Git Re-Basin)."""
    start = layout.stage_one_weights('cityscapes')
    ends = dict(this=layout.stage_one_weights('idd'), next=other_seed.stage_one_weights('idd'))
    steps = [('analyze_lmc.py', [experiment.first_config, start, ends[end], '--steps', 11,
                                 *options, '--work-dir', layout.lmc_dir(kind)],
              layout.lmc_dir(kind) / 'analyze_lmc.out')
             for kind, (end, options) in LMC_KINDS.items()
             if not (layout.lmc_dir(kind) / 'lmc.json').exists()]
    if steps:
        step(f'claims: linear mode connectivity, {len(steps)} sweeps ({layout.root})')
        tools.run_all(steps)


def collect_run(layout: JobLayout) -> dict:
    """Read one seed's results, by the folder each step wrote, into the shape
    :mod:`experiments.claims.summary` takes."""
    from mtda.evaluation import read_results

    def one(folder):
        return read_results(folder / 'results.json')[0]

    merges = {row.key: one(layout.merge_dir(row)) for row in MERGE_ROWS}
    found = {subset_name(s): one(layout.subset_dir(subset_name(s)))
             for s in subsets() if 1 < len(s) < len(TARGETS)}
    found[subset_name(TARGETS)] = merges['pool']
    lmc = {kind.replace('_', ' '): json.loads((layout.lmc_dir(kind) / 'lmc.json').read_text())
           for kind in LMC_KINDS if (layout.lmc_dir(kind) / 'lmc.json').exists()}
    methods = {row.folder: one(layout.method_dir(row.folder)) for row in METHOD_ROWS
               if (layout.method_dir(row.folder) / 'results.json').exists()}
    rebasin = layout.method_dir('rebasin') / 'merged.pth'
    if 'rebasin' in methods and rebasin.exists():  # what the matching did: the file's provenance
        import torch
        meta = torch.load(rebasin, weights_only=True, mmap=True)['meta']
        methods['rebasin']['matching'] = meta['method_options']
    source_only = layout.source_only_eval_dir / 'results.json'
    extra = dict(source_only=one(layout.source_only_eval_dir)) if source_only.exists() else {}
    return dict(**extra, singles={t: one(layout.single_eval_dir(t)) for t in TARGETS}, merges=merges,
                subsets=found, cs_idd_own_heads=one(layout.subset_dir('C+I_own_heads')), lmc=lmc,
                methods=methods)


def run_claims_study(root, *, configs_dir, tools: Tools, families: Sequence[str] = FAMILIES,
                     seeds: Sequence[int] = (0, 1, 2), data_root='data', data_seed: int = 0,
                     pretrain_iters: Optional[int] = None, uda_iters: Optional[int] = None,
                     command: str = '') -> Dict[str, Path]:
    """Run (or resume) the study and write ``claims.json`` and ``claims.md`` into ``root``.

    Args:
        root: work dir of the study; each seed's main job goes to ``root/<family>/seed<N>``.
        configs_dir: the ``configs/`` folder holding ``mtda/gta2all_<family>.py``.
        tools: the tools to run each step with.
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
        experiment = tiny_experiment(configs_dir, family)
        for seed in seeds:
            run_main_job(experiment, tools=tools, work_dir=seed_layout(root, family, seed).root,
                         data_root=data_root, seed=seed, data_seed=data_seed,
                         pretrain_iters=pretrain_iters, uda_iters=uda_iters)
        for i, seed in enumerate(seeds):
            layout = seed_layout(root, family, seed)
            run_subset_merges(experiment, layout, tools=tools)
            run_lmc_sweeps(experiment, layout,
                           seed_layout(root, family, seeds[(i + 1) % len(seeds)]), tools=tools)
    runs = {family: {seed: collect_run(seed_layout(root, family, seed)) for seed in seeds}
            for family in families}
    claims = summarize(runs, main_family=families[0])
    minutes = {family: sum(_job_minutes(seed_layout(root, family, seed)) for seed in seeds)
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


def _job_minutes(layout: JobLayout) -> float:
    return json.loads(layout.timing.read_text())['minutes'] if layout.timing.exists() else 0.0
