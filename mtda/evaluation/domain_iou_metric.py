"""``DomainIoUMetric``: mmseg's IoUMetric that also returns the per-class IoU vector.

mmseg's metric computes per-class IoU only to print a table; the results files
(docs/results_files.md) need the numbers themselves. Accumulation (``process``, including
``output_dir`` for saving predictions) is mmseg's; only the reduction is replaced by
:func:`mtda.evaluation.scores.scores_from_areas`.
"""
from collections import OrderedDict
from typing import Dict

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

from .scores import scores_from_areas


@METRICS.register_module()
class DomainIoUMetric(IoUMetric):
    """IoUMetric returning ``aAcc``, ``mIoU``, ``mAcc``, ``num_images`` and ``IoU.<class>``.

    Args:
        **kwargs: :class:`mmseg.evaluation.IoUMetric` arguments (``ignore_index``,
            ``output_dir`` to save predictions as trainId PNGs, ...).
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self.format_only:
            return OrderedDict()
        areas = [np.sum([r[i].cpu().numpy() for r in results], axis=0) for i in range(4)]
        intersect, union, _, label_area = areas
        scores = scores_from_areas(intersect, union, label_area)
        metrics = OrderedDict(aAcc=scores['aAcc'], mIoU=scores['mIoU'], mAcc=scores['mAcc'],
                              num_images=len(results))
        for name, iou in zip(self.dataset_meta['classes'], scores['IoU']):
            metrics[f'IoU.{name}'] = float(iou)
        return metrics
