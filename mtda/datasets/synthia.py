"""SYNTHIA-RAND-CITYSCAPES: ``RGB/%07d.png`` + ``GT/LABELS/%07d_labelTrainIds.png``.

The raw labels are 16-bit 3-channel PNGs with the SYNTHIA class id in R;
``tools/convert_datasets/synthia.py`` writes the trainId files read here. Terrain, truck and train
never occur, so SYNTHIA-source results are also reported as mIoU16 and mIoU13 over the class
subsets in :mod:`mtda.datasets.label_maps` (see :mod:`mtda.evaluation.results`).
"""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .label_maps import METAINFO


@DATASETS.register_module()
class SynthiaDataset(BaseSegDataset):
    """SYNTHIA-RAND-CITYSCAPES with the 19 Cityscapes train classes.

    Args:
        img_suffix: image file ending (``.png``).
        seg_map_suffix: converted label ending (``_labelTrainIds.png``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS')`` ...).
    """
    METAINFO = dict(METAINFO)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
