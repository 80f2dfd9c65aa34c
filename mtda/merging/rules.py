"""The merge rules: a weighted average for parameters, a mixture of statistics for BatchNorm.

Source: the paper's ``merge.py`` (Li et al., "Training-Free Model Merging for Multi-target Domain
Adaptation", ECCV 2024; see ``docs/merging.md``). For K models fine-tuned from one
init, with weights w_i (positive, summing to 1) and per-layer counters n_i = ``num_batches_tracked``:

* parameters: θ = Σ w_i θ_i;
* BatchNorm (``--buffers pool``, the paper's rule): N = Σ n_i, p_i = n_i / N,
  μ = Σ p_i μ_i,  σ² = Σ p_i (σ_i² + (μ_i − μ)²),  ``num_batches_tracked`` = N.
  σ² is the variance of the mixture of the domains' activation distributions (within-domain plus
  between-domain spread). Like the paper it applies no Bessel correction: the stored running variances
  are used as they are. The counters, not ``--weights``, weight the statistics, as in the paper.

The accumulators take one input at a time so that :mod:`mtda.merging.stream` can hold a single checkpoint
in memory; the list functions below are folds over the same accumulators.

Parameters are averaged as a running weighted mean, m_k = m_{k-1} + (w_k / W_k)(θ_k − m_{k-1}) with
W_k = w_1 + … + w_k (one fused ``lerp_`` per tensor), kept in the checkpoint's dtype (float32 for
half-precision inputs). Why not float64 sums: a float64 accumulator is twice a float32 checkpoint, and with
the one input being read that puts the merge at 3× a checkpoint in memory and ~1.8× the load time
(benchmarks/merge_bench.py); the running mean is 1× and one pass. Its rounding error is at most about k/2
ulp after k inputs (k ≤ 16 in practice: far below what fine-tuning changes), and identical inputs give
back the input exactly (θ − m = 0 at every step). The BatchNorm statistics (small) stay in float64.

Numerics of the pooled variance: instead of the textbook one-pass sums (Σn, Σnμ, Σn(σ²+μ²), then
σ² = E[x²] − μ²), which cancel catastrophically when |μ| ≫ σ (relative error ≈ ε·μ²/σ²) and can go
negative, each input is folded into a running (N, μ, M2) with the pairwise update of Chan, Golub and
LeVeque: δ = μ_i − μ, μ += δ·n_i/(N+n_i), M2 += n_i σ_i² + δ²·N·n_i/(N+n_i). Only non-negative terms are
added to M2, so σ² = M2/N is never negative, and the result equals the closed form above up to rounding.
"""
import math
from collections.abc import Sequence
from numbers import Real
from typing import NamedTuple, Optional

import torch

from mtda.errors import MergeError


def normalize_merge_weights(weights: Optional[Sequence[float]], n: int, *,
                            names: Optional[Sequence[str]] = None) -> list[float]:
    """Check ``--weights`` and scale them to sum to one.

    Args:
        weights: one positive number per model, in the order of the models; ``None`` means uniform.
        n: the number of models.
        names: the models' names (file paths), used only in error messages.

    Returns:
        ``n`` floats, each > 0, summing to 1 (up to rounding).

    Raises:
        MergeError: wrong count, or a value that is not a positive finite number.
    """
    if weights is None:
        return [1.0 / n] * n
    weights = list(weights)
    if len(weights) != n:
        raise MergeError(f'--weights has {len(weights)} value(s) for {n} checkpoint(s); '
                         'give one weight per checkpoint, in checkpoint order, or omit --weights for uniform')
    for i, weight in enumerate(weights):
        owner = names[i] if names is not None else f'checkpoint {i + 1}'
        if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight) \
                or weight <= 0:
            raise MergeError(f'--weights value {weight!r} for {owner} is not a positive finite number; '
                             'use positive weights (leave a checkpoint out rather than giving it weight 0)')
    weights = [float(w) for w in weights]
    try:
        total = math.fsum(weights)
    except OverflowError:  # finite weights whose sum is not (e.g. 1e308 twice): scale them first
        top = max(weights)
        weights = [w / top for w in weights]
        total = math.fsum(weights)
    return [w / total for w in weights]


class WeightedMean:
    """Running weighted mean of tensors, one at a time, in their own floating dtype (module docstring).

    With weights normalised to sum to one this is Σ w_i x_i, the parameter merge rule.
    """

    def __init__(self) -> None:
        self._mean: Optional[torch.Tensor] = None
        self._total_weight = 0.0

    def add(self, tensor: torch.Tensor, weight: float) -> None:
        """Fold in ``tensor`` with a non-negative ``weight``.

        Args:
            tensor: a floating tensor; its shape must match the earlier ones.
            weight: its weight (>= 0; 0 contributes nothing, e.g. an end of the LMC path); weights
                need not be normalised.
        """
        if not weight >= 0:
            raise ValueError(f'WeightedMean weights must be non-negative, got {weight}')
        tensor = tensor.detach()
        if self._mean is None:
            dtype = torch.float32 if tensor.dtype in (torch.float16, torch.bfloat16) else tensor.dtype
            self._mean = tensor.to(dtype=dtype, copy=True)
            self._total_weight = weight
        elif weight > 0:
            self._total_weight += weight
            # the first tensor stands in while its weight is 0: lerp with 1 returns the new one exactly
            self._mean.lerp_(tensor.to(device=self._mean.device, dtype=self._mean.dtype),
                             weight / self._total_weight)

    def result(self) -> torch.Tensor:
        """The weighted mean; raises ``ValueError`` if nothing was added."""
        if self._mean is None or self._total_weight <= 0:
            raise ValueError('WeightedMean.result() called before any add() with a positive weight')
        return self._mean


