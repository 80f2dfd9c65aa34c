"""Dark Zurich (Sakaridis et al., ICCV 2019): validate the shipped ``_gt_labelTrainIds.png`` files.

Only the val split has public labels: ``gt/val/night/GOPR0356/*_gt_labelTrainIds.png`` beside
``rgb_anon/val/night/GOPR0356/*_rgb_anon.png`` (``Dark_Zurich_val_anon.zip``). Labels are already
trainIds, so they are only checked (see :mod:`.shipped_train_ids`) and counted per split/condition;
nothing is written. The unlabelled ``rgb_anon/train/night`` images need no preparation.
"""
from pathlib import Path
from typing import Union

from .shipped_train_ids import ShippedLayout, validate_shipped_labels
from .summary import ConversionSummary

LAYOUT = ShippedLayout(
    name='dark_zurich',
    download=('Dark Zurich (Dark_Zurich_train_anon.zip and Dark_Zurich_val_anon.zip from '
              'trace.ethz.ch/publications/2019/GCMA_UIoU/)'),
)


def convert(data_root: Union[str, Path], *, nproc: int = 1) -> ConversionSummary:
    """Validate every Dark Zurich label under ``data_root/gt``; writes nothing."""
    return validate_shipped_labels(LAYOUT, data_root, nproc=nproc)
