"""Datasets whose labels ship as trainIds (ACDC, Dark Zurich): validated in place, never rewritten.

Both ship ``gt/{a}/{b}/{sequence}/{stem}_gt_labelTrainIds.png`` beside the image
``rgb_anon/{a}/{b}/{sequence}/{stem}_rgb_anon.png`` (ACDC: ``{a}/{b}`` = condition/split; Dark
Zurich: split/condition), read as-is by DAFormer's and mmseg's dataset classes. Nothing needs
converting, so the "converter" checks what training and evaluation rely on: every label is an 8-bit
single-channel PNG (mode L or P) with values in 0..18 and 255, and has an image of the same size.
It writes nothing (these are target domains: no RCS statistics), so re-running it is trivially
idempotent.
"""
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Union

from .id_mapping import check_train_ids
from .label_files import (check_image_size, download_fix, find_label_files, read_png_indices,
                          require_dir)
from .parallel import map_files
from .summary import ConversionSummary

LABEL_SUFFIX = '_gt_labelTrainIds.png'
IMAGE_SUFFIX = '_rgb_anon.png'


@dataclass(frozen=True)
class ShippedLayout:
    """Args: name (``'acdc'``) and download (what to put into the data root), for messages."""
    name: str
    download: str


def validate_shipped_labels(layout: ShippedLayout, data_root: Union[str, Path], *,
                            nproc: int = 1) -> ConversionSummary:
    """Check every ``gt/*/*/*/*_gt_labelTrainIds.png``; counts are grouped by the two folders under ``gt``."""
    data_root = Path(data_root)
    fix = download_fix(data_root, layout.download)
    gt_dir = require_dir(data_root, fix=fix, what='data root') / 'gt'
    labels = find_label_files(gt_dir, f'*/*/*/*{LABEL_SUFFIX}', fix=fix)
    map_files(partial(_validate_label, data_root=data_root, fix=fix), labels, nproc=nproc,
              desc=f'{layout.name} labels')
    per_group: dict[str, int] = {}
    for label in labels:
        group = '/'.join(label.relative_to(gt_dir).parts[:2])
        per_group[group] = per_group.get(group, 0) + 1
    return ConversionSummary(dataset=layout.name, data_root=data_root, action='validated',
                             label_files=per_group)


def _validate_label(label_path: Path, *, data_root: Path, fix: str) -> None:
    label = read_png_indices(label_path, fix=fix)
    check_train_ids(label, path=label_path, fix=fix)
    relative = label_path.relative_to(data_root / 'gt')
    image_name = relative.name[:-len(LABEL_SUFFIX)] + IMAGE_SUFFIX
    check_image_size(label_path, label.shape, data_root / 'rgb_anon' / relative.parent / image_name,
                     required=True, fix=fix)
