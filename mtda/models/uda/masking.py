"""MIC's masked image consistency: random block masks of the target image.

Convention (MIC, Hoyer et al. CVPR 2023, ``seg/mmseg/models/utils/masking_transforms.py`` and
``seg/mmseg/models/uda/masking_consistency_module.py``):

* the image is split into a grid of ``round(H / block_size) x round(W / block_size)`` blocks;
  each block gets one uniform draw and is **kept** when the draw exceeds ``ratio`` (MIC: 0.7, so
  70 % of the blocks are masked on average);
* the grid is resized to the image by nearest neighbour (a size that is not a multiple of the
  block gives blocks of slightly unequal size, as in MIC);
* masked pixels become 0 in the normalised image, i.e. the dataset's mean colour;
* the student sees the masked (and, in MIC's default ``separatetrgaug`` mode, colour-jittered and
  blurred) target image and learns the teacher's pseudo labels of the whole, unmasked image, with
  the same confidence weights as the mixed image: it has to infer the masked regions from
  context.

Torch only: no mmseg / mmengine import.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F


def block_mask(shape: Sequence[int], *, ratio: float = 0.7, block_size: int = 64,
               generator: Optional[torch.Generator] = None,
               device: Union[str, torch.device, None] = None) -> torch.Tensor:
    """A float ``(N, 1, H, W)`` mask, 1 on the kept blocks and 0 on the masked ones.

    Args:
        shape: ``(N, C, H, W)`` (or ``(N, H, W)``) of the images to mask.
        ratio: the share of blocks masked in expectation (MIC: 0.7).
        block_size: the side of a block in pixels (MIC: 64 at 1024 and 512 crops).
        generator: random source (``None``: torch's global generator of ``device``).
        device: where the mask goes (a generator's own device is used for the draw).
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f'mask ratio must be in [0, 1), got {ratio}')
    if block_size < 1:
        raise ValueError(f'mask block size must be >= 1, got {block_size}')
    count, height, width = int(shape[0]), int(shape[-2]), int(shape[-1])
    grid = (max(round(height / block_size), 1), max(round(width / block_size), 1))
    draw_device = generator.device if generator is not None else device
    draws = torch.rand((count, 1, *grid), generator=generator, device=draw_device)
    keep = (draws > ratio).float().to(device)
    return F.interpolate(keep, size=(height, width), mode='nearest')


def mask_images(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``images`` (normalised, ``(N, C, H, W)``) with the masked pixels set to 0."""
    if mask.shape != (images.shape[0], 1, *images.shape[-2:]):
        raise ValueError(f'mask {tuple(mask.shape)} does not fit images {tuple(images.shape)}')
    return images * mask.to(images.dtype)
