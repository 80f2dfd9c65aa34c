"""GTA5 ("Playing for Data", Richter et al. 2016): palette labels -> Cityscapes trainIds + RCS files.

Raw layout: ``DATA_ROOT/labels/%05d.png`` are P-mode PNGs whose palette *index* is the Cityscapes
label id (the palette only colours them), read as indices like DAFormer's ``gta.py``; ids map to
trainIds through cityscapesscripts' table (:data:`~mtda.datasets.label_maps.GTA_ID_TO_TRAIN_ID`).

Writes ``labels/%05d_labelTrainIds.png`` beside each label and ``sample_class_stats.json``,
``sample_class_stats_dict.json``, ``samples_with_class.json`` in ``out_dir`` (default: the data root).
An index that is not a Cityscapes id (34..255) is an error.
"""
from pathlib import Path
from typing import Optional, Union

from mtda.datasets.label_maps import GTA_ID_TO_TRAIN_ID

from .label_files import read_png_indices
from .raw_id_labels import RawIdLayout, convert_raw_id_labels
from .summary import ConversionSummary

LAYOUT = RawIdLayout(
    name='gta',
    download='GTA5 (01_images.zip ... 10_labels.zip from download.visinf.tu-darmstadt.de/data/from_games/)',
    label_dir='labels',
    image_dir='images',
    id_name='GTA palette index',
    id_to_train_id=dict(GTA_ID_TO_TRAIN_ID),
    read_ids=read_png_indices,
)


def convert(data_root: Union[str, Path], *, nproc: int = 1,
            out_dir: Optional[Union[str, Path]] = None) -> ConversionSummary:
    """Convert every ``labels/*[0-9].png`` under ``data_root`` (see the module docstring)."""
    return convert_raw_id_labels(LAYOUT, data_root, nproc=nproc, out_dir=out_dir)
