"""ACDC (Adverse Conditions Dataset with Correspondences), read in the tree users download.

Downloaded layout: ``rgb_anon/{cond}/{split}/GOPRxxxx/{stem}_rgb_anon.png`` and
``gt/{cond}/{split}/GOPRxxxx/{stem}_gt_labelTrainIds.png`` (trainIds as shipped). DAFormer rsyncs
the four conditions into flat ``rgb_anon/{split}`` folders first; here ``conditions`` and ``split``
select the folders directly, so no restructuring is needed (``{split}_ref`` correspondence folders
are siblings and never scanned). With ``conditions=None`` the class behaves like DAFormer's and
scans ``data_prefix`` recursively (for an already flattened tree).
"""
import os.path as osp
from typing import List, Optional, Sequence

from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

ACDC_CONDITIONS = ('fog', 'night', 'rain', 'snow')


@DATASETS.register_module()
class ACDCDataset(CityscapesDataset):
    """ACDC with trainId labels (19 Cityscapes classes).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``; the folder under each condition.
        conditions: the weather/illumination folders to read, default all four; ``None`` scans
            ``data_prefix`` as given.
        img_suffix: image ending (``_rgb_anon.png``).
        seg_map_suffix: label ending (``_gt_labelTrainIds.png``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments, with
            ``data_prefix=dict(img_path='rgb_anon', seg_map_path='gt')``.
    """

    def __init__(self, split: str = 'val', conditions: Optional[Sequence[str]] = ACDC_CONDITIONS,
                 img_suffix: str = '_rgb_anon.png', seg_map_suffix: str = '_gt_labelTrainIds.png',
                 **kwargs) -> None:
        self.split = split
        self.conditions = tuple(conditions) if conditions is not None else None
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        if self.conditions is None:
            return super().load_data_list()
        prefix = dict(self.data_prefix)
        data_list = []
        try:
            for condition in self.conditions:
                self.data_prefix = {key: osp.join(path, condition, self.split) if path else path
                                    for key, path in prefix.items()}
                data_list += super().load_data_list()
        finally:
            self.data_prefix = prefix
        return sorted(data_list, key=lambda info: info['img_path'])
