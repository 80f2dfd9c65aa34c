"""ZipIt!'s matching: which features of N models become one, from their correlations.

Stoica, Bolya, Bjorner, Ramesh, Hearn & Hoffman, "ZipIt! Merging Models from Different Tasks
without Training", ICLR 2024, §4 (and ``match_tensors_zipit`` in ``gstoica27/ZipIt``,
``matching_functions.py``). The features of one layer of N models (C each) are concatenated into
O = N·C features; their correlation over a few images decides which to merge:

1. every pair's similarity is its correlation (a feature is never paired with itself);
2. greedily, the most similar pair of *clusters* is merged into one; the merged cluster's
   similarity to every other is the smaller of its parts' (complete linkage), times ``alpha``
   (``0 < alpha <= 1`` damps clusters that already grew; ``alpha <= 0`` instead forbids a cluster
   to take a second feature of a model it holds);
3. a merge of two clusters whose representatives come from one model is a *within-model* merge;
   each model may make ``int((O − C) // N · beta)`` of them, after which its within-model pairs
   are closed. mtda closes them from the start when the budget is 0, so ``beta = 0`` allows no
   within-model merge at all (the reference code lets one through before checking);
4. merging stops at C clusters. With β = 0 (or α ≤ 0) a cluster holds at most one feature of each
   model, and the greedy order can leave clusters of which no two may merge; mtda then merges the
   most correlated of them regardless (complete linkage on the plain correlations), as few as it
   takes, and counts them as within-model merges. (The reference code merges an arbitrary pair
   there: its argmax over a matrix of −inf.)

The result is the *unmerge* matrix U ∈ {0, 1}^{O×C} (feature k belongs to cluster j) and the *merge*
matrix M ∈ R^{C×O}, the (weighted) mean of each cluster's members, so M U = I. Clusters are ordered
by their lowest feature index, so a model zipped with copies of itself keeps its feature order.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch

from mtda.errors import MergeError

__all__ = ['ZipMatch', 'correlation_from_moments', 'zip_match']


@dataclass(frozen=True)
class ZipMatch:
    """The merge and unmerge matrices of one feature space of N models.

    Args:
        merge: ``[C, N·C]``, each row the weights of one merged feature's members (sum 1).
        unmerge: ``[N·C, C]``, one 1 per row: the merged feature each model feature becomes.
        num_models: N.
    """

    merge: torch.Tensor
    unmerge: torch.Tensor
    num_models: int

    @property
    def size(self) -> int:
        """C, the features per model (and merged)."""
        return self.merge.shape[0]

    def merge_of(self, model: int) -> torch.Tensor:
        """``M_i`` ``[C, C]``: merged features from model ``i``'s."""
        return self.merge[:, model * self.size:(model + 1) * self.size]

    def unmerge_of(self, model: int) -> torch.Tensor:
        """``U_i`` ``[C, C]``: model ``i``'s features from the merged ones."""
        return self.unmerge[model * self.size:(model + 1) * self.size]

    def within_model_merges(self) -> int:
        """How many clusters hold two features of one model."""
        per_model = self.unmerge.reshape(self.num_models, self.size, self.size).sum(dim=1)
        return int((per_model > 1).sum())


def correlation_from_moments(total: torch.Tensor, outer: torch.Tensor, count: int,
                             *, eps: float = 1e-7) -> torch.Tensor:
    """The correlation matrix of features from their sums ``Σf`` ``[O]`` and ``Σffᵀ`` ``[O, O]``.

    A feature that never varies (a dead channel) has correlation 0 with every other.
    """
    if count < 2:
        raise MergeError(f'ZipIt needs at least two feature samples to correlate, got {count}')
    mean = total.double() / count
    covariance = outer.double() / count - torch.outer(mean, mean)
    std = covariance.diagonal().clamp(min=0).sqrt()
    return covariance / torch.outer(std, std).clamp(min=eps)


