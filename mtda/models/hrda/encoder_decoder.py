"""``HRDAEncoderDecoder``: HRDA's multi-resolution segmentor on mmseg 1.x.

Hoyer et al., "HRDA: Context-Aware High-Resolution Domain-Adaptive Semantic Segmentation", ECCV
2022 (``mmseg/models/segmentors/hrda_encoder_decoder.py``)::

    training crop (HRDA: 1024x1024 at full resolution)
      context: the whole crop at scale 0.5 -> backbone -> features ----------+
      detail:  a random hr_crop_size box (512, corners on multiples of 8)    |
               at scale 1 -> the same backbone -> features                   v
                                                    HRDAHead (scale attention fusion, loss)
    inference (encode_decode, one window of mmseg's slide inference)
      context: the window at scale 0.5; detail: the window at scale 1 in hr_crop_size windows
      (stride half of it), stitched -> fused logits at the window's size

``extract_feat`` returns the context features (HRDA's ``feature_scale`` 0.5: the ImageNet feature
distance is taken on them). ``pixel_weighted_loss`` is the training entry with pixel weights
that the UDA wrapper (:class:`mtda.models.uda.DAFormerUDA`) calls for the source, mixed and
masked images; ``loss`` is mmseg's supervised interface on top of it.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from .crops import crop, random_crop_box, slide_boxes
from .head import SlideFeatures


@MODELS.register_module()
class HRDAEncoderDecoder(EncoderDecoder):
    """HRDA's segmentor (see the module docstring).

    Args:
        backbone, decode_head, neck, train_cfg, test_cfg, data_preprocessor, pretrained,
            init_cfg: as :class:`mmseg.models.segmentors.EncoderDecoder`; ``decode_head`` is an
            :class:`~mtda.models.hrda.head.HRDAHead` (its ``scales`` are filled from here).
        scales: the context and detail scales; the detail scale is 1 (HRDA: ``[1, 0.5]``).
        hr_crop_size: the detail crop (HRDA: 512x512 of 1024x1024 training crops).
        hr_slide_inference: detail features in ``hr_crop_size`` windows at inference (HRDA:
            ``True``); ``False`` runs the whole image at once.
        hr_slide_overlapping: windows at half a crop's stride (HRDA: ``True``) or edge to edge.
        crop_coord_divisible: the detail crop's corners are multiples of it (HRDA: 8).
    """

    def __init__(self, backbone: dict, decode_head: dict, *,
                 scales: Sequence[float] = (0.5, 1.0),
                 hr_crop_size: Sequence[int] = (512, 512), hr_slide_inference: bool = True,
                 hr_slide_overlapping: bool = True, crop_coord_divisible: int = 8,
                 **kwargs) -> None:
        scales = tuple(sorted(float(s) for s in scales))
        if len(scales) != 2 or scales[1] != 1.0 or not 0 < scales[0] < 1:
            raise ValueError(f'HRDAEncoderDecoder scales must be a context scale in (0, 1) and '
                             f'the detail scale 1, e.g. [1, 0.5] (HRDA); got {list(scales)}')
        if dict(decode_head).get('type') != 'HRDAHead':
            raise ValueError("HRDAEncoderDecoder needs decode_head type 'HRDAHead'")
        if kwargs.get('auxiliary_head') is not None:
            raise ValueError('HRDAEncoderDecoder has no auxiliary head (HRDA has none)')
        super().__init__(backbone=backbone, decode_head=dict(decode_head, scales=scales),
                         **kwargs)
        self.scales = scales
        self.hr_crop_size = tuple(int(s) for s in hr_crop_size)
        self.hr_slide_inference = hr_slide_inference
        self.hr_slide_overlapping = hr_slide_overlapping
        self.crop_coord_divisible = crop_coord_divisible

    # --- features ------------------------------------------------------------------------------
    def context_input(self, inputs: torch.Tensor) -> torch.Tensor:
        """The images at the context scale (bilinear, no gradient: they are inputs)."""
        with torch.no_grad():
            return resize(inputs, scale_factor=self.scales[0], mode='bilinear',
                          align_corners=self.align_corners)

    def _backbone_features(self, inputs: torch.Tensor):
        return super().extract_feat(inputs)

    def extract_feat(self, inputs: torch.Tensor):
        """Features of the context branch (the scale the feature distance is taken at)."""
        return self._backbone_features(self.context_input(inputs))

    def _slide_features(self, inputs: torch.Tensor):
        """Detail features of the whole image: ``hr_crop_size`` windows in one backbone batch
        (HRDA's ``extract_slide_feat``), or the whole image at once."""
        if not self.hr_slide_inference:
            return self._backbone_features(inputs)
        stride = tuple(s // 2 for s in self.hr_crop_size) if self.hr_slide_overlapping \
            else self.hr_crop_size
        boxes = slide_boxes(*inputs.shape[2:], self.hr_crop_size, stride)
        windows = torch.cat([crop(inputs, box) for box in boxes])
        return SlideFeatures(self._backbone_features(windows), boxes, inputs.shape[0])

    # --- inference -----------------------------------------------------------------------------
    @property
    def size_multiple(self) -> int:
        """Image sides that put both branches' logits on one grid: the head's output stride
        over the context scale (HRDA: 4 / 0.5 = 8)."""
        return round(self.decode_head.output_stride / self.scales[0])

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Fused logits at the detail branch's output stride, of ``inputs`` zero-padded at the
        bottom and right to a multiple of :attr:`size_multiple`."""
        height, width = inputs.shape[2:]
        multiple = self.size_multiple
        inputs = F.pad(inputs, (0, -width % multiple, 0, -height % multiple))
        return self.decode_head((self.extract_feat(inputs), self._slide_features(inputs)))[0]

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas) -> torch.Tensor:
        """Fused logits at the size of ``inputs`` (one window of mmseg's slide inference, or the
        whole image); the UDA teacher's pseudo labels come from here."""
        height, width = inputs.shape[2:]
        multiple = self.size_multiple
        padded = (height + -height % multiple, width + -width % multiple)
        logits = resize(self._forward(inputs), size=padded, mode='bilinear',
                        align_corners=self.align_corners)
        return logits[..., :height, :width]

    # --- training ------------------------------------------------------------------------------
    def pixel_weighted_loss(self, inputs: torch.Tensor, label: torch.Tensor,
                            weight: Optional[torch.Tensor] = None, *,
                            with_accuracy: bool = True) -> Tuple[Dict[str, torch.Tensor], list]:
        """``(losses, context features)`` of one training pass on a random detail crop.

        Args:
            inputs: ``(B, 3, H, W)`` normalised images.
            label: ``(B, H, W)`` train ids (source labels, or mixed pseudo labels).
            weight: ``(B, H, W)`` pixel weights (pseudo-label confidence), or ``None``.
            with_accuracy: add the fused prediction's ``acc_seg``.
        """
        context = self.extract_feat(inputs)
        box = random_crop_box(*inputs.shape[2:], self.hr_crop_size,
                              divisible=self.crop_coord_divisible)
        detail = self._backbone_features(crop(inputs, box))
        logits = self.decode_head((context, detail), hr_box=box)
        losses = self.decode_head.loss_by_logits(logits, label, weight, hr_box=box,
                                                 with_accuracy=with_accuracy)
        return losses, context

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """mmseg's supervised loss (source-only and oracle runs)."""
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])[:, 0].long()
        return add_prefix(self.pixel_weighted_loss(inputs, label)[0], 'decode')
