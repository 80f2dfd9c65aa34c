"""SlimDA's label-free selection against the labelled choice, on one trained bank.

For a bank of one target (a ``configs/slimda/`` config and its stage-one export):

* the candidates are the bank's uniform widths and ``per_stage`` seeded sub-networks whose width
  stages run at different widths (:func:`mtda.apis.select_subnet.candidate_subnets`, no budget);
* every candidate has its FLOPs at the training crop, its BatchNorm statistics calibrated on a
  seeded sample of the target's unlabelled *training* frames, its UPEM against the widest width on
  those frames, and (with the same statistics) its mIoU on the target's labelled *validation*
  frames, which selection never sees;
* reported: Spearman's rank correlation between UPEM and mIoU over the candidates other than the
  anchor (a good label-free metric correlates negatively: lower UPEM, higher mIoU), and at each
  budget (a fraction of the widest width's FLOPs) UPEM's pick beside the labelled oracle's pick
  (the best mIoU within the budget) and the regret between them.
"""
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: budgets as fractions of the widest width's FLOPs
BUDGET_FRACTIONS = (0.3, 0.5, 0.7)


def target_frames(cfg, *, count: int, seed: int) -> List[Path]:
    """A seeded sample of the run's unlabelled target training frames (its UDA dataset's
    ``target``)."""
    import random

    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.train_dataloader.dataset.target)
    files = sorted(Path(dataset.get_data_info(i)['img_path']) for i in range(len(dataset)))
    return sorted(random.Random(seed).sample(files, min(count, len(files))))


def labelled_items(cfg, domain: str) -> Tuple[List[dict], int]:
    """The labelled validation items of one of the config's domains, and its class count."""
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.test_cfg.domains[domain])
    return ([dataset.get_data_info(i) for i in range(len(dataset))],
            len(dataset.metainfo['classes']))


def labelled_miou(bank, items: Sequence[dict], num_classes: int) -> float:
    """mIoU of the bank as it runs now over the validation items (confusion summed over frames,
    mmseg's convention)."""
    import cv2
    from mmseg.apis import inference_model

    from mtda.evaluation.scores import confusion_matrix, scores_from_confusion
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    for item in items:
        result = inference_model(bank, cv2.imread(item['img_path'], cv2.IMREAD_COLOR))
        label = cv2.imread(item['seg_map_path'], cv2.IMREAD_UNCHANGED)
        total += confusion_matrix(result.pred_sem_seg.data[0].cpu().numpy(), label, num_classes)
    return float(scores_from_confusion(total)['mIoU'])


def spearman(upem: Sequence[float], miou: Sequence[float]) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(upem, miou).statistic)


def budget_picks(flops: Sequence[int], upem: Sequence[float], miou: Sequence[float],
                 fractions: Sequence[float] = BUDGET_FRACTIONS) -> List[dict]:
    """UPEM's and the oracle's pick within each budget (a fraction of the largest FLOPs)."""
    from mtda.apis.select_subnet import lowest_within_budget
    rows = []
    for fraction in fractions:
        budget = fraction * max(flops)
        upem_pick = lowest_within_budget(flops, upem, budget)
        oracle_pick = lowest_within_budget(flops, [-m for m in miou], budget)
        rows.append(dict(fraction=fraction, budget_gflops=budget / 1e9,
                         fitting=sum(f <= budget for f in flops),
                         upem_pick=upem_pick, oracle_pick=oracle_pick,
                         upem_miou=miou[upem_pick], oracle_miou=miou[oracle_pick],
                         regret=miou[oracle_pick] - miou[upem_pick]))
    return rows


def run_study(cfg, bank_file, *, per_stage: int = 16, seed: int = 0, frames: int = 64,
              progress=print) -> Dict:
    """Score every candidate of one bank; returns the record :func:`render_markdown` reads."""
    from mmengine.registry import init_default_scope

    from mtda.apis.infer import load_segmentor
    from mtda.apis.select_subnet import (candidate_subnets, file_batches, subnet_flops,
                                         subnet_widths, upem_scores)

    init_default_scope('mmseg')
    bank = load_segmentor(cfg, bank_file)
    target = cfg.target_domain
    items, num_classes = labelled_items(cfg, target)
    files = target_frames(cfg, count=frames, seed=seed)
    batches = file_batches(bank, files)
    candidates = candidate_subnets(bank, per_stage=per_stage, seed=seed)
    size = tuple(bank.data_preprocessor.size)
    flops = subnet_flops(bank, candidates, size)
    anchor_index = len(bank.width_mult_list) - 1
    mious = [0.0] * len(candidates)

    def measure(index, score):  # the candidate's calibrated statistics are in place
        mious[index] = labelled_miou(bank, items, num_classes)
        widths = '/'.join(f'{w:g}' for w in subnet_widths(bank, candidates[index]))
        progress(f'{target} {widths}: {flops[index] / 1e9:.4f} GFLOPs, UPEM {score:.4f}, '
                 f'mIoU {mious[index]:.2f}')

    scores = upem_scores(bank, candidates, batches, anchor=anchor_index, on_candidate=measure)
    others = [i for i in range(len(candidates)) if i != anchor_index]
    return dict(
        target=target, bank=str(bank_file), seed=seed, frames=len(files), val_frames=len(items),
        input_size=list(size),
        candidates=[dict(widths=list(subnet_widths(bank, s)), gflops=f / 1e9, upem=u, miou=m)
                    for s, f, u, m in zip(candidates, flops, scores, mious)],
        spearman=spearman([scores[i] for i in others], [mious[i] for i in others]),
        budgets=budget_picks(flops, scores, mious))


def render_markdown(record: Dict) -> str:
    """The candidates table and the budget table of one :func:`run_study` record."""
    def widths(row):
        values = row['widths']
        return f'{values[0]:g}' if len(set(values)) == 1 else '/'.join(f'{w:g}' for w in values)

    rows = record['candidates']
    lines = [f'# SlimDA selection on {record["target"]} (seed {record["seed"]})', '',
             f'Bank `{record["bank"]}`; BatchNorm calibrated and UPEM scored on '
             f'{record["frames"]} unlabelled training frames, mIoU on {record["val_frames"]} '
             f'labelled validation frames; FLOPs at {record["input_size"][0]}x'
             f'{record["input_size"][1]}.', '',
             f'Spearman rank correlation of UPEM with mIoU over the {len(rows) - 1} candidates '
             f'other than the anchor: **{record["spearman"]:.2f}** (negative: lower UPEM, higher '
             'mIoU).', '',
             '| width per stage | GFLOPs | UPEM | mIoU |', '|---|---|---|---|']
    lines += [f'| {widths(r)} | {r["gflops"]:.4f} | {r["upem"]:.4f} | {r["miou"]:.2f} |'
              for r in rows]
    lines += ['', '| budget (of the widest) | GFLOPs | candidates within | UPEM pick | mIoU | '
              'oracle pick | mIoU | regret |', '|---|---|---|---|---|---|---|---|']
    for b in record['budgets']:
        lines.append(f'| {b["fraction"]:.0%} | {b["budget_gflops"]:.4f} | {b["fitting"]} | '
                     f'{widths(rows[b["upem_pick"]])} | {b["upem_miou"]:.2f} | '
                     f'{widths(rows[b["oracle_pick"]])} | {b["oracle_miou"]:.2f} | '
                     f'{b["regret"]:.2f} |')
    return '\n'.join(lines) + '\n'
