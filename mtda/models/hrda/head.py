"""``HRDAHead``: HRDA's scale-attention fusion of a context and a detail prediction.

Hoyer et al., "HRDA: Context-Aware High-Resolution Domain-Adaptive Semantic Segmentation", ECCV
2022 (``mmseg/models/decode_heads/hrda_head.py``). One single-scale head (DAFormer's) predicts
both branches with shared weights; a second head of the same kind, with a 1x1-conv fusion and
``attention_embed_dims`` channels, predicts the scale attention ``a`` (per class, in (0, 1)) from
the context features. On the detail branch's grid::

    fused = up(a * [detail inserted at its crop]) + up((1 - a) * context)

where ``a`` is zero outside the detail crop during training (there is no detail there), and the
detail prediction covers the whole image at inference (sliding windows, stitched). The loss is
``(1 - lambda_d - lambda_c) * CE(fused) + lambda_d * CE(detail, the label's crop)
(+ lambda_c * CE(attenuated context))``, each cross-entropy pixel-weighted (pseudo labels) and
averaged over all pixels, as in HRDA's mmseg 0.x losses.

Parameter names follow HRDA's (``head.*``, ``scale_attention.*``), so its checkpoints map one to
one (:mod:`mtda.models.published_checkpoints`).
"""
import copy
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn

from .crops import Box, crop, scale_box, stitch


class SlideFeatures(NamedTuple):
    """Backbone features of sliding windows: ``features`` holds the windows one batch after
    another, ``boxes`` their place in the image (pixels), ``batch_size`` the images per window."""
    features: Sequence[torch.Tensor]
    boxes: Sequence[Box]
    batch_size: int