class MomentPool:
    """Pools per-channel (mean, variance) pairs, weighted by counts, into the mixture's mean and variance.

    One pass, one input at a time (see the module docstring for the update and why it is used). Inputs with
    weight 0 contribute nothing, which is what the closed form gives them.

    Args:
        layer: the BatchNorm layer's name, used in the error raised when every weight is 0.
    """

    def __init__(self, *, layer: str = '') -> None:
        self.layer = layer
        self.total: float = 0
        self._mean: Optional[torch.Tensor] = None
        self._m2: Optional[torch.Tensor] = None

    def add(self, mean: torch.Tensor, variance: torch.Tensor, weight: float) -> None:
        """Fold in one input.

        Args:
            mean: its per-channel mean.
            variance: its per-channel variance (non-negative).
            weight: its count n_i (an int keeps the total exact) or a non-negative proportion.
        """
        if weight < 0:
            raise ValueError(f'MomentPool weight must be >= 0, got {weight}')
        if weight == 0:
            return
        mean = mean.detach().to(torch.float64)
        variance = variance.detach().to(torch.float64)
        if self._mean is None:
            self._mean = mean.clone()
            self._m2 = variance * weight
            self.total = weight
            return
        mean = mean.to(self._mean.device)
        variance = variance.to(self._mean.device)
        total = self.total + weight
        delta = mean - self._mean
        self._mean.add_(delta, alpha=weight / total)
        self._m2.add_(variance, alpha=weight)
        self._m2.add_(delta.square_(), alpha=self.total * weight / total)
        self.total = total

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled float64 (mean, variance).

        Raises:
            MergeError: if the weights added up to 0 (e.g. every ``num_batches_tracked`` is 0).
        """
        if self._mean is None:
            raise MergeError(
                f'BatchNorm layer {self.layer!r} has num_batches_tracked = 0 in every checkpoint, so '
                '--buffers pool has no counts to weight its statistics by; '
                'use --buffers mean or --buffers first')
        return self._mean, self._m2 / self.total


class BatchNormStatistics(NamedTuple):
    """A BatchNorm layer's running statistics."""

    mean: torch.Tensor
    var: torch.Tensor
    num_batches_tracked: int


def _same_length(*sequences: Sequence) -> tuple[Sequence, ...]:
    # zip() would silently drop the tail of a longer list, i.e. a model (python 3.9 has no strict=).
    if len({len(s) for s in sequences}) > 1:
        raise ValueError(f'one value per model expected, got lengths {[len(s) for s in sequences]}')
    return sequences


def weighted_mean(tensors: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """Σ w_i θ_i / Σ w_i, as :class:`WeightedMean` computes it while streaming.

    Args:
        tensors: same-shape floating tensors.
        weights: one positive weight per tensor.
    """
    total = WeightedMean()
    for tensor, weight in zip(*_same_length(tensors, weights)):
        total.add(tensor, weight)
    return total.result()


def pool_bn_statistics(means: Sequence[torch.Tensor], variances: Sequence[torch.Tensor],
                       counts: Sequence[int], *, layer: str = '') -> BatchNormStatistics:
    """The paper's BatchNorm pooling: the mean and variance of the mixture, weighted by counters.

    Args:
        means: each model's ``running_mean``.
        variances: each model's ``running_var``.
        counts: each model's ``num_batches_tracked`` (ints or 0-dim integer tensors, >= 0).
        layer: the layer's name, for the error message.

    Returns:
        float64 mean and variance, and the exact integer sum of the counts.

    Raises:
        MergeError: if all counts are 0.
    """
    pool = MomentPool(layer=layer)
    counts = [int(c) for c in counts]
    for mean, variance, count in zip(*_same_length(means, variances, counts)):
        pool.add(mean, variance, count)
    mean, var = pool.result()
    return BatchNormStatistics(mean, var, sum(counts))


def weighted_counter(counts: Sequence[int], weights: Sequence[float]) -> int:
    """A counter averaged like a parameter: round(Σ w_i n_i), used by ``--buffers mean`` and the LMC path.

    Exact when all weight sits on one input (w = 1, the others 0) and counts are below 2**53.

    Args:
        counts: each model's ``num_batches_tracked``.
        weights: the same coefficients as the parameters.
    """
    return round(math.fsum(int(c) * w for c, w in zip(*_same_length(counts, weights))))
