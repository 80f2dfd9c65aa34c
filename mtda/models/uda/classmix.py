"""DACS ClassMix: paste the pixels of half of the source classes onto the target image.

Convention (DACS, Tranheden et al. WACV 2021; DAFormer ``mmseg/models/utils/dacs_transforms.py``):

* for every image of the batch, ``ceil(n / 2)`` of ``n`` candidate classes are drawn uniformly
  without replacement (DAFormer writes it ``int((n + n % 2) / 2)``; note that Python's
  ``round(n / 2)`` would differ for odd ``n``, e.g. 2 instead of 3 for n = 5), and the mask is the
  source pixels of those classes. DAFormer draws with ``torch.randperm`` over ``torch.unique``'s
  classes; here the same distribution comes from ranking random keys, which needs no host sync
  (the draws themselves differ from DAFormer's for the same seed);
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


def _half_of_present(present: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Bool table like ``keys``: ``ceil(n / 2)`` of each row's ``n`` present values, uniformly.

    The values ranked by ``keys`` (i.i.d. uniform draws, absent values last) are a uniform random
    order of the present ones, so their first ``ceil(n / 2)`` are a uniform draw without
    replacement: what ``randperm(n)[:ceil(n / 2)]`` over the sorted classes gives, without reading
    ``n`` on the host.
    """
    keys = keys.masked_fill(~present, 2.0)  # after every draw in [0, 1)
    rank = keys.argsort(dim=-1).argsort(dim=-1)
    wanted = (present.sum(dim=-1, keepdim=True) + 1) // 2
    return present & (rank < wanted)


def class_mix_masks(source_labels: torch.Tensor, *, generator: Optional[torch.Generator] = None,
                    per_sample: bool = False, ignore_index: Optional[int] = None,
                    num_values: int = 256) -> torch.Tensor:
    """Bool masks of the source pixels to paste, one per image.

    No value of the labels is read on the host: the class sets are tables of ``num_values``
    booleans and the draw ranks random keys (:func:`_half_of_present`), so on a GPU the draw
    queues its kernels without waiting for the labels.

    Args:
        source_labels: ``(N, H, W)`` or ``(N, 1, H, W)`` integer source labels with values in
            ``[0, num_values)``.
        generator: random source for the class draw (``None``: torch's global generator of the
            labels' device; a generator on another device draws there and the keys are copied).
        per_sample: draw from each image's own classes instead of DAFormer's batch-wide set.
        ignore_index: a label value never drawn; ``None`` (DAFormer) treats every value alike.
        num_values: one more than the largest label value (256: uint8 labels, ignore 255).

    Returns:
        A bool tensor of the shape of ``source_labels``, True where the source is pasted.
    """
    if source_labels.dim() not in (3, 4) or (source_labels.dim() == 4
                                             and source_labels.shape[1] != 1):
        raise ValueError(f'source_labels must be (N, H, W) or (N, 1, H, W), '
                         f'got {tuple(source_labels.shape)}')
    count = source_labels.shape[0]
    flat = source_labels.reshape(count, -1).long()
    # present[i, v]: value v occurs in image i (per_sample) or anywhere in the batch
    present = torch.zeros(count, num_values, dtype=torch.bool, device=flat.device)
    present.scatter_(1, flat, True)
    if not per_sample:
        present = present.any(dim=0, keepdim=True).expand(count, -1)
    if ignore_index is not None:
        present = present.clone()
        present[:, ignore_index] = False
    draw_device = generator.device if generator is not None else flat.device
    keys = torch.rand(count, num_values, generator=generator, device=draw_device)
    chosen = _half_of_present(present, keys.to(flat.device))
    return chosen.gather(1, flat).view(source_labels.shape)


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
