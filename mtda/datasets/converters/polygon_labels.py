"""Datasets annotated with polygons in Cityscapes' JSON format (Cityscapes, IDD) -> trainId PNGs.

Both ship ``gtFine/{split}/{folder}/{stem}_gtFine_polygons.json`` (``{"imgWidth", "imgHeight",
"objects": [{"label", "polygon", "deleted"?}]}``, read with cityscapesscripts'
:class:`~cityscapesscripts.helpers.annotation.Annotation`; AutoNUE's IDD toolkit uses a copy of it)
next to ``leftImg8bit/{split}/{folder}/{stem}_leftImg8bit.png``. The dataset modules supply how the
objects become a label image (:attr:`PolygonLayout.rasterize`) and what to write besides the PNGs.
"""
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Union

import numpy as np
from cityscapesscripts.helpers.annotation import Annotation

from mtda.errors import DataError

from .atomic_files import write_png_atomically
from .class_stats import class_pixel_counts
from .label_files import check_image_size, download_fix, find_label_files, require_dir
from .parallel import map_files

POLYGONS_SUFFIX = '_gtFine_polygons.json'
IMAGE_SUFFIX = '_leftImg8bit.png'


@dataclass(frozen=True)
class PolygonLayout:
    """How one polygon-annotated dataset becomes trainId PNGs.

    Args:
        name: short dataset name (``'cityscapes'``), for messages and the progress bar.
        download: what to download into the data root, for error messages.
        output_suffix: replaces ``_gtFine_polygons.json`` in the written PNG's name.
        rasterize: ``rasterize(annotation, *, path, fix)`` -> 2-D uint8 trainId array; raises
            :class:`DataError` for labels it does not know.
    """
    name: str
    download: str
    output_suffix: str
    rasterize: Callable[..., np.ndarray]


@dataclass(frozen=True)
class ConvertedLabel:
    """One converted annotation: its split, its stem relative to the split folder
    (``aachen/aachen_000000_000019``), the PNG written and that PNG's train-class pixel counts."""
    split: str
    stem: str
    label_path: Path
    class_counts: dict[int, int]


def read_polygons(path: Path, *, fix: str) -> Annotation:
    """Parse a ``_polygons.json`` file; malformed JSON or missing fields become a DataError."""
    annotation = Annotation()
    try:
        annotation.fromJsonFile(str(path))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DataError(f'cannot read polygons {path} ({type(exc).__name__}: {exc}); {fix}') from None
    if annotation.imgWidth <= 0 or annotation.imgHeight <= 0:
        raise DataError(f'polygons {path} give image size {annotation.imgWidth}x'
                        f'{annotation.imgHeight}; {fix}')
    return annotation


def convert_polygon_labels(layout: PolygonLayout, data_root: Union[str, Path], *,
                           nproc: int = 1) -> list[ConvertedLabel]:
    """Rasterize every ``gtFine/{split}/{folder}/*_gtFine_polygons.json`` beside itself."""
    data_root = Path(data_root)
    fix = download_fix(data_root, layout.download)
    gt_dir = require_dir(data_root, fix=fix, what='data root') / 'gtFine'
    polygon_files = find_label_files(gt_dir, f'*/*/*{POLYGONS_SUFFIX}', fix=fix)
    convert_one = partial(_convert_polygons, layout=layout, data_root=data_root, fix=fix)
    counts = map_files(convert_one, polygon_files, nproc=nproc, desc=f'{layout.name} polygons')
    converted = []
    for path, class_counts in zip(polygon_files, counts):
        split, folder, name = path.relative_to(gt_dir).parts
        converted.append(ConvertedLabel(split=split, stem=f'{folder}/{_stem(name)}',
                                        label_path=_output_path(path, layout), class_counts=class_counts))
    return converted


def files_per_split(converted: list[ConvertedLabel]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in converted:
        counts[label.split] = counts.get(label.split, 0) + 1
    return counts


def _stem(polygons_name: str) -> str:
    return polygons_name[:-len(POLYGONS_SUFFIX)]


def _output_path(polygons_path: Path, layout: PolygonLayout) -> Path:
    return polygons_path.with_name(_stem(polygons_path.name) + layout.output_suffix)


def _convert_polygons(path: Path, *, layout: PolygonLayout, data_root: Path, fix: str) -> dict[int, int]:
    annotation = read_polygons(path, fix=fix)
    try:
        label = layout.rasterize(annotation, path=path, fix=fix)
    except (ValueError, TypeError) as exc:  # Pillow's answer to degenerate or non-numeric points
        raise DataError(f'cannot draw the polygons of {path} ({exc}); {fix}') from None
    split, folder, name = path.relative_to(data_root / 'gtFine').parts
    image_path = data_root / 'leftImg8bit' / split / folder / (_stem(name) + IMAGE_SUFFIX)
    check_image_size(path, label.shape, image_path, required=False, fix=fix)
    write_png_atomically(_output_path(path, layout), label)
    return class_pixel_counts(label)
