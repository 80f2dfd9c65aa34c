"""IDD (India Driving Dataset, segmentation Part I) in its downloaded Cityscapes-like tree.

``leftImg8bit/{split}/{drive}/{%06d}_leftImg8bit.png`` with labels generated from the shipped
``_gtFine_polygons.json`` by ``tools/convert_datasets/idd.py`` into the AutoNUE toolkit's
``_gtFine_labelcsTrainIds.png`` (the official IDD -> Cityscapes-19 column; a level3 map cannot be
used, see :mod:`mtda.datasets.label_maps`).
"""
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class IDDDataset(CityscapesDataset):
    """IDD with csTrainId labels (19 Cityscapes classes).

    Args:
        img_suffix: image ending (``_leftImg8bit.png``).
        seg_map_suffix: generated label ending (``_gtFine_labelcsTrainIds.png``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments.
    """

    def __init__(self, img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelcsTrainIds.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