@MODELS.register_module()
class HRDAHead(BaseDecodeHead):
    """HRDA's multi-resolution head (see the module docstring).

    Args:
        single_scale_head: config of the head that predicts each branch (``DAFormerHead``; the
            paper's ResNet-101 and MiT-B5 models both use it).
        scales: ``(context, detail)`` input scales, filled by :class:`HRDAEncoderDecoder`
            (HRDA: 0.5 and 1).
        hr_loss_weight: lambda_d, the weight of the detail crop's own loss (HRDA: 0.1).
        lr_loss_weight: lambda_c, the weight of the context prediction's own loss (HRDA: 0).
        attention_embed_dims: channels of the attention head's embeddings and fusion (HRDA: 256).
        attention_classwise: one attention map per class (HRDA: ``True``) or one for all.
        output_stride: input pixels per logit of the single-scale head (DAFormer head: 4).
        init_cfg: mmengine init config (the two heads initialise themselves).
    """

    def __init__(self, single_scale_head: dict, *, scales: Sequence[float] = (0.5, 1.0),
                 hr_loss_weight: float = 0.1, lr_loss_weight: float = 0.0,
                 attention_embed_dims: int = 256, attention_classwise: bool = True,
                 output_stride: int = 4, init_cfg: Optional[dict] = None) -> None:
        head_cfg = copy.deepcopy(dict(single_scale_head))
        if head_cfg.get('type') != 'DAFormerHead':
            raise ValueError(f"HRDAHead supports single_scale_head type 'DAFormerHead' (the "
                             f"paper's decoder), got {head_cfg.get('type')!r}")
        if hr_loss_weight < 0 or lr_loss_weight < 0 or hr_loss_weight + lr_loss_weight >= 1:
            raise ValueError('HRDAHead needs hr_loss_weight, lr_loss_weight >= 0 with a sum < 1, '
                             f'got {hr_loss_weight} and {lr_loss_weight}')
        shared = {k: head_cfg[k] for k in ('num_classes', 'align_corners', 'ignore_index',
                                           'loss_decode') if k in head_cfg}
        super().__init__(in_channels=list(head_cfg['in_channels']),
                         channels=head_cfg.get('channels', 256),
                         in_index=list(head_cfg.get('in_index', range(len(head_cfg['in_channels'])))),
                         input_transform='multiple_select', init_cfg=init_cfg, **shared)
        del self.conv_seg, self.dropout  # the two heads classify
        self.head = MODELS.build(head_cfg)
        attention_cfg = dict(head_cfg, channels=attention_embed_dims,
                             embed_dims=attention_embed_dims, fusion='conv')
        attention_cfg.pop('dilations', None)
        if not attention_classwise:
            # one sigmoid map; mmseg asks a threshold of one-channel heads, which is never used
            attention_cfg.update(num_classes=1, threshold=0.5)
        self.scale_attention = MODELS.build(attention_cfg)
        self.scales = tuple(float(s) for s in scales)
        if len(self.scales) != 2 or not self.scales[0] < self.scales[1]:
            raise ValueError(f'HRDAHead scales must be (context, detail) with context < detail, '
                             f'got {scales}')
        self.hr_loss_weight = hr_loss_weight
        self.lr_loss_weight = lr_loss_weight
        self.output_stride = output_stride

    @property
    def detail_ratio(self) -> float:
        """How many times finer the detail branch's grid is than the context branch's."""
        return self.scales[1] / self.scales[0]

    def _detail_logits(self, detail) -> torch.Tensor:
        if not isinstance(detail, SlideFeatures):
            return self.head(detail)
        boxes = [scale_box(box, self.output_stride) for box in detail.boxes]
        return stitch(self.head(detail.features), boxes, detail.batch_size)

    def forward(self, inputs, hr_box: Optional[Box] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(fused, attenuated context, detail)`` logits from ``inputs = (context features,
        detail features)``; ``hr_box`` is the detail crop in detail-image pixels (training), or
        ``None`` when the detail features cover the whole image (a list, or
        :class:`SlideFeatures`)."""
        context, detail = inputs
        lr_seg = self.head(context)
        hr_seg = self._detail_logits(detail)
        attention = torch.sigmoid(self.scale_attention(context))
        if hr_box is not None:  # no detail outside the crop: the context decides there
            y1, y2, x1, x2 = scale_box(hr_box, self.output_stride * self.detail_ratio)
            inside = torch.zeros_like(attention[:, :1])
            inside[..., y1:y2, x1:x2] = 1
            attention = attention * inside
        lr_seg = (1 - attention) * lr_seg
        size = tuple(int(s * self.detail_ratio) for s in lr_seg.shape[2:])
        up_lr_seg = resize(lr_seg, size=size, mode='bilinear', align_corners=self.align_corners)
        attention = resize(attention, size=size, mode='bilinear', align_corners=self.align_corners)
        if hr_box is not None:
            y1, y2, x1, x2 = scale_box(hr_box, self.output_stride)
            inserted = torch.zeros_like(up_lr_seg)
            inserted[..., y1:y2, x1:x2] = hr_seg
        elif hr_seg.shape[2:] != up_lr_seg.shape[2:]:
            raise ValueError(f'HRDA: the detail logits are {tuple(hr_seg.shape[2:])} but the '
                             f'context logits upsampled are {size}; the input side must be a '
                             'multiple of output_stride / context scale')
        else:
            inserted = hr_seg
        return attention * inserted + up_lr_seg, lr_seg, hr_seg

    def predict(self, inputs, batch_img_metas, test_cfg) -> torch.Tensor:
        return self.predict_by_feat(self.forward(inputs)[0], batch_img_metas)

    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        raise NotImplementedError('HRDAHead losses need the detail crop: train through '
                                  'HRDAEncoderDecoder.loss / pixel_weighted_loss')

    def _pixel_losses(self, logits: torch.Tensor, label: torch.Tensor,
                      weight: Optional[torch.Tensor], with_accuracy: bool) -> Dict[str, torch.Tensor]:
        logits = resize(logits, size=label.shape[-2:], mode='bilinear',
                        align_corners=self.align_corners)
        losses = {}
        modules = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) \
            else [self.loss_decode]
        for module in modules:
            value = module(logits, label, weight=weight, ignore_index=self.ignore_index)
            losses[module.loss_name] = losses.get(module.loss_name, 0) + value
        if with_accuracy:
            losses['acc_seg'] = accuracy(logits, label, ignore_index=self.ignore_index)
        return losses

    def loss_by_logits(self, logits, label: torch.Tensor, weight: Optional[torch.Tensor] = None,
                       hr_box: Optional[Box] = None, *,
                       with_accuracy: bool = True) -> Dict[str, torch.Tensor]:
        """HRDA's weighted sum of the fused, detail (and context) losses.

        Args:
            logits: :meth:`forward`'s triple.
            label: ``(B, H, W)`` train ids of the detail-scale image.
            weight: ``(B, H, W)`` pixel weights (pseudo-label confidence), or ``None``.
            hr_box: the detail crop, in label pixels.
            with_accuracy: add ``acc_seg`` of the fused prediction (mmseg's convention).
        """
        fused, lr_seg, hr_seg = logits
        weights = {'': 1 - self.hr_loss_weight - self.lr_loss_weight}
        terms = {'': self._pixel_losses(fused, label, weight, with_accuracy)}
        if self.hr_loss_weight > 0:
            box = hr_box or (0, label.shape[-2], 0, label.shape[-1])
            terms['hr.'] = self._pixel_losses(
                hr_seg, crop(label, box), None if weight is None else crop(weight, box), False)
            weights['hr.'] = self.hr_loss_weight
        if self.lr_loss_weight > 0:
            terms['lr.'] = self._pixel_losses(lr_seg, label, weight, False)
            weights['lr.'] = self.lr_loss_weight
        return {f'{prefix}{name}': value * weights[prefix] if name.startswith('loss') else value
                for prefix, losses in terms.items() for name, value in losses.items()}
