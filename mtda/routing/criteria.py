"""Label-free scores of how well a segmentor fits images of a new domain (pure torch).

The routing criteria of ``docs/routing.md`` (after the proposal for Scalable Dynamic Routing in
mtda), each a small function of tensors:

* :class:`ChannelMoments` pools per-channel first and second moments over every pixel of every
  image (float64 sums, so the result does not depend on image order or batch size);
* :func:`gaussian_kl` and :func:`bn_statistics_distance`: KL(new ‖ running) between the
  per-channel Gaussians of the inputs a BatchNorm layer sees on the new images and the running
  statistics it stored in training, averaged over channels and layers (**R1**);
* :func:`normalised_entropy`: the prediction entropy per pixel over ``log C`` (**R2**);
* :func:`kl_to_anchor`: KL(anchor ‖ p) per pixel, the anchor being the mean prediction of all
  candidates (**R3**, agreement).

With labels, candidates are compared by their mIoU (:func:`mtda.evaluation.scores_from_confusion`).
"""
import math
from typing import Mapping, Optional, Tuple

import torch


class ChannelMoments:
    """Per-channel count, sum and sum of squares of ``(N, C, ...)`` tensors, pooled in float64."""

    def __init__(self) -> None:
        self.count = 0
        self.total: Optional[torch.Tensor] = None
        self.squares: Optional[torch.Tensor] = None

    def update(self, x: torch.Tensor) -> None:
        """Add every element of ``x`` (``(N, C, *spatial)``) to its channel's moments."""
        if x.dim() < 2:
            raise ValueError(f'expected (N, C, ...) features, got shape {tuple(x.shape)}')
        flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1).double()
        total, squares = flat.sum(dim=1), (flat * flat).sum(dim=1)
        if self.total is None:
            self.total, self.squares = total, squares
        elif total.shape != self.total.shape:
            raise ValueError(f'{x.shape[1]} channels after {self.total.numel()}')
        else:
            self.total, self.squares = self.total + total, self.squares + squares
        self.count += flat.shape[1]

    def merge(self, other: 'ChannelMoments') -> None:
        """Add ``other``'s moments to these (pooling two sets of pixels)."""
        if other.total is None:
            return
        if self.total is None:
            self.total, self.squares = other.total.clone(), other.squares.clone()
        else:
            self.total, self.squares = self.total + other.total, self.squares + other.squares
        self.count += other.count

    def mean_var(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and (population) variance of everything added so far."""
        if self.total is None or self.count == 0:
            raise ValueError('no features were added')
        mean = self.total / self.count
        return mean, (self.squares / self.count - mean * mean).clamp_min(0.0)


def gaussian_kl(mean_p: torch.Tensor, var_p: torch.Tensor, mean_q: torch.Tensor,
                var_q: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean_p, var_p) ‖ N(mean_q, var_q))`` per element (variances must be > 0)."""
    return 0.5 * (torch.log(var_q / var_p) + (var_p + (mean_p - mean_q) ** 2) / var_q - 1.0)


def bn_statistics_distance(new: Mapping[str, Tuple[torch.Tensor, torch.Tensor]],
                           running: Mapping[str, Tuple[torch.Tensor, torch.Tensor]], *,
                           eps: Mapping[str, float]) -> float:
    """Mean over layers of the mean over channels of ``KL(new ‖ running)``.

    Args:
        new: ``{layer: (mean, var)}`` of the layer's inputs on the new images.
        running: ``{layer: (running_mean, running_var)}`` the layer stored in training.
        eps: ``{layer: BN eps}``, added to both variances (what the layer divides by).

    Raises:
        ValueError: the two sides name different layers, or a layer's channels differ.
    """
    if new.keys() != running.keys() or not new:
        raise ValueError(f'layers differ: {sorted(set(new) ^ set(running))[:3]} '
                         f'({len(new)} measured, {len(running)} stored)')
    per_layer = []
    for layer, (mean, var) in new.items():
        run_mean, run_var = (t.double() for t in running[layer])
        if run_mean.shape != mean.shape:
            raise ValueError(f'{layer}: {mean.numel()} channels measured, {run_mean.numel()} '
                             'stored')
        kl = gaussian_kl(mean.double(), var.double() + eps[layer], run_mean,
                         run_var + eps[layer])
        per_layer.append(kl.mean())
    return float(torch.stack(per_layer).mean())


def normalised_entropy(probs: torch.Tensor) -> torch.Tensor:
    """``−Σ_c p log p / log C`` per pixel of ``(C, ...)`` class probabilities (0 one-hot, 1 uniform)."""
    classes = probs.shape[0]
    terms = torch.where(probs > 0, probs * torch.log(probs), torch.zeros_like(probs))
    return -terms.sum(dim=0) / math.log(classes)


def kl_to_anchor(anchor: torch.Tensor, probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``Σ_c a log(a / p)`` per pixel of ``(C, ...)`` probabilities: 0 where ``p`` equals ``a``."""
    if anchor.shape != probs.shape:
        raise ValueError(f'anchor {tuple(anchor.shape)} and prediction {tuple(probs.shape)} differ')
    terms = torch.where(anchor > 0, anchor * (torch.log(anchor) - torch.log(probs.clamp_min(eps))),
                        torch.zeros_like(anchor))
    return terms.sum(dim=0).clamp_min(0.0)
