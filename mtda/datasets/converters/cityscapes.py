"""Cityscapes (Cordts et al., CVPR 2016): polygons -> ``_gtFine_labelTrainIds.png``, split lists, RCS files.

Follows DAFormer's ``tools/convert_datasets/cityscapes.py`` (and mmseg's
``tools/dataset_converters/cityscapes.py``): every ``gtFine/{split}/{city}/*_gtFine_polygons.json`` is
drawn by cityscapesscripts' ``createLabelImage(annotation, 'trainIds')`` (255 background, objects
painted in file order so later ones cover earlier ones, ``*group`` labels fall back to their base
name, deleted objects and the license plate skipped) and saved as ``*_gtFine_labelTrainIds.png``
beside it.

Also writes, into ``out_dir`` (default: the data root):

* ``{split}.txt`` for every split present, one stem per line relative to the split folder
  (``aachen/aachen_000000_000019``), usable as an mmseg ``ann_file``;
* the three RCS JSON files over the **train** split only, for Cityscapes as a source (CS -> ACDC/DZ);
  skipped when there is no train split.
"""
from pathlib import Path
from typing import Optional, Union

import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import name2label
from cityscapesscripts.preparation.json2labelImg import createLabelImage

from mtda.errors import DataError

from .atomic_files import write_text_atomically
from .class_stats import write_rcs_files
from .polygon_labels import PolygonLayout, convert_polygon_labels, files_per_split
from .summary import ConversionSummary

RCS_SPLIT = 'train'


def rasterize_cityscapes(annotation: Annotation, *, path: Path, fix: str) -> np.ndarray:
    """cityscapesscripts' trainId rendering, after checking every label name it will look up.

    ``createLabelImage`` calls ``sys.exit`` on an unknown label, so names are checked here first
    with the same ``*group`` fallback it applies.
    """
    for obj in annotation.objects:
        name = obj.label
        if name not in name2label and name.endswith('group'):
            name = name[:-len('group')]
        if not obj.deleted and name not in name2label:
            raise DataError(f'polygons {path} use label {obj.label!r}, which is not a Cityscapes label '
                            f'(cityscapesscripts.helpers.labels); {fix}')
    return np.asarray(createLabelImage(annotation, 'trainIds'))


LAYOUT = PolygonLayout(
    name='cityscapes',
    download=('Cityscapes (leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from '
              'cityscapes-dataset.com)'),
    output_suffix='_gtFine_labelTrainIds.png',
    rasterize=rasterize_cityscapes,
)


def convert(data_root: Union[str, Path], *, nproc: int = 1,
            out_dir: Optional[Union[str, Path]] = None) -> ConversionSummary:
    """Convert all splits under ``data_root/gtFine``; split lists and RCS files go to ``out_dir``."""
    converted = convert_polygon_labels(LAYOUT, data_root, nproc=nproc)
    out_dir = Path(data_root if out_dir is None else out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_split = files_per_split(converted)
    written = []
    for split in per_split:
        stems = [label.stem for label in converted if label.split == split]
        write_text_atomically(out_dir / f'{split}.txt', ''.join(f'{stem}\n' for stem in stems))
        written.append(out_dir / f'{split}.txt')
    train_stats = {label.label_path.as_posix(): label.class_counts
                   for label in converted if label.split == RCS_SPLIT}
    if train_stats:
        written += write_rcs_files(train_stats, out_dir)
    return ConversionSummary(dataset=LAYOUT.name, data_root=Path(data_root), action='converted',
                             label_files=per_split, written=tuple(written))
