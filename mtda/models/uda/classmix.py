"""DACS ClassMix: paste the pixels of half of the source classes onto the target image.

Convention (DACS, Tranheden et al. WACV 2021; DAFormer ``mmseg/models/utils/dacs_transforms.py``):

* for every image of the batch, ``ceil(n / 2)`` of ``n`` candidate classes are drawn without
  replacement (DAFormer writes it ``int((n + n % 2) / 2)``; note that Python's ``round(n / 2)``
  would differ for odd ``n``, e.g. 2 instead of 3 for n = 5), and the mask is the source pixels of
  those classes;
* the candidate classes come from the **whole batch**: DAFormer calls ``torch.unique`` on all
  labels of the batch inside its per-image loop (DAFormer issue #19), so an image may draw classes
  it does not contain and paste fewer than half of its own. That is the default here
  (``per_sample=False``); ``per_sample=True`` draws from each image's own classes as DACS describes;
* DAFormer keeps the ignore value (255) among the candidates, so "ignore" regions of the source
  label can be pasted (their mixed label stays ignore). ``ignore_index=None`` keeps that
  behaviour; pass 255 to leave ignore pixels out of the draw.

:func:`mix` applies one mask to images, labels and weight maps alike.

Torch only: no mmseg / mmengine import.
"""
from typing import Optional

import torch


def _draw_half(classes: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    """``ceil(len(classes) / 2)`` entries of ``classes``, drawn without replacement."""
    count = classes.numel()
    device = generator.device if generator is not None else torch.device('cpu')
    order = torch.randperm(count, generator=generator, device=device).to(classes.device)
    return classes[order[:(count + 1) // 2]]


def class_mix_masks(source_labels: torch.Tensor, *, generator: Optional[torch.Generator] = None,
                    per_sample: bool = False,
                    ignore_index: Optional[int] = None) -> torch.Tensor:
    """Bool masks of the source pixels to paste, one per image.

    Args:
        source_labels: ``(N, H, W)`` or ``(N, 1, H, W)`` integer source labels.
        generator: random source for the class draw (``None``: torch's global generator).
        per_sample: draw from each image's own classes instead of DAFormer's batch-wide set.
        ignore_index: a label value never drawn; ``None`` (DAFormer) treats every value alike.

    Returns:
        A bool tensor of the shape of ``source_labels``, True where the source is pasted.
    """
    if source_labels.dim() not in (3, 4) or (source_labels.dim() == 4
                                             and source_labels.shape[1] != 1):
        raise ValueError(f'source_labels must be (N, H, W) or (N, 1, H, W), '
                         f'got {tuple(source_labels.shape)}')

    def candidates(labels: torch.Tensor) -> torch.Tensor:
        classes = torch.unique(labels)
        return classes if ignore_index is None else classes[classes != ignore_index]

    batch_classes = None if per_sample else candidates(source_labels)
    masks = []
    for label in source_labels:
        chosen = _draw_half(candidates(label) if per_sample else batch_classes, generator)
        masks.append(torch.isin(label, chosen))
    return torch.stack(masks)


def mix(mask: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``source`` where ``mask`` is True, else ``target``.

    Args:
        mask: bool ``(N, H, W)`` or ``(N, 1, H, W)`` from :func:`class_mix_masks`.
        source: ``(N, C, H, W)`` images or ``(N, H, W)`` / ``(N, 1, H, W)`` labels or weights.
        target: same shape as ``source``; the result takes its dtype promotion from both.
    """
    if source.shape != target.shape:
        raise ValueError(f'source {tuple(source.shape)} and target {tuple(target.shape)} differ')
    if mask.dim() == 4:
        mask = mask[:, 0]
    if mask.shape != (source.shape[0], *source.shape[-2:]):
        raise ValueError(f'mask {tuple(mask.shape)} does not match {tuple(source.shape)}')
    if source.dim() == 4:  # one mask for all channels
        mask = mask.unsqueeze(1)
    return torch.where(mask.to(torch.bool), source, target)
