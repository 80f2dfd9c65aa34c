"""SEED, stochastic ensemble distillation: the bank's sampled widths teach each other.

SlimDA (Meng et al., "Slimmable Domain Adaptation", CVPR 2022) names SEED without public code;
this is mtda's formulation (``docs/`` states which parts follow the paper): for one target batch
the class probabilities of the widths sampled this iteration are averaged (a Monte-Carlo estimate
of the bank's ensemble), sharpened with a temperature ``T < 1``, and every sampled width's
auxiliary classifier learns that target by cross-entropy, per pixel over the valid pixels. The
target is detached: the ensemble teaches, it does not learn from its own target.

Torch only: no mmseg / mmengine import.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def ensemble_probabilities(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """The mean of the softmax of each ``(N, C, H, W)`` logits tensor (a distribution over C)."""
    if not logits:
        raise ValueError('the ensemble needs at least one member')
    shapes = {tuple(x.shape) for x in logits}
    if len(shapes) != 1:
        raise ValueError(f'ensemble members differ in shape: {sorted(shapes)}')
    return torch.stack([x.float().softmax(dim=1) for x in logits]).mean(dim=0)


def sharpen(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """``p^(1/T)`` renormalised over dim 1; ``T = 1`` is the identity, ``T -> 0`` one-hot."""
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    # in log space: p^(1/T) underflows for small T
    return torch.softmax(torch.log(probs.clamp_min(1e-30)) / temperature, dim=1)


def seed_loss(target: torch.Tensor, logits: torch.Tensor,
              valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cross-entropy of ``logits`` (``(N, C, H, W)``) against the soft ``target``, the mean over
    the ``valid`` pixels (``(N, H, W)`` bool; all when ``None``; 0 when none is valid)."""
    if target.shape != logits.shape:
        raise ValueError(f'target {tuple(target.shape)} and logits {tuple(logits.shape)} differ')
    per_pixel = -(target.detach() * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if valid is None:
        return per_pixel.mean()
    weights = valid.to(per_pixel.dtype)
    return (per_pixel * weights).sum() / weights.sum().clamp_min(1.0)
