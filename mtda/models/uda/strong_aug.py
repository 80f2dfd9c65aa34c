"""Strong augmentation of the mixed images: colour jitter and Gaussian blur.

Convention (DAFormer ``mmseg/models/utils/dacs_transforms.py`` and ``dacs.py``, after DACS):

* **when**: one ``U(0, 1)`` draw per training step decides for the whole batch. Colour jitter runs
  when the draw is ``> p`` with ``p = 0.2`` (the config calls ``p`` a probability, but the code
  applies the jitter when the draw *exceeds* it, so it runs 80 % of the time); blur runs when its
  own draw is ``> 0.5``. The random factors are then drawn per image;
* **colour jitter** of strength ``s = 0.2`` as kornia's ``ColorJitter`` of DAFormer's era (kornia
  0.5, renamed ``ColorJiggle`` later): brightness *adds* ``b - 1``, contrast *multiplies* by ``c``
  (no blend towards the mean), saturation scales the HSV saturation, hue shifts the HSV hue by
  ``h`` turns; ``b, c, sat ~ U(1 - s, 1 + s)``, ``h ~ U(-s, s)``, applied in a random order, each
  result clipped to ``[0, 1]``. torchvision's ``ColorJitter`` differs in brightness (multiplies),
  contrast (blends) and saturation (blends with grey), so only its hue function is reused;
* **blur**: ``sigma ~ U(0.15, 1.15)`` (same for both axes), kernel size the largest odd number not
  above ``ceil(0.1 * side)`` per axis, reflect padding;
* **value range**: DAFormer de-normalises the images to ``[0, 1]``, jitters and re-normalises.
  :func:`color_jitter` and :func:`gaussian_blur` take RGB float images in ``[0, 1]``;
  :func:`strong_augment` takes the normalised images the segmentor sees (mean/std in 0..255 units,
  as ``SegDataPreProcessor`` uses them) and does the round trip. Blur is linear, so blurring before
  or after the normalisation is the same.

Randomness comes only from the explicit ``torch.Generator`` argument, so a seeded generator
reproduces the augmentation. Torch (and torchvision's functional hue) only: no mmseg / mmengine.
"""
import math
from collections.abc import Sequence
from typing import Optional, Union

import torch
from torchvision.transforms.v2 import functional as TF


def _device(generator: Optional[torch.Generator]) -> torch.device:
    return generator.device if generator is not None else torch.device('cpu')


def _uniform(low: float, high: float, generator: Optional[torch.Generator],
             size: int = 1) -> torch.Tensor:
    """``size`` float64 draws from ``U(low, high)`` on the generator's device."""
    return low + (high - low) * torch.rand(size, generator=generator, dtype=torch.float64,
                                           device=_device(generator))


def _scale_saturation(image: torch.Tensor, factor: float) -> torch.Tensor:
    """HSV saturation times ``factor`` (clipped at 1), value and hue kept.

    With ``v = max(r, g, b)`` every channel is ``v - s * v * k`` for a hue-dependent ``k``, so
    scaling the saturation scales each channel's distance below ``v``; the clip at ``s = 1`` caps
    the scale at ``v / (v - min(r, g, b))``.
    """
    value = image.amax(dim=-3, keepdim=True)
    spread = value - image.amin(dim=-3, keepdim=True)
    # grey pixels (spread 0) have value - image == 0, so their scale does not matter
    scale = torch.clamp(value / spread.clamp_min(1e-12), max=factor)
    return (value - (value - image) * scale).clamp(0.0, 1.0)


def _jitter_one(image: torch.Tensor, strength: float,
                generator: Optional[torch.Generator]) -> torch.Tensor:
    brightness, contrast, saturation = _uniform(1 - strength, 1 + strength, generator, 3).tolist()
    hue = _uniform(-strength, strength, generator).item()
    steps = (
        lambda x: (x + (brightness - 1.0)).clamp(0.0, 1.0),
        lambda x: (x * contrast).clamp(0.0, 1.0),
        lambda x: _scale_saturation(x, saturation),
        lambda x: TF.adjust_hue(x, hue),
    )
    order = torch.randperm(len(steps), generator=generator, device=_device(generator))
    for index in order.tolist():
        image = steps[index](image)
    return image


