"""Linear mode connectivity: per-domain mIoU along the segment θ(λ) = (1−λ)θ_A + λθ_B.

Why merging works (the paper, §3): models fine-tuned from one init stay in one basin, so every point
of the segment between them is as good as its ends and the midpoint is a useful merge; from
different random inits the curve dips in the middle (a loss barrier) and the merge collapses.

The sweep itself is a runner-level step, :func:`mtda.apis.lmc_sweep`: one runner from the config
(datasets and dataloaders once), then for each λ the point θ(λ)
(:func:`~mtda.merging.stream.interpolate_state_dicts`: parameters interpolated, BatchNorm statistics
pooled with proportions (1−λ, λ), so λ = 0 and λ = 1 are exactly A and B) through the multi-domain
test loop. This module holds what needs no runner: the grid, the barrier, and the results as data
first (``lmc.json``) with ``lmc.png`` (one curve per domain and the H-mean) and ``lmc.md`` rendered
from it.

The barrier reported is the largest drop of the H-mean below the straight line between the two ends:
max over λ of ((1−λ)·H(0) + λ·H(1) − H(λ)); near 0 (or negative) means linearly connected.
"""
import json
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..errors import MtdaError
from ..evaluation.scores import harmonic_mean
from ..io.atomic import atomic_output


def lambdas(steps: int) -> list[float]:
    """``steps`` evenly spaced points of [0, 1], ends included exactly.

    Raises:
        MtdaError: fewer than two steps.
    """
    if steps < 2:
        raise MtdaError(f'--steps {steps}: the sweep needs at least 2 points (λ = 0 and 1); '
                        'pass --steps 11 for the usual grid')
    return [i / (steps - 1) for i in range(steps)]


def _finite_or_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def hmean_barrier(points: Sequence[Mapping[str, Any]], domains: Optional[Sequence[str]] = None
                  ) -> Optional[float]:
    """max over λ of ((1−λ)·H(0) + λ·H(1) − H(λ)), in mIoU points (``None`` if one is missing).

    Args:
        points: the sweep's points (``lambda``, ``hmean``, ``mIoU`` per domain).
        domains: take H over these domains' mIoU instead of the points' ``hmean`` (all domains).
    """
    if domains is None:
        values = [p['hmean'] for p in points]
    else:
        values = [None if any(p['mIoU'][d] is None for d in domains)
                  else harmonic_mean(p['mIoU'][d] for d in domains) for p in points]
    if any(v is None for v in values):
        return None
    start, end = values[0], values[-1]
    return max((1 - p['lambda']) * start + p['lambda'] * end - v for p, v in zip(points, values))


def lmc_point(lam: float, record: Mapping[str, Any]) -> dict[str, Any]:
    """One point of the sweep from a results record (:func:`~mtda.evaluation.model_results`)."""
    return {'lambda': lam,
            'mIoU': {d: _finite_or_none(v['mIoU']) for d, v in record['domains'].items()},
            'hmean': _finite_or_none(record['hmean']), 'mean': _finite_or_none(record['mean'])}


def render_lmc_markdown(data: Mapping[str, Any]) -> str:
    """A table: one row per λ, one column per domain, then H-mean and mean."""
    def cell(value):
        return '–' if value is None else f'{value:.1f}'

    domains = data['domains']
    header = ['λ', *domains, 'H-mean', 'mean']
    matched = data.get('rebasin')
    lines = [f'## Linear mode connectivity: {data["checkpoint_a"]} (λ=0) → '
             f'{data["checkpoint_b"]}{" matched to it (Git Re-Basin)" if matched else ""} (λ=1)',
             '',
             '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for p in data['points']:
        lines.append('| ' + ' | '.join([f'{p["lambda"]:.2f}', *(cell(p['mIoU'][d]) for d in domains),
                                        f'**{cell(p["hmean"])}**', cell(p['mean'])]) + ' |')
    lines += ['', f'H-mean barrier (largest drop below the line between the ends): '
                  f'{cell(data["hmean_barrier"])} mIoU points']
    if matched:
        lines.append(f'Re-Basin left {100 * matched["fixed_fraction"]:.1f} % of the '
                     f'{matched["units"]} units of λ=1 in place ({matched["groups"]} groups, '
                     f'{matched["rounds"]} sweeps; '
                     + ', '.join(f'{module} {100 * value:.1f} %' for module, value
                                 in matched.get('fixed_fraction_by_module', {}).items()) + ')')
    return '\n'.join(lines) + '\n'


def plot_lmc(data: Mapping[str, Any], path) -> None:
    """The curves as a PNG: mIoU of each domain and the H-mean against λ."""
    from matplotlib.figure import Figure  # no pyplot: no global backend, no display needed
    figure = Figure(figsize=(6.4, 4.2), dpi=100, layout='tight')
    axes = figure.subplots()
    lams = [p['lambda'] for p in data['points']]
    nan = float('nan')
    for domain in data['domains']:
        values = [nan if p['mIoU'][domain] is None else p['mIoU'][domain] for p in data['points']]
        axes.plot(lams, values, marker='o', markersize=3, label=domain)
    hmeans = [nan if p['hmean'] is None else p['hmean'] for p in data['points']]
    axes.plot(lams, hmeans, color='black', linewidth=2.2, marker='s', markersize=4, label='H-mean')
    # the straight line between the ends: the barrier is the H-mean's largest drop below it
    axes.plot([lams[0], lams[-1]], [hmeans[0], hmeans[-1]], color='black', linestyle='--',
              linewidth=1, label='H-mean, linear between the ends')
    ends = data.get('labels') or [Path(data['checkpoint_a']).name, Path(data['checkpoint_b']).name]
    axes.set_xlabel(f'λ   (0: {ends[0]},  1: {ends[1]})')
    axes.set_ylabel('mIoU (%)')
    axes.set_xlim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize='small')
    axes.set_title('Linear interpolation between two checkpoints'
                   + (' (λ=1 matched by Git Re-Basin)' if data.get('rebasin') else ''))
    figure.savefig(path, format='png')


def write_lmc(data: Mapping[str, Any], work_dir) -> dict[str, Path]:
    """Write ``lmc.json`` (the data), then ``lmc.png`` and ``lmc.md`` rendered from it, atomically."""
    work_dir = Path(work_dir)
    paths = dict(json=work_dir / 'lmc.json', png=work_dir / 'lmc.png', md=work_dir / 'lmc.md')
    with atomic_output(paths['json']) as tmp:
        tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + '\n')
    with atomic_output(paths['png']) as tmp:
        plot_lmc(data, tmp)
    with atomic_output(paths['md']) as tmp:
        tmp.write_text(render_lmc_markdown(data))
    return paths
