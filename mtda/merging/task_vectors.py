"""Task-vector merge rules: task arithmetic, TIES and DARE, one tensor at a time.

A task vector is what fine-tuning added to the shared init: τ_i = θ_i − θ_0 (Ilharco et al.,
"Editing Models with Task Arithmetic", ICLR 2023). With N models:

* task arithmetic: θ = θ_0 + λ Σ_i τ_i. With λ = 1/N this is the plain average, the data-free
  default here; the paper picks λ on held-out validation data (0.3-0.4 for its 8 tasks).
* TIES (Yadav et al., "TIES-Merging", NeurIPS 2023): trim each τ_i to its top-k % magnitudes
  (τ̂_i, paper's k = 20), elect a sign per entry, γ = sgn(Σ_i τ̂_i) (the sign of the larger total
  mass), and take the disjoint mean over the models that agree with it,
  τ_m = Σ_{i: sgn τ̂_i = γ} τ̂_i / |{i: sgn τ̂_i = γ, τ̂_i ≠ 0}|; θ = θ_0 + λ τ_m (paper's λ = 1).
* DARE (Yu et al., "Language Models are Super Mario", ICML 2024): drop each entry of τ_i with
  probability p and rescale the rest by 1/(1 − p), so E[DARE(τ)] = τ (paper's p = 0.9 for
  large language models); then average or TIES.

Every function takes and returns tensors of one state-dict entry, whatever their rank
(convolution and depthwise kernels included), so a merge can stream the inputs: TIES needs two
passes, the sign election (:class:`SignElection`) and then the disjoint mean
(:class:`DisjointMean`), each holding one accumulator the size of the entry. Tensors are
float; callers keep BatchNorm statistics and integer counters out of these rules.
"""
import math
from typing import Optional

import torch

from mtda.errors import MergeError

__all__ = ['DisjointMean', 'SignElection', 'check_fraction', 'dare', 'magnitude_threshold',
           'task_vector', 'trim_to_top_k']


def check_fraction(value: float, *, option: str, allow_one: bool = True) -> float:
    """Raise MergeError unless ``0 < value <= 1`` (``< 1`` without ``allow_one``)."""
    upper_ok = value <= 1 if allow_one else value < 1
    if isinstance(value, bool) or not math.isfinite(float(value)) or not (0 < value and upper_ok):
        bound = '1' if allow_one else 'below 1'
        raise MergeError(f'{option} {value!r} is out of range; pass a fraction above 0 and up to '
                         f'{bound}')
    return float(value)


def task_vector(theta: torch.Tensor, base: torch.Tensor, *, key: str = '') -> torch.Tensor:
    """τ = θ − θ_0, in float32 at least (half-precision inputs are promoted)."""
    if theta.shape != base.shape:
        raise MergeError(f'{key}: shape {tuple(theta.shape)} differs from the base\'s '
                         f'{tuple(base.shape)}; the base must be the models\' shared init')
    dtype = torch.promote_types(theta.dtype, torch.float32)
    return theta.to(dtype) - base.to(dtype)


def magnitude_threshold(magnitudes: torch.Tensor, density: float) -> float:
    """The k-th largest value of ``magnitudes`` with k = ceil(density · numel) (at least one).

    For a global top-k over a whole model, pass the concatenated magnitudes of its entries.
    """
    flat = magnitudes.reshape(-1)
    k = max(1, math.ceil(check_fraction(density, option='--density') * flat.numel()))
    # the (n - k + 1)-th smallest: a selection, faster than topk's partial sort
    return float(torch.kthvalue(flat, flat.numel() - k + 1).values)


def trim_to_top_k(tau: torch.Tensor, density: float,
                  threshold: Optional[float] = None) -> torch.Tensor:
    """τ with all but its largest-magnitude entries set to zero (TIES' trim step).

    Args:
        tau: one entry's task vector.
        density: the fraction kept, k/100 in the paper's notation (per tensor).
        threshold: keep ``|τ| >= threshold`` instead (a global top-k computed with
            :func:`magnitude_threshold` over the whole model); ``density`` is then unused.
    """
    if tau.numel() == 0:
        return tau.clone()
    magnitude = tau.abs()
    if threshold is None:
        threshold = magnitude_threshold(magnitude, density)
    return torch.where(magnitude >= threshold, tau, torch.zeros_like(tau))


def dare(tau: torch.Tensor, drop: float, generator: torch.Generator) -> torch.Tensor:
    """Drop each entry with probability ``drop``, rescale the kept ones by 1/(1 − drop).

    ``generator`` makes it repeatable: seed it per (model, entry) so a second pass over the
    inputs (TIES) draws the same mask.
    """
    drop = check_fraction(drop, option='--drop', allow_one=False)
    keep = torch.rand(tau.shape, generator=generator, device=tau.device) >= drop
    return torch.where(keep, tau / (1.0 - drop), torch.zeros_like(tau))


class SignElection:
    """First TIES pass: accumulate Σ_i τ̂_i; :meth:`result` is the elected sign γ ∈ {−1, 0, 1}."""

    def __init__(self):
        self.total: Optional[torch.Tensor] = None

    def add(self, trimmed: torch.Tensor) -> None:
        self.total = trimmed.clone() if self.total is None else self.total.add_(trimmed)

    def result(self) -> torch.Tensor:
        if self.total is None:
            raise MergeError('no task vector was added to the sign election')
        return torch.sign(self.total)


class DisjointMean:
    """Second TIES pass: the mean over the models whose non-zero τ̂_i has the elected sign.

    Entries where no model agrees (all trimmed away, or γ = 0) get 0.
    """

    def __init__(self, sign: torch.Tensor, dtype: torch.dtype = torch.float32):
        self.sign = sign.to(torch.int8)  # a quarter of a float32 model in memory
        self.total = torch.zeros(sign.shape, dtype=dtype, device=sign.device)
        self.count = torch.zeros(sign.shape, dtype=torch.int16, device=sign.device)

    def add(self, trimmed: torch.Tensor) -> None:
        agrees = (torch.sign(trimmed).to(torch.int8) == self.sign) & (trimmed != 0)
        self.total.add_(torch.where(agrees, trimmed, torch.zeros_like(trimmed)).to(self.total.dtype))
        self.count.add_(agrees.to(self.count.dtype))

    def result(self) -> torch.Tensor:
        return torch.where(self.count > 0, self.total / self.count.clamp(min=1).to(self.total.dtype),
                           torch.zeros_like(self.total))
