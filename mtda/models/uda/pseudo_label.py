"""Teacher pseudo labels and their confidence weight.

Convention (DAFormer, Hoyer et al. CVPR 2022, ``mmseg/models/uda/dacs.py``; after DACS):

* the pseudo label is the argmax of the teacher's softmax over classes;
* the loss weight is one **scalar for the whole batch**: the fraction of pixels whose maximum
  probability reaches the threshold (0.968). DAFormer counts every pixel of the batch in that
  fraction, including the ones the crop margins later zero, and so does the default here;
  ``per_image=True`` takes the fraction per image instead. The segmentor broadcasts it to a
  per-pixel weight map; ClassMix then gives pasted source pixels weight 1;
* pixels near the image border are not trusted: DAFormer zeroes the weight of the top 15 and
  bottom 120 rows of its 512 crops (its reason: rectification artefacts, which make pseudo labels
  drift from sky towards building or traffic light); HRDA uses margins ``[30, 240, 30, 30]``
  (top, bottom, left, right). :func:`crop_margin_mask` builds that mask.

Torch only: no mmseg / mmengine import.
"""
from collections.abc import Sequence
from typing import Optional, Union

import torch


def pseudo_labels_and_weight(
        teacher_logits: torch.Tensor, *, threshold: float = 0.968,
        ignore_mask: Optional[torch.Tensor] = None,
        per_image: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax pseudo labels and their confidence weight from teacher logits.

    The weight is the share of pixels whose maximum softmax probability reaches ``threshold``.
    To build DAFormer's per-pixel loss weight, broadcast it over the label and zero the crop
    margins: ``weight.view(-1, 1, 1) * ~crop_margin_mask(labels.shape, margins=...)``.

    Args:
        teacher_logits: ``(N, C, H, W)`` logits (not probabilities); detached here.
        threshold: the confidence a pixel's maximum softmax probability must reach (``>=``).
        ignore_mask: optional bool mask broadcastable to ``(N, H, W)``, True on pixels left out
            of the share (e.g. padding). ``None`` counts every pixel, as DAFormer does, which
            also counts the crop margins: pass those to the weight map, not here, to keep
            DAFormer's number.
        per_image: one share per image instead of DAFormer's single batch-wide scalar.

    Returns:
        ``(labels, weight)``: ``labels`` is ``(N, H, W)`` int64; ``weight`` is a float32 scalar
        tensor, or ``(N,)`` with ``per_image`` (0 for an image without any counted pixel).
    """
    if teacher_logits.dim() != 4:
        raise ValueError(f'teacher_logits must be (N, C, H, W), got {tuple(teacher_logits.shape)}')
    # softmax in float32 at least: a 0.968 threshold is too close to 1 for float16 rounding
    probs = torch.softmax(teacher_logits.detach().float(), dim=1)
    max_prob, labels = probs.max(dim=1)
    confident = (max_prob >= threshold).float()
    counted = torch.ones_like(confident)
    if ignore_mask is not None:
        counted = counted.masked_fill(
            ignore_mask.to(device=counted.device, dtype=torch.bool), 0.0)
    dims = (1, 2) if per_image else (0, 1, 2)
    weight = (confident * counted).sum(dim=dims) / counted.sum(dim=dims).clamp_min(1.0)
    return labels, weight


def crop_margin_mask(shape: Sequence[int], *,
                     margins: Sequence[int] = (15, 120, 0, 0),
                     device: Union[str, torch.device, None] = None) -> torch.Tensor:
    """Bool ``(H, W)`` mask, True on the pixels within ``margins`` of the border.

    Args:
        shape: ``(H, W)`` of the pseudo label (the last two entries are used, so an ``(N, H, W)``
            shape works too).
        margins: ``(top, bottom, left, right)`` widths in pixels; DAFormer ``(15, 120, 0, 0)``,
            HRDA ``(30, 240, 30, 30)``. Zero means no margin on that side.
        device: where to put the mask.
    """
    height, width = int(shape[-2]), int(shape[-1])
    if len(margins) != 4 or any(m < 0 for m in margins):
        raise ValueError(f'margins must be four non-negative ints (top, bottom, left, right), '
                         f'got {tuple(margins)}')
    top, bottom, left, right = (int(m) for m in margins)
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    # explicit end indices: a slice like [-0:] would select everything
    mask[:min(top, height)] = True
    mask[max(height - bottom, 0):] = True
    mask[:, :min(left, width)] = True
    mask[:, max(width - right, 0):] = True
    return mask
