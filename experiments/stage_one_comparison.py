"""Two stage-one methods (DAFormer against MIC, HRDA, ...) compared seed by seed, read from
main-job work dirs: each single on its own target, and every merge row both have per target and
H-mean, with the paired difference (candidate − baseline) and its mean ± std over seeds.

The work dirs are paired by position: the i-th baseline and the i-th candidate ran with the same
training seed, data and shared init (docs/stage_one.md), so a seed's difference cancels what the
seed alone does. A difference reads ``better`` or ``worse`` when its mean exceeds its sample std
over seeds, ``level`` otherwise (as the claims study reads the merge methods,
:func:`experiments.claims.summary.compare_methods`).
"""
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from mtda.errors import MtdaError

from .claims.summary import mean_std, verdict
from .layout import MERGE_ROWS, TARGETS, JobLayout, read_step_record

_READINGS = {'holds': 'better', 'does not hold': 'worse', 'inconclusive': 'level',
             'inconclusive (one seed)': 'one seed'}


def _read(folder: Path) -> dict:
    return read_step_record(folder, fix=f'run the main job into {folder.parents[1]} first '
                            '(python tools/run_mtda.py EXPERIMENT --work-dir DIR --seed S)')


def read_run(layout: JobLayout, targets: Sequence[str] = TARGETS) -> dict:
    """One seed's numbers: each single's mIoU on its own target (required) and the per-target mIoU
    and H-mean of every merge row the work dir has."""
    singles = {t: _read(layout.single_eval_dir(t))['domains'][t]['mIoU'] for t in targets}
    merges = {}
    for row in MERGE_ROWS:
        if (layout.merge_dir(row) / 'results.json').exists():
            record = _read(layout.merge_dir(row))
            merges[row.label] = {**{t: record['domains'][t]['mIoU'] for t in targets},
                                 'H': record['hmean']}
    return dict(singles=singles, merges=merges)


def _row(baseline: Sequence[float], candidate: Sequence[float]) -> dict:
    difference = [c - b for b, c in zip(baseline, candidate)]
    reading = verdict(difference)
    return dict(baseline=list(baseline), candidate=list(candidate), difference=difference,
                reading=_READINGS.get(reading, reading))


def compare(baseline: Sequence[Mapping], candidate: Sequence[Mapping],
            targets: Sequence[str] = TARGETS) -> Dict[str, Any]:
    """Paired rows from :func:`read_run` records, one per seed of each method."""
    if len(baseline) != len(candidate) or not baseline:
        raise MtdaError(f'{len(baseline)} baseline and {len(candidate)} candidate work dirs: give '
                        'one of each per seed, in the same seed order')
    singles = {t: _row([r['singles'][t] for r in baseline], [r['singles'][t] for r in candidate])
               for t in targets}
    rows = [r['merges'] for r in (*baseline, *candidate)]
    common = [label for label in rows[0] if all(label in r for r in rows)]
    merges = {label: {q: _row([r['merges'][label][q] for r in baseline],
                              [r['merges'][label][q] for r in candidate])
                      for q in (*targets, 'H')}
              for label in common}
    return dict(seeds=len(baseline), targets=list(targets), singles=singles, merges=merges)


def _ms(values: Sequence[float], signed: bool = False) -> str:
    m, s = mean_std(values)
    text = f'{m:+.1f}' if signed else f'{m:.1f}'
    return text if math.isnan(s) else f'{text} ± {s:.1f}'  # NaN std: one seed


def render_markdown(report: Mapping, *, labels: Sequence[str] = ('baseline', 'candidate')) -> str:
    """A table of the singles on their own targets, then one per merge row (per target and
    H-mean); every cell mean ± std over seeds, the differences paired within each seed."""
    base, cand = labels
    targets = report['targets']
    lines: List[str] = [
        f'{report["seeds"]} seed(s), mIoU %, mean ± sample std; {cand} − {base} paired within '
        'each seed (better / worse: the mean difference exceeds its std).', '',
        f'| target | {base} single, own target | {cand} single, own target | '
        f'{cand} − {base} | per seed |', '|---|---|---|---|---|']
    for t in targets:
        row = report['singles'][t]
        per_seed = ', '.join(f'{d:+.1f}' for d in row['difference'])
        lines.append(f'| {t} | {_ms(row["baseline"])} | {_ms(row["candidate"])} | '
                     f'{_ms(row["difference"], True)} ({row["reading"]}) | {per_seed} |')
    for label, quantities in report['merges'].items():
        names = [*targets, 'H']
        lines += ['', f'**{label}**', '', '| model | ' + ' | '.join(names) + ' |',
                  '|---|' + '---|' * len(names)]
        for title, key, signed in ((base, 'baseline', False), (cand, 'candidate', False),
                                   (f'{cand} − {base}', 'difference', True)):
            cells = [_ms(quantities[q][key], signed) for q in names]
            lines.append(f'| {title} | ' + ' | '.join(cells) + ' |')
        lines.append(f'\nH-mean: {cand} {quantities["H"]["reading"]} '
                     f'({_ms(quantities["H"]["difference"], True)}).')
    return '\n'.join(lines) + '\n'
