"""Source datasets whose labels hold one raw class id per pixel (GTA5, SYNTHIA), converted as DAFormer does.

DAFormer's ``tools/convert_datasets/{gta,synthia}.py``: every label whose name ends in a digit and
``.png`` is mapped through the dataset's id -> trainId table and saved beside it as
``<stem>_labelTrainIds.png`` (8-bit 'L'); the rare-class-sampling statistics of all converted labels
go to the data root. Matching only names that end in a digit is what keeps a re-run from reading its
own ``_labelTrainIds.png`` outputs as inputs. Differences from DAFormer: unknown ids are errors
(:mod:`.id_mapping`), each label is checked against its image's size when the image is present, and
every file is written atomically.
"""
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .atomic_files import write_png_atomically
from .class_stats import class_pixel_counts, write_rcs_files
from .id_mapping import map_to_train_ids
from .label_files import check_image_size, download_fix, find_label_files, require_dir
from .parallel import map_files
from .summary import ConversionSummary

INPUT_PATTERN = '*[0-9].png'
OUTPUT_SUFFIX = '_labelTrainIds.png'


@dataclass(frozen=True)
class RawIdLayout:
    """Where a raw-id source dataset keeps its files and how its ids are read.

    Args:
        name: short dataset name (``'gta'``), used in messages and the progress bar.
        download: what to download into the data root, for error messages.
        label_dir, image_dir: folders relative to the data root; a label and its image share a name.
        id_name: what a raw value is called in error messages (``'GTA palette index'``).
        id_to_train_id: the complete raw id -> trainId table (a plain dict, so it pickles).
        read_ids: ``read_ids(path, *, fix)`` -> 2-D unsigned array of raw ids.
    """
    name: str
    download: str
    label_dir: str
    image_dir: str
    id_name: str
    id_to_train_id: dict[int, int]
    read_ids: Callable[..., np.ndarray]


def train_id_path(label_path: Path) -> Path:
    """``labels/00001.png`` -> ``labels/00001_labelTrainIds.png``."""
    return label_path.with_name(label_path.stem + OUTPUT_SUFFIX)


def convert_raw_id_labels(layout: RawIdLayout, data_root: Union[str, Path], *, nproc: int = 1,
                          out_dir: Optional[Union[str, Path]] = None) -> ConversionSummary:
    """Write ``_labelTrainIds.png`` for every raw label, then the RCS files into ``out_dir``.

    Args:
        data_root: the dataset folder, e.g. ``data/gta``; RCS ``file`` strings start with it.
        nproc: worker processes.
        out_dir: where the RCS JSON files go; defaults to ``data_root``.
    """
    data_root = Path(data_root)
    fix = download_fix(data_root, layout.download)
    require_dir(data_root, fix=fix, what='data root')
    labels = find_label_files(data_root / layout.label_dir, INPUT_PATTERN, fix=fix)
    convert_one = partial(_convert_label, layout=layout, data_root=data_root, fix=fix)
    counts = map_files(convert_one, labels, nproc=nproc, desc=f'{layout.name} labels')
    stats = {train_id_path(label).as_posix(): c for label, c in zip(labels, counts)}
    written = write_rcs_files(stats, data_root if out_dir is None else Path(out_dir))
    return ConversionSummary(dataset=layout.name, data_root=data_root, action='converted',
                             label_files={layout.label_dir: len(labels)}, written=tuple(written))


def _convert_label(label_path: Path, *, layout: RawIdLayout, data_root: Path,
                   fix: str) -> dict[int, int]:
    raw = layout.read_ids(label_path, fix=fix)
    train_ids = map_to_train_ids(raw, id_to_train_id=layout.id_to_train_id, path=label_path,
                                 id_name=layout.id_name, fix=fix)
    check_image_size(label_path, train_ids.shape, data_root / layout.image_dir / label_path.name,
                     required=False, fix=fix)
    write_png_atomically(train_id_path(label_path), train_ids)
    return class_pixel_counts(train_ids)
