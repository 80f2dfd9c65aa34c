"""ImageNet feature distance: keep the student's bottleneck features on "thing" pixels close to
those of the frozen ImageNet-initialised backbone.

Convention (DAFormer, Hoyer et al. CVPR 2022, ``mmseg/models/uda/dacs.py:calc_feat_dist`` and
``mmseg/utils/utils.py:downscale_label_ratio``):

* source images only, the **last** backbone stage, the frozen copy run in eval mode without
  gradients;
* the source label is reduced to the feature resolution by :func:`downscale_label_ratio`: each
  ``scale_factor x scale_factor`` block takes its most frequent value (ignore counts as a value),
  and becomes ignore when that value covers less than ``scale_min_ratio`` (0.75) of the block;
* the loss is the L2 norm of the feature difference over channels, averaged over the feature
  pixels whose reduced label is a thing class (trainIds 6, 7, 11..18), times ``lambda_`` (0.005).

DAFormer takes the mean of an empty selection (NaN) when a batch holds no thing pixel; here the
loss is then an exact zero that keeps the graph, so a batch without things neither poisons the
weights nor breaks the backward pass.

Torch only: no mmseg / mmengine import.
"""
from collections.abc import Sequence
from typing import Optional, Union

import torch
import torch.nn.functional as F


def downscale_label_ratio(labels: torch.Tensor, *, scale_factor: int, min_ratio: float,
                          num_classes: int, ignore_index: int = 255) -> torch.Tensor:
    """Reduce a label map by ``scale_factor`` with a majority vote that must reach ``min_ratio``.

    Args:
        labels: ``(N, 1, H, W)`` or ``(N, H, W)`` integer labels in ``[0, num_classes)`` or
            ``ignore_index``.
        scale_factor: the block side; the output is ``(H // scale_factor, W // scale_factor)``
            (trailing rows / columns that do not fill a block are dropped).
        min_ratio: the share of the block the winning value needs, else the block is ignored.
        num_classes: number of real classes.
        ignore_index: the ignore value, a candidate of the vote like any class.

    Returns:
        int64 labels of the input's layout (``(N, 1, h, w)`` or ``(N, h, w)``).
    """
    if scale_factor < 1:
        raise ValueError(f'scale_factor must be >= 1, got {scale_factor}')
    squeeze = labels.dim() == 3
    if squeeze:
        labels = labels.unsqueeze(1)
    if labels.dim() != 4 or labels.shape[1] != 1:
        raise ValueError(f'labels must be (N, 1, H, W) or (N, H, W), got {tuple(labels.shape)}')
    valid = (labels == ignore_index) | ((labels >= 0) & (labels < num_classes))
    message = f'labels hold values outside [0, {num_classes}) and {ignore_index}'
    if labels.device.type == 'cpu':
        if not bool(valid.all()):
            raise ValueError(message)
    else:  # checked on the device: reading the answer on the host would wait for the GPU
        torch._assert_async(valid.all(), message)
    # the ignore value votes as an extra class num_classes
    votes = torch.where(labels == ignore_index, torch.full_like(labels, num_classes), labels).long()
    one_hot = F.one_hot(votes[:, 0], num_classes + 1).permute(0, 3, 1, 2).float()
    shares = F.avg_pool2d(one_hot, kernel_size=scale_factor)
    share, winner = shares.max(dim=1, keepdim=True)
    winner.masked_fill_((winner == num_classes) | (share < min_ratio), ignore_index)
    return winner[:, 0] if squeeze else winner


def feature_distance_loss(student_feat: torch.Tensor, frozen_feat: torch.Tensor,
                          labels: Optional[torch.Tensor], *,
                          thing_classes: Union[Sequence[int], torch.Tensor, None],
                          num_classes: int = 19, scale_min_ratio: float = 0.75,
                          lambda_: float = 0.005, ignore_index: int = 255) -> torch.Tensor:
    """``lambda_`` times the mean over thing pixels of ``||student_feat - frozen_feat||_2``.

    Args:
        student_feat: ``(N, C, h, w)`` last-stage features of the student (with gradients).
        frozen_feat: the same from the frozen ImageNet backbone; detached here.
        labels: ``(N, 1, H, W)`` or ``(N, H, W)`` source labels, ``H`` a multiple of ``h``
            (``None`` only with ``thing_classes=None``).
        thing_classes: classes whose pixels are compared (DAFormer: 6, 7, 11..18; see
            ``mtda.datasets.label_maps.THING_CLASSES``), a sequence or an integer tensor (a
            tensor on the features' device saves a host-to-device copy, which waits for the
            GPU); ``None`` compares every pixel.
        num_classes: number of real classes (the vote of :func:`downscale_label_ratio`).
        scale_min_ratio: ``min_ratio`` of :func:`downscale_label_ratio`.
        lambda_: loss weight.
        ignore_index: the label's ignore value.

    Returns:
        A scalar loss tensor (exact zero, still attached to ``student_feat``, when no pixel is
        selected).
    """
    if student_feat.shape != frozen_feat.shape:
        raise ValueError(f'feature shapes differ: {tuple(student_feat.shape)} vs '
                         f'{tuple(frozen_feat.shape)}')
    distance = torch.norm(student_feat - frozen_feat.detach(), p=2, dim=1)  # (N, h, w)
    if thing_classes is None:
        return lambda_ * distance.mean()
    if labels is None:
        raise ValueError('labels are needed to select thing_classes')
    scale_factor = labels.shape[-1] // student_feat.shape[-1]
    reduced = downscale_label_ratio(labels, scale_factor=scale_factor, min_ratio=scale_min_ratio,
                                    num_classes=num_classes, ignore_index=ignore_index)
    if reduced.dim() == 4:
        reduced = reduced[:, 0]
    if reduced.shape != distance.shape:
        raise ValueError(f'labels {tuple(labels.shape)} do not reduce to the feature map '
                         f'{tuple(student_feat.shape)} (got {tuple(reduced.shape)})')
    if not torch.is_tensor(thing_classes):
        thing_classes = list(thing_classes)
    things = torch.as_tensor(thing_classes, device=reduced.device, dtype=reduced.dtype)
    selected = torch.isin(reduced, things)
    # the mean over the selected pixels without reading their count on the host
    total = torch.where(selected, distance, torch.zeros_like(distance)).sum()
    return lambda_ * total / selected.sum().clamp_min(1)
