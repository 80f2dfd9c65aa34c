"""GTA5 ("Playing for Data"): ``images/%05d.png`` + ``labels/%05d_labelTrainIds.png``.

The raw labels are P-mode PNGs whose palette index is the Cityscapes label id;
``tools/convert_datasets/gta.py`` writes the trainId files read here. DAFormer uses the whole set
as the labelled source (no split), and so does this class.
"""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .label_maps import METAINFO


@DATASETS.register_module()
class GTADataset(BaseSegDataset):
    """GTA5 with the 19 Cityscapes train classes.

    Args:
        img_suffix: image file ending (``.png``).
        seg_map_suffix: converted label ending (``_labelTrainIds.png``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``data_prefix=dict(img_path='images', seg_map_path='labels')``, ``pipeline`` ...).
    """
    METAINFO = dict(METAINFO)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
