"""The linear-mode-connectivity sweep between two checkpoints (what ``tools/analyze_lmc.py`` runs).

The grid, the barrier and the results files are :mod:`mtda.analysis.lmc`; this is the runner part.
"""
import logging
from pathlib import Path
from typing import Any, Callable, Optional

from mmengine.logging import print_log

from ..analysis.lmc import hmean_barrier, lambdas, lmc_point
from ..io import checkpoint_label, load_checkpoint_file, sha256_file
from ..io.atomic import check_output_path
from ..io.segmentor_state import select_segmentor_state
from ..merging import (EntryKind, check_lineage, classify_state_dict_entries,
                       interpolate_state_dicts)
from ..merging.rebasin import match_weights, permute_state
from ..models.permutation_specs import permutation_spec_of
from ..models.segmentor import batchnorm_types, load_state_strict, segmentor_of
from .evaluate import build_test_runner, test_results


def lmc_sweep(cfg, checkpoint_a, checkpoint_b, *, steps: int = 11, model: str = 'student',
              rebasin: bool = False, seed: int = 0, full_terminal_log: bool = False,
              on_point: Optional[Callable[[dict], None]] = None) -> dict[str, Any]:
    """Evaluate θ(λ) on every target domain of ``cfg`` for ``steps`` values of λ.

    Args:
        cfg: a loaded config whose ``test_cfg`` is a MultiDomainTestLoop.
        checkpoint_a: the model at λ = 0.
        checkpoint_b: the model at λ = 1.
        steps: number of evenly spaced λ in [0, 1].
        model: ``'student'`` or ``'teacher'``, read from UDA checkpoints.
        rebasin: first permute B onto A by Git Re-Basin's weight matching (the path then runs
            from A to the matched B, which computes what B computes).
        seed: seed of the matching's group order.
        full_terminal_log: see :func:`~mtda.apis.evaluate.build_test_runner`.
        on_point: called with each point as it is measured (the tool prints progress with it).

    Returns:
        ``{'checkpoint_a', 'checkpoint_b', 'config', 'domains', 'points': [{'lambda', 'mIoU':
        {domain: value}, 'hmean', 'mean'}], 'hmean_barrier', 'lineage'}``, and with ``rebasin``
        ``'rebasin': {'fixed_fraction', 'groups', 'units', 'rounds', 'seed'}``.
    """
    grid = lambdas(steps)
    check_output_path(cfg.work_dir, option='--work-dir', folder=True)
    names = (str(checkpoint_a), str(checkpoint_b))
    loaded = [load_checkpoint_file(path) for path in names]
    states = [select_segmentor_state(c, path, model=model) for c, path in zip(loaded, names)]
    metas = [(path, dict(c.get('meta') or {})) for c, path in zip(loaded, names)]
    labels = [checkpoint_label(path, meta) for path, meta in metas]
    del loaded
    # Different inits are what this analysis exists to show, so they are reported, not refused.
    lineage = check_lineage(metas, allow_different_init=True)
    for line in lineage:
        print_log(f'LMC: {line}', logger='current', level=logging.WARNING)

    runner = build_test_runner(cfg, full_terminal_log=full_terminal_log)
    segmentor, _ = segmentor_of(runner.model)
    kinds = classify_state_dict_entries(segmentor, batchnorm_types=batchnorm_types())
    matched = None
    if rebasin:
        spec = permutation_spec_of(segmentor)
        parameters = {k for k, kind in kinds.items() if kind is EntryKind.PARAMETER}
        matching = match_weights(states[0], states[1], spec, keys=parameters, seed=seed,
                                 names=names)
        states[1] = permute_state(states[1], spec, matching.perms)
        matched = dict(fixed_fraction=matching.fixed_fraction(),
                       fixed_fraction_by_module=matching.fixed_fraction_by_module(),
                       groups=len(spec.groups),
                       units=spec.units, rounds=matching.rounds, seed=seed)
        print_log(f'LMC: Re-Basin left {100 * matched["fixed_fraction"]:.1f} % of {spec.units} '
                  f'units of {names[1]} in place', logger='current')
    points = []
    for lam in grid:
        point = interpolate_state_dicts(states[0], states[1], lam=lam, kinds=kinds, names=names)
        load_state_strict(segmentor, point, f'θ(λ={lam:g}) of {names[0]} and {names[1]}')
        runner.test()
        record = test_results(runner, name=f'λ={lam:.2f}')
        points.append(lmc_point(lam, record))
        print_log(f'LMC: λ={lam:.2f} H-mean {record["hmean"]:.2f}', logger='current')
        if on_point is not None:
            on_point(points[-1])
    data = dict(checkpoint_a=names[0], checkpoint_b=names[1], labels=labels,
                sha256=[sha256_file(path) for path in names], model=model,
                config=Path(cfg.filename).name if cfg.filename else None,
                domains=list(points[0]['mIoU']), points=points,
                hmean_barrier=hmean_barrier(points), lineage=lineage)
    if matched is not None:
        data['rebasin'] = matched
    return data
