"""Two stage-one methods (DAFormer against MIC, HRDA, ...) compared seed by seed, read from
main-job work dirs: each single on its own target and its own-target advantage (its mIoU there
minus the best other single's, :func:`experiments.stage_one_report.own_target_advantage`), and every
whole model both have (the source-only one, each merge row) per target and H-mean, with the paired
difference (candidate − baseline) and its mean ± std over seeds.

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
from .layout import MERGE_ROWS, SOURCE_ONLY_LABEL, TARGETS, JobLayout, read_step_record
from .stage_one_report import own_target_advantage

_READINGS = {'holds': 'better', 'does not hold': 'worse', 'inconclusive': 'level',
             'inconclusive (one seed)': 'one seed'}


def _read(folder: Path) -> dict:
    return read_step_record(folder, fix=f'run the main job into {folder.parents[1]} first '
                            '(python tools/run_mtda.py EXPERIMENT --work-dir DIR --seed S)')


def read_run(layout: JobLayout, targets: Sequence[str] = TARGETS) -> dict:
    """One seed's numbers: each single's mIoU on its own target (required), each single's own-target
    advantage (where every single was evaluated on every target, as the main job does), and the
    per-target mIoU and H-mean of every whole model the work dir has: the source-only one, then the
    merge rows."""
    matrix = {t: {d: v['mIoU'] for d, v in _read(layout.single_eval_dir(t))['domains'].items()}
              for t in targets}
    singles = {t: matrix[t][t] for t in targets}
    complete = all(set(targets) <= set(row) for row in matrix.values())
    advantage = {t: own_target_advantage(matrix, t) for t in targets} if complete else {}
    folders = [(SOURCE_ONLY_LABEL, layout.source_only_eval_dir),
               *((row.label, layout.merge_dir(row)) for row in MERGE_ROWS)]
    models = {}
    for label, folder in folders:
        if (folder / 'results.json').exists():
            record = _read(folder)
            models[label] = {**{t: record['domains'][t]['mIoU'] for t in targets},
                             'H': record['hmean']}
    return dict(singles=singles, advantage=advantage, models=models)


def _row(baseline: Sequence[float], candidate: Sequence[float]) -> dict:
    difference = [c - b for b, c in zip(baseline, candidate)]
    reading = verdict(difference)
    return dict(baseline=list(baseline), candidate=list(candidate), difference=difference,
                reading=_READINGS.get(reading, reading))


def compare(baseline: Sequence[Mapping], candidate: Sequence[Mapping],
            targets: Sequence[str] = TARGETS) -> Dict[str, Any]:
    """Paired rows from :func:`read_run` records, one per seed of each method: the singles, their
    advantages (when every record has them) and each whole model every record has."""
    if len(baseline) != len(candidate) or not baseline:
        raise MtdaError(f'{len(baseline)} baseline and {len(candidate)} candidate work dirs: give '
                        'one of each per seed, in the same seed order')
    runs = (*baseline, *candidate)

    def paired(pick):
        return _row([pick(r) for r in baseline], [pick(r) for r in candidate])

    singles = {t: paired(lambda r: r['singles'][t]) for t in targets}
    advantage = ({t: paired(lambda r: r['advantage'][t]) for t in targets}
                 if all(r['advantage'] for r in runs) else {})
    common = [label for label in runs[0]['models'] if all(label in r['models'] for r in runs)]
    models = {label: {q: paired(lambda r: r['models'][label][q]) for q in (*targets, 'H')}
              for label in common}
    return dict(seeds=len(baseline), targets=list(targets), singles=singles, advantage=advantage,
                models=models)


def _ms(values: Sequence[float], signed: bool = False) -> str:
    m, s = mean_std(values)
    text = f'{m:+.1f}' if signed else f'{m:.1f}'
    return text if math.isnan(s) else f'{text} ± {s:.1f}'  # NaN std: one seed


def _paired_table(rows: Mapping, targets: Sequence[str], title: str, labels: Sequence[str],
                  signed: bool = False) -> list:
    base, cand = labels
    lines = [f'| target | {base} {title} | {cand} {title} | {cand} − {base} | per seed |',
             '|---|---|---|---|---|']
    for t in targets:
        row = rows[t]
        per_seed = ', '.join(f'{d:+.1f}' for d in row['difference'])
        lines.append(f'| {t} | {_ms(row["baseline"], signed)} | {_ms(row["candidate"], signed)} | '
                     f'{_ms(row["difference"], True)} ({row["reading"]}) | {per_seed} |')
    return lines


def render_markdown(report: Mapping, *, labels: Sequence[str] = ('baseline', 'candidate')) -> str:
    """A table of the singles on their own targets, one of their own-target advantages (when the
    report has them), then one per whole model (per target and H-mean); every cell mean ± std over
    seeds, the differences paired within each seed."""
    base, cand = labels
    targets = report['targets']
    lines: List[str] = [
        f'{report["seeds"]} seed(s), mIoU %, mean ± sample std; {cand} − {base} paired within '
        'each seed (better / worse: the mean difference exceeds its std).', '',
        *_paired_table(report['singles'], targets, 'single, own target', labels)]
    if report['advantage']:
        lines += ['', "Own-target advantage: a single's mIoU on its own target minus the best "
                  "other single's there.", '',
                  *_paired_table(report['advantage'], targets, 'advantage', labels, signed=True)]
    for label, quantities in report['models'].items():
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
