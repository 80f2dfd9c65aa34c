"""The routing record (``route.json``) and its table (``route.md``), from :class:`RoutingScores`."""
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Dict

import numpy as np

from .scoring import CRITERIA, RoutingScores

LABELS = {'bn': 'BN-statistics KL ↓', 'entropy': 'entropy ↓', 'agreement': 'KL to ensemble ↓',
          'labels': 'mIoU on labels ↑'}


def routing_record(scores: RoutingScores, *, criterion: str, files: Mapping[str, str],
                   per_frame: bool = False) -> Dict[str, Any]:
    """What was measured and what the criterion picks (for the domain, and per frame)."""
    if criterion not in scores.domain:
        raise KeyError(f'criterion {criterion!r} was not scored (have {sorted(scores.domain)})')
    picks = scores.choose_per_frame(criterion)
    record: Dict[str, Any] = dict(
        criterion=criterion, candidates=scores.candidates,
        files=[str(files[name]) for name in scores.candidates], frames=len(scores.frames),
        scores={c: [float(v) for v in values] for c, values in scores.domain.items()},
        choice={c: scores.candidates[scores.choose(c)] for c in scores.domain},
        per_frame=dict(Counter(scores.candidates[i] for i in picks)))
    record['chosen'] = record['choice'][criterion]
    if per_frame:
        record['frame_choices'] = {frame: scores.candidates[i]
                                   for frame, i in zip(scores.frames, picks)}
    return record


def render_routing_markdown(record: Mapping[str, Any]) -> str:
    """One row per candidate, one column per criterion; the pick of each criterion in bold."""
    criteria = [c for c in CRITERIA if c in record['scores']]
    lines = [f'| candidate | {" | ".join(LABELS[c] for c in criteria)} | frames routed to it '
             f'({record["criterion"]}) |',
             '|---|' + '---|' * (len(criteria) + 1)]
    for index, name in enumerate(record['candidates']):
        cells = []
        for criterion in criteria:
            value = record['scores'][criterion][index]
            text = '–' if value is None or np.isnan(value) else (
                f'{value:.1f}' if criterion == 'labels' else f'{value:.4f}')
            cells.append(f'**{text}**' if record['choice'][criterion] == name else text)
        lines.append(f'| {name} | {" | ".join(cells)} | {record["per_frame"].get(name, 0)} |')
    lines.append('')
    lines.append(f'{record["frames"]} frame(s); by {record["criterion"]}: '
                 f'**{record["chosen"]}**')
    return '\n'.join(lines) + '\n'


def candidate_names(experts: Sequence[str], merged: Sequence[str]) -> Dict[str, str]:
    """``{name: file}``: the file stems, made unique (``a``, ``a_2``) in the order given.

    A stem that only names a point of a run takes its run's folder instead:
    ``stage_one/idd/weights/final.pth`` is ``idd``, ``merged/pool/merged.pth`` is ``pool``.
    """
    names: Dict[str, str] = {}
    for path in [*experts, *merged]:
        path = Path(path)
        stem = path.stem
        if stem == 'merged':
            stem = path.parent.name
        elif stem == 'final' or stem.startswith('iter_'):
            stem = path.parent.parent.name
        name, suffix = stem, 2
        while name in names:
            name, suffix = f'{stem}_{suffix}', suffix + 1
        names[name] = str(path)
    return names
