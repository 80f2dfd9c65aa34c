"""ACDC (Sakaridis et al., ICCV 2021): validate the shipped ``_gt_labelTrainIds.png`` files.

Layout as downloaded (``gt_trainval.zip``, ``rgb_anon_trainvaltest.zip``):
``gt/{fog,night,rain,snow}/{train,val}/GOPRxxxx/*_gt_labelTrainIds.png`` beside
``rgb_anon/{cond}/{split}/GOPRxxxx/*_rgb_anon.png``. Labels are already trainIds, so they are only
checked (see :mod:`.shipped_train_ids`) and counted per condition/split; nothing is written.
"""
from pathlib import Path
from typing import Union

from .shipped_train_ids import ShippedLayout, validate_shipped_labels
from .summary import ConversionSummary

LAYOUT = ShippedLayout(
    name='acdc',
    download='ACDC (gt_trainval.zip and rgb_anon_trainvaltest.zip from acdc.vision.ee.ethz.ch)',
)


def convert(data_root: Union[str, Path], *, nproc: int = 1) -> ConversionSummary:
    """Validate every ACDC label under ``data_root/gt``; writes nothing."""
    return validate_shipped_labels(LAYOUT, data_root, nproc=nproc)
