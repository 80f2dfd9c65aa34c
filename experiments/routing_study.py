"""Leave one domain out: route a domain no model was adapted to among the others' models.

For each main-job work dir (:class:`~experiments.layout.JobLayout`, one seed) and each scenario,

* a held-out target T (Cityscapes, IDD, ACDC, Dark Zurich): the candidates are the stage-one
  experts of the other three targets and their merge (average, BN pooling; written to
  ``routing/merged_without_<T>.pth``), since a fleet that never saw T cannot have merged T's model;
* each ACDC condition (fog, night, rain, snow) as its own new domain: the experts of Cityscapes, IDD
  and Dark Zurich and their merge (the ACDC expert saw every condition);

the candidates score the held-out domain's validation frames without their labels
(:func:`mtda.routing.scoring.score_candidates`); the labels then give every candidate's true mIoU
per frame. Reported per scenario and criterion: the pick, whether it is the best candidate by true
mIoU, the regret (best − picked mIoU), and the mIoU of routing per frame, per domain, and of always
using the merge. The frames that are scored are the ones that are evaluated (a transductive
setting, as a deployed router sees the frames it routes).
"""
import json
from pathlib import Path
from statistics import mean, stdev
from typing import Dict, List, Mapping, Sequence

import numpy as np

from mtda.errors import MtdaError
from mtda.io.atomic import atomic_write_bytes

from .layout import TARGETS, JobLayout

ACDC_CONDITIONS = ('fog', 'night', 'rain', 'snow')
LABEL_FREE = ('bn', 'entropy', 'agreement')
MERGED = 'merged'


def scenarios() -> List[dict]:
    """``[{'name', 'domain', 'condition', 'experts'}]``: each held-out domain, its candidates."""
    rows = [dict(name=target, domain=target, condition=None,
                 experts=[t for t in TARGETS if t != target]) for target in TARGETS]
    rows += [dict(name=f'acdc {condition}', domain='acdc', condition=condition,
                  experts=[t for t in TARGETS if t != 'acdc']) for condition in ACDC_CONDITIONS]
    return rows


def scenario_result(scores, criteria: Sequence[str] = LABEL_FREE) -> dict:
    """Picks, accuracy, regret and routed mIoU of one scenario's :class:`RoutingScores`."""
    true = scores.domain['labels']
    best = int(np.argmax(true))
    names = scores.candidates
    result = dict(candidates=names, true_miou=[float(v) for v in true], best=names[best],
                  merged_miou=float(true[names.index(MERGED)]), criteria={})
    for criterion in criteria:
        pick = scores.choose(criterion)
        result['criteria'][criterion] = dict(
            pick=names[pick], correct=pick == best, regret=float(true[best] - true[pick]),
            per_domain_miou=float(true[pick]),
            per_frame_miou=scores.miou(scores.choose_per_frame(criterion)))
    result['frame_oracle_miou'] = scores.miou(_best_per_frame(scores))
    return result


def _best_per_frame(scores) -> np.ndarray:
    """Each frame's best candidate by its own labels (the per-frame ceiling)."""
    return np.asarray(scores.per_frame['labels']).argmax(axis=1)


