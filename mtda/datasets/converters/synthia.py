"""SYNTHIA-RAND-CITYSCAPES (Ros et al. 2016): 16-bit class-id labels -> Cityscapes trainIds + RCS files.

Raw layout: ``DATA_ROOT/GT/LABELS/%07d.png`` are 16-bit, 3-channel PNGs with the class id in R and
the instance id in G. Pillow cannot decode them, so they are read with OpenCV as DAFormer's
``synthia.py`` does (``cv2.IMREAD_UNCHANGED``, channel ``[:, :, -1]`` of BGR = R); ids map to trainIds
through DAFormer's table (:data:`~mtda.datasets.label_maps.SYNTHIA_ID_TO_TRAIN_ID`).

Writes ``GT/LABELS/%07d_labelTrainIds.png`` beside each label and the three RCS JSON files in
``out_dir`` (default: the data root). A class id outside 0..22 is an error; it is checked at 16 bits,
so e.g. 300 is reported as 300.
"""
from pathlib import Path
from typing import Optional, Union

import numpy as np

from mtda.datasets.label_maps import SYNTHIA_ID_TO_TRAIN_ID
from mtda.errors import DataError

from .label_files import read_png_unchanged
from .raw_id_labels import RawIdLayout, convert_raw_id_labels
from .summary import ConversionSummary


def read_synthia_class_ids(path: Path, *, fix: str) -> np.ndarray:
    """The class-id plane (R) of a SYNTHIA label, at its stored 16-bit depth."""
    bgr = read_png_unchanged(path, fix=fix)
    if bgr.ndim != 3 or bgr.shape[2] != 3:
        raise DataError(f'label {path} has shape {bgr.shape}, expected a 3-channel SYNTHIA label '
                        f'(class id in R); {fix}')
    return bgr[:, :, -1]


LAYOUT = RawIdLayout(
    name='synthia',
    download='SYNTHIA-RAND-CITYSCAPES (synthia-dataset.net/downloads/, the contents of RAND_CITYSCAPES/)',
    label_dir='GT/LABELS',
    image_dir='RGB',
    id_name='SYNTHIA class id',
    id_to_train_id=dict(SYNTHIA_ID_TO_TRAIN_ID),
    read_ids=read_synthia_class_ids,
)


def convert(data_root: Union[str, Path], *, nproc: int = 1,
            out_dir: Optional[Union[str, Path]] = None) -> ConversionSummary:
    """Convert every ``GT/LABELS/*[0-9].png`` under ``data_root`` (see the module docstring)."""
    return convert_raw_id_labels(LAYOUT, data_root, nproc=nproc, out_dir=out_dir)
