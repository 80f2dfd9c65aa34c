"""IDD segmentation (Varma et al., WACV 2019): polygons -> 19-class ``_gtFine_labelcsTrainIds.png``.

IDD's level3 ids cannot be mapped to the Cityscapes classes (several level3 classes merge labels
with different Cityscapes classes), so the masks are drawn from the polygons with each label's
``csTrainId``, as the AutoNUE toolkit does (``preperation/createLabels.py --id-type csTrainId``, which
also names the output ``*_gtFine_labelcsTrainIds.png``): a 255 background, objects painted in file
order with Pillow so later ones cover earlier ones, deleted objects skipped, and ``*group`` labels
falling back to their base name (:func:`~mtda.datasets.label_maps.idd_cs_train_id`).

Writes only the PNGs beside the JSON files; IDD is a target domain, so no RCS statistics. An unknown
label name is an error naming the file and the label.
"""
from pathlib import Path
from typing import Union

import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from PIL import Image, ImageDraw

from mtda.datasets.label_maps import IGNORE_INDEX, idd_cs_train_id
from mtda.errors import DataError

from .polygon_labels import PolygonLayout, convert_polygon_labels, files_per_split
from .summary import ConversionSummary


def rasterize_idd(annotation: Annotation, *, path: Path, fix: str) -> np.ndarray:
    """Paint the annotation's polygons with their csTrainIds onto an ignore (255) background."""
    image = Image.new('L', (annotation.imgWidth, annotation.imgHeight), IGNORE_INDEX)
    draw = ImageDraw.Draw(image)
    for obj in annotation.objects:
        if obj.deleted:
            continue
        try:
            value = idd_cs_train_id(obj.label)
        except KeyError:
            raise DataError(f'polygons {path} use label {obj.label!r}, which is not an IDD label '
                            f'(AutoNUE anue_labels.py); {fix}') from None
        draw.polygon([(point.x, point.y) for point in obj.polygon], fill=value)
    return np.asarray(image)


LAYOUT = PolygonLayout(
    name='idd',
    download=('IDD Segmentation Part I (idd-segmentation.tar.gz from idd.insaan.iiit.ac.in, the '
              'contents of IDD_Segmentation/)'),
    output_suffix='_gtFine_labelcsTrainIds.png',
    rasterize=rasterize_idd,
)


def convert(data_root: Union[str, Path], *, nproc: int = 1) -> ConversionSummary:
    """Draw ``_gtFine_labelcsTrainIds.png`` for every ``gtFine/{split}/{drive}/*_gtFine_polygons.json``."""
    converted = convert_polygon_labels(LAYOUT, data_root, nproc=nproc)
    return ConversionSummary(dataset=LAYOUT.name, data_root=Path(data_root), action='converted',
                             label_files=files_per_split(converted))