def run_seed(cfg, layout: JobLayout, *, progress=print) -> Dict[str, dict]:
    """Every scenario of one work dir; writes ``routing/routing.json`` there."""
    import cv2
    from mmseg.registry import DATASETS
    from mmengine.registry import init_default_scope

    from mtda.apis import merge_checkpoints
    from mtda.apis.route import load_candidates
    from mtda.merging.files import MergeSpec
    from mtda.routing.scoring import score_candidates

    init_default_scope('mmseg')
    out = layout.root / 'routing'
    results = {}
    for scenario in scenarios():
        experts = {t: layout.stage_one_weights(t) for t in scenario['experts']}
        for path in experts.values():
            if not path.is_file():
                raise MtdaError(f'{path}: no stage-one model; run tools/run_mtda.py for this seed '
                                'first')
        merged = out / f'merged_without_{scenario["domain"]}.pth'
        if not merged.is_file():
            merge_checkpoints(cfg, MergeSpec(list(experts.values()), out=merged), evaluate=False,
                              progress=False)
        models = load_candidates(cfg, {**{t: str(p) for t, p in experts.items()},
                                       MERGED: str(merged)})
        dataset = DATASETS.build(cfg.test_cfg.domains[scenario['domain']])
        items = [dataset.get_data_info(i) for i in range(len(dataset))]
        if scenario['condition']:
            items = [i for i in items if f'/{scenario["condition"]}/' in i['img_path']]
        labels = {Path(i['img_path']).stem: i['seg_map_path'] for i in items}
        frames = ((Path(i['img_path']).stem, cv2.imread(i['img_path'], cv2.IMREAD_COLOR))
                  for i in items)
        scores = score_candidates(models, frames,
                                  labels=lambda name: cv2.imread(labels[name],
                                                                 cv2.IMREAD_UNCHANGED))
        results[scenario['name']] = dict(scenario_result(scores), frames=len(items))
        progress(f'{layout.root.name} {scenario["name"]}: ' + ', '.join(
            f'{c} → {r["pick"]}' for c, r in results[scenario['name']]['criteria'].items())
            + f' (best {results[scenario["name"]]["best"]})')
    atomic_write_bytes(out / 'routing.json', (json.dumps(results, indent=1) + '\n').encode())
    return results


def summarise(per_seed: Mapping[str, Mapping[str, dict]]) -> dict:
    """Accuracy and regret of each criterion over scenarios and seeds; routed mIoU per scenario."""
    summary = dict(criteria={}, scenarios={})
    for criterion in LABEL_FREE:
        rows = [r['criteria'][criterion] for seed in per_seed.values() for r in seed.values()]
        per_seed_accuracy = [mean(r['criteria'][criterion]['correct'] for r in seed.values())
                             for seed in per_seed.values()]
        summary['criteria'][criterion] = dict(
            accuracy=mean(r['correct'] for r in rows), accuracy_by_seed=per_seed_accuracy,
            regret=mean(r['regret'] for r in rows),
            regret_std=stdev([r['regret'] for r in rows]) if len(rows) > 1 else 0.0)
    names = next(iter(per_seed.values())).keys()
    for name in names:
        rows = [seed[name] for seed in per_seed.values()]
        summary['scenarios'][name] = dict(
            best_single=_stats([max(v for c, v in zip(r['candidates'], r['true_miou'])
                                    if c != MERGED) for r in rows]),
            merged=_stats([r['merged_miou'] for r in rows]),
            frame_oracle=_stats([r['frame_oracle_miou'] for r in rows]),
            **{f'{c} per domain': _stats([r['criteria'][c]['per_domain_miou'] for r in rows])
               for c in LABEL_FREE},
            **{f'{c} per frame': _stats([r['criteria'][c]['per_frame_miou'] for r in rows])
               for c in LABEL_FREE})
    return summary


def _stats(values: Sequence[float]) -> List[float]:
    return [mean(values), stdev(values) if len(values) > 1 else 0.0]


def render_markdown(summary: Mapping, seeds: int) -> str:
    lines = [f'## Routing a held-out domain ({seeds} seed(s); mean ± std)', '',
             '| criterion | picks the best candidate | regret (mIoU) |', '|---|---|---|']
    for criterion, row in summary['criteria'].items():
        lines.append(f'| {criterion} | {100 * row["accuracy"]:.0f} % | '
                     f'{row["regret"]:.1f} ± {row["regret_std"]:.1f} |')
    columns = ['best_single', 'merged', *[f'{c} per domain' for c in LABEL_FREE],
               *[f'{c} per frame' for c in LABEL_FREE], 'frame_oracle']
    lines += ['', '**mIoU on the held-out domain** (best single: the best expert in hindsight; '
              'frame oracle: each frame to its best candidate by its labels)', '',
              '| held out | ' + ' | '.join(c.replace('_', ' ') for c in columns) + ' |',
              '|---|' + '---|' * len(columns)]
    for name, row in summary['scenarios'].items():
        lines.append(f'| {name} | ' + ' | '.join(f'{row[c][0]:.1f} ± {row[c][1]:.1f}'
                                                 for c in columns) + ' |')
    return '\n'.join(lines) + '\n'