def zip_match(correlation: torch.Tensor, num_models: int, *, alpha: float = 0.5,
              beta: float = 0.0, weights: Optional[Sequence[float]] = None) -> ZipMatch:
    """ZipIt!'s greedy matching of ``num_models`` models' concatenated features.

    Args:
        correlation: ``[N·C, N·C]``, model 0's C features first, then model 1's, ...
        num_models: N (>= 2).
        alpha: repeat-match damping in ``(0, 1]``, or ``<= 0`` for at most one feature per model
            in a cluster.
        beta: share in ``[0, 1]`` of the merges that may be within one model.
        weights: one positive weight per model (normalised): a merged feature is the weighted mean
            of its members. Default uniform (ZipIt!'s mean).

    Raises:
        MergeError: a matrix that does not split into N models, or options out of range.
    """
    total = correlation.shape[0]
    if correlation.ndim != 2 or correlation.shape[1] != total or num_models < 2 \
            or total % num_models:
        raise MergeError(f'ZipIt: a correlation of shape {list(correlation.shape)} does not hold '
                         f'{num_models} models of equal width')
    if alpha > 1 or not 0 <= beta <= 1:
        raise MergeError(f'ZipIt: alpha {alpha} must be <= 1 and beta {beta} in [0, 1]')
    width = total // num_models
    model_of = torch.arange(total) // width
    weights = torch.ones(num_models, dtype=torch.float64) if weights is None \
        else torch.as_tensor(weights, dtype=torch.float64)
    sims = correlation.double().clone()
    sims.fill_diagonal_(float('-inf'))
    budget = [int((total - width) // num_models * beta)] * num_models
    same_model = model_of[:, None] == model_of[None, :]
    for m in range(num_models):
        if budget[m] <= 0:
            _close_within(sims, model_of, m)
    holds = torch.nn.functional.one_hot(model_of, num_models).bool()  # models in each cluster
    cluster = torch.arange(total)  # the representative (lowest index) of each feature's cluster
    alive = torch.ones(total, dtype=torch.bool)
    best, best_at = sims.max(dim=1)
    for _ in range(total - width):
        row = int(best.argmax())
        col = int(best_at[row])
        if best[row] == float('-inf'):  # no allowed merge left: the most correlated pair
            row, col = _most_correlated_clusters(correlation, cluster, alive)
        row, col = min(row, col), max(row, col)
        within = bool(same_model[row, col])
        merged = torch.minimum(sims[row], sims[col])
        if alpha > 0:
            merged = merged * alpha
        sims[row], sims[:, row] = merged, merged
        sims[row, row] = float('-inf')
        sims[col], sims[:, col] = float('-inf'), float('-inf')
        alive[col] = False
        cluster[cluster == col] = row
        holds[row] |= holds[col]
        refresh = (best_at == row) | (best_at == col)
        if alpha <= 0:  # a cluster takes at most one feature of each model
            clash = (holds & holds[row]).any(dim=1)
            sims[row, clash], sims[clash, row] = float('-inf'), float('-inf')
        if within:
            m = int(model_of[row])
            budget[m] -= 1
            if budget[m] <= 0:
                _close_within(sims, model_of, m)
                refresh |= model_of == m
        raised = sims[:, row] > best
        best[raised], best_at[raised] = sims[raised, row], row
        refresh[row] = refresh[col] = True
        best[refresh], best_at[refresh] = sims[refresh].max(dim=1)
        best[col] = float('-inf')
    heads = torch.nonzero(alive).flatten()
    unmerge = (cluster[:, None] == heads[None, :]).double()
    weighted = unmerge * weights[model_of][:, None]
    merge = (weighted / weighted.sum(dim=0, keepdim=True)).T.contiguous()
    return ZipMatch(merge, unmerge, num_models)


def _most_correlated_clusters(correlation: torch.Tensor, cluster: torch.Tensor,
                              alive: torch.Tensor) -> tuple[int, int]:
    """The two live clusters (their representatives) whose least correlated members are the most
    correlated: complete linkage on the plain correlations, none of the matching's restrictions."""
    heads = torch.nonzero(alive).flatten()
    slot = torch.searchsorted(heads, cluster)  # each feature's cluster, 0..K-1
    count = len(heads)
    rows = torch.full((count, correlation.shape[1]), float('inf'), dtype=torch.float64)
    rows.scatter_reduce_(0, slot[:, None].expand_as(correlation), correlation.double(), 'amin')
    linkage = torch.full((count, count), float('inf'), dtype=torch.float64)
    linkage.scatter_reduce_(1, slot[None, :].expand(count, -1), rows, 'amin')
    linkage.fill_diagonal_(float('-inf'))
    first, second = divmod(int(linkage.argmax()), count)
    return int(heads[first]), int(heads[second])


def _close_within(sims: torch.Tensor, model_of: torch.Tensor, model: int) -> None:
    """No more merges between two clusters represented by features of ``model``."""
    own = torch.nonzero(model_of == model).flatten()
    sims[own[:, None], own] = float('-inf')
