"""Segmentation scores from accumulated pixel counts, and the harmonic mean over domains.

Pure numpy. Conventions (docs/results_files.md, mmseg's IoUMetric): IoU and accuracy are
percentages; a class whose union is empty (absent from both prediction and ground truth) has IoU NaN
and is left out of the mean (``nanmean``); the H-mean of per-domain mIoUs is n / sum(1 / mIoU_i), and
0 if any is 0.
"""
import math
from typing import Dict, Iterable, Sequence

import numpy as np


def confusion_matrix(pred: np.ndarray, label: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """``(num_classes, num_classes)`` counts, rows = ground truth, columns = prediction."""
    keep = label != ignore_index
    index = label[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def scores_from_areas(intersect: Sequence[float], union: Sequence[float],
                      label_area: Sequence[float]) -> Dict[str, object]:
    """aAcc, mIoU, mAcc (percent) and the per-class IoU vector (percent, NaN = class absent).

    Args:
        intersect: per-class |pred ∩ gt| pixels, summed over the data set.
        union: per-class |pred ∪ gt| pixels.
        label_area: per-class |gt| pixels.
    """
    intersect, union, label_area = (np.asarray(a, dtype=np.float64)
                                    for a in (intersect, union, label_area))
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, intersect / union, np.nan) * 100
        acc = np.where(label_area > 0, intersect / label_area, np.nan) * 100
    total = label_area.sum()
    return dict(
        aAcc=float(intersect.sum() / total * 100) if total > 0 else float('nan'),
        mIoU=nanmean(iou), mAcc=nanmean(acc), IoU=iou)


def scores_from_confusion(matrix: np.ndarray) -> Dict[str, object]:
    """:func:`scores_from_areas` for a confusion matrix (rows = ground truth)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    intersect = np.diag(matrix)
    label_area = matrix.sum(axis=1)
    union = label_area + matrix.sum(axis=0) - intersect
    return scores_from_areas(intersect, union, label_area)


def nanmean(values: Iterable[float]) -> float:
    """Mean over the finite entries; NaN if there are none."""
    values = np.asarray(list(values), dtype=np.float64)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def harmonic_mean(values: Iterable[float]) -> float:
    """n / sum(1/v): 0 if any value is 0, NaN if any is NaN or the input is empty."""
    values = [float(v) for v in values]
    if not values or any(math.isnan(v) for v in values):
        return float('nan')
    if any(v <= 0 for v in values):
        return 0.0
    return len(values) / sum(1.0 / v for v in values)