def color_jitter(images: torch.Tensor, *, generator: Optional[torch.Generator] = None,
                 strength: float = 0.2, probability: float = 0.2) -> torch.Tensor:
    """Colour-jitter a batch of RGB images in ``[0, 1]`` (DAFormer's rule, see module docstring).

    Args:
        images: ``(N, 3, H, W)`` float RGB in ``[0, 1]``.
        generator: random source (``None``: torch's global generator).
        strength: ``s``, the range of the brightness/contrast/saturation/hue factors.
        probability: DAFormer's ``color_jitter_probability``; the batch is jittered when a
            ``U(0, 1)`` draw exceeds it (so ``1 - probability`` of the time).

    Returns:
        The jittered images, or ``images`` itself when the draw says no.
    """
    _check_images(images)
    if _uniform(0.0, 1.0, generator).item() <= probability:
        return images
    return torch.stack([_jitter_one(image, strength, generator) for image in images])


def blur_kernel_size(length: int) -> int:
    """The largest odd kernel size not above ``ceil(0.1 * length)`` (DAFormer's ~10 % rule)."""
    size = math.ceil(0.1 * length)
    return max(size if size % 2 == 1 else size - 1, 1)


def gaussian_blur(images: torch.Tensor, *, generator: Optional[torch.Generator] = None,
                  sigma_range: Sequence[float] = (0.15, 1.15),
                  probability: float = 0.5) -> torch.Tensor:
    """Gaussian-blur a batch of images with DAFormer's rule (see module docstring).

    Args:
        images: ``(N, C, H, W)`` float images, any value range (the blur is linear).
        generator: random source (``None``: torch's global generator).
        sigma_range: ``sigma ~ U(*sigma_range)``, drawn per image.
        probability: the batch is blurred when a ``U(0, 1)`` draw exceeds it (DAFormer: 0.5).

    Returns:
        The blurred images, or ``images`` itself when the draw says no.
    """
    _check_images(images, channels=None)
    if _uniform(0.0, 1.0, generator).item() <= probability:
        return images
    # torchvision orders kernel sizes (x, y)
    kernel = [blur_kernel_size(images.shape[-1]), blur_kernel_size(images.shape[-2])]
    sigmas = _uniform(sigma_range[0], sigma_range[1], generator, images.shape[0]).tolist()
    return torch.stack([TF.gaussian_blur(image, kernel_size=kernel, sigma=[sigma, sigma])
                        for image, sigma in zip(images, sigmas)])


def strong_augment(images: torch.Tensor, *, mean: Union[Sequence[float], torch.Tensor],
                   std: Union[Sequence[float], torch.Tensor],
                   generator: Optional[torch.Generator] = None,
                   color_jitter_strength: float = 0.2, color_jitter_probability: float = 0.2,
                   blur: bool = True) -> torch.Tensor:
    """DAFormer's strong augmentation of normalised images: jitter in ``[0, 1]``, then blur.

    Args:
        images: ``(N, 3, H, W)`` RGB images normalised as ``(x - mean) / std`` with ``x`` in
            ``[0, 255]`` (the output of ``SegDataPreProcessor``).
        mean: per-channel mean in 0..255 units (e.g. ``[123.675, 116.28, 103.53]``), a
            sequence or a tensor of 3 values (one on the images' device, such as
            ``SegDataPreProcessor.mean``, saves a host-to-device copy, which waits for the GPU).
        std: per-channel std in 0..255 units (e.g. ``[58.395, 57.12, 57.375]``), likewise.
        generator: random source (``None``: torch's global generator).
        color_jitter_strength: ``s`` of :func:`color_jitter`.
        color_jitter_probability: ``probability`` of :func:`color_jitter`.
        blur: whether :func:`gaussian_blur` may run at all (DAFormer's ``blur=True``).

    Returns:
        Augmented images, normalised like the input.
    """
    _check_images(images)
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    # clamp: de-normalising black pixels gives values like -3e-8, and torchvision's hue
    # conversion turns negative inputs into NaN
    unit = ((images * std_t + mean_t) / 255.0).clamp(0.0, 1.0)
    unit = color_jitter(unit, generator=generator, strength=color_jitter_strength,
                        probability=color_jitter_probability)
    if blur:
        unit = gaussian_blur(unit, generator=generator)
    return (unit * 255.0 - mean_t) / std_t


def _check_images(images: torch.Tensor, channels: Optional[int] = 3) -> None:
    if images.dim() != 4 or (channels is not None and images.shape[1] != channels):
        expected = f'(N, {channels}, H, W)' if channels else '(N, C, H, W)'
        raise ValueError(f'images must be {expected}, got {tuple(images.shape)}')
    if not images.is_floating_point():
        raise ValueError(f'images must be floating point, got {images.dtype}')
