"""HRDA's pseudo-label margins on the uncropped target image ("pseudo-label cropping v2").

DAFormer leaves the top 15 and bottom 120 rows of every target *crop* out of the pseudo-label
weight (:func:`mtda.models.uda.pseudo_label.crop_margin_mask`). HRDA
(``lhoyer/HRDA``, ``mmseg/datasets/uda_dataset.py`` and its configs' ``crop_pseudo_margins``)
marks the margins on the *image* before it is cropped, so that a margin only counts where the crop
touches the image border: :class:`PseudoLabelMargins` writes that map (1 trusted, 0 margin) as a
segmentation field, which mmseg's ``RandomCrop`` / ``RandomFlip`` then cut and flip with the image,
and :class:`PackTargetInputs` packs it as the data sample's ``pseudo_trusted``; the UDA wrapper
multiplies the pseudo-label weight by it.
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

FIELD = 'pseudo_margin_map'


@TRANSFORMS.register_module()
class PseudoLabelMargins(BaseTransform):
    """Mark ``margins`` pixels of the image as untrusted for pseudo labels, before cropping.

    Args:
        margins: ``(top, bottom, left, right)`` in pixels of the image as it is now (put the
            transform after ``Resize``); HRDA: ``(30, 240, 30, 30)`` at full resolution.
    """

    def __init__(self, margins=(30, 240, 30, 30)) -> None:
        if len(margins) != 4 or any(int(m) < 0 for m in margins):
            raise ValueError(f'PseudoLabelMargins needs four non-negative margins (top, bottom, '
                             f'left, right), got {tuple(margins)}')
        self.margins = tuple(int(m) for m in margins)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        top, bottom, left, right = self.margins
        trusted = np.zeros((height, width), dtype=np.uint8)
        trusted[top:max(height - bottom, top), left:max(width - right, left)] = 1
        results[FIELD] = trusted
        results.setdefault('seg_fields', [])
        if FIELD not in results['seg_fields']:
            results['seg_fields'].append(FIELD)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(margins={self.margins})'


@TRANSFORMS.register_module()
class PackTargetInputs(PackSegInputs):
    """mmseg's ``PackSegInputs``, plus the :class:`PseudoLabelMargins` map as the sample's
    ``pseudo_trusted`` (``(1, H, W)`` bool) when the pipeline made one."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if FIELD in results:
            trusted = torch.from_numpy(np.ascontiguousarray(results[FIELD])).bool()[None]
            packed['data_samples'].set_field(PixelData(data=trusted), 'pseudo_trusted')
        return packed
