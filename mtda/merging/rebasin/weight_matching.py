"""Git Re-Basin weight matching: the permutations that bring model B's units onto model A's.

Ainsworth, Hayase & Srinivasa, "Git Re-Basin: Merging Models modulo Permutation Symmetries", ICLR
2023, §3.2 and Algorithm 1. Weight matching maximises Σ_entries ⟨W_A, π(W_B)⟩ over the
permutations π of every group of a :class:`~mtda.merging.rebasin.spec.PermutationSpec`. The joint
problem is NP-hard, so it is solved by coordinate ascent: holding every other group fixed, the best
permutation of one group ``p`` is a linear assignment on

    C_p = Σ_{(key, axis) where p acts}  A_key,p · B_key,p^T

where ``A_key,p`` is entry ``key`` of model A with axis ``axis`` moved first, restricted to the
rows of ``p`` and flattened to ``[units, -1]``, and ``B_key,p`` the same of model B with every
*other axis* permuted by its group's current permutation. ``scipy.optimize.linear_sum_assignment``
solves it. Groups are visited in a seeded random order, a permutation is replaced only when it
strictly raises its group's objective, and the sweep stops after a round without change (or
after ``max_rounds``; the paper's code: 100 and a 1e-12 tolerance).

A group that acts on two axes of one entry (MiT's spatial-reduction conv maps the residual stream
to itself) makes that entry's term quadratic in the group; like the reference implementation
(``get_permuted_param(..., except_axis)``), each of its axes enters linearised at the current
permutation of the other, so for such specs a step is an approximation and the sweep count is
bounded by ``max_rounds`` rather than by monotone progress.

Starting from the identity, a model matched to itself stays at the identity (⟨w_i, w_j⟩ ≤
(|w_i|² + |w_j|²)/2, equality only for equal rows), and the midpoint of A and a matched B is
Re-Basin's merge.
"""
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from mtda.merging.rebasin.spec import PermutationSpec, identity_permutations, permute_entry

__all__ = ['Matching', 'match_weights']


@dataclass(frozen=True)
class Matching:
    """The result of :func:`match_weights`.

    Args:
        perms: ``{group: LongTensor}``, to apply to model B (:func:`~mtda.merging.rebasin.spec.permute_state`).
        rounds: sweeps over all groups until one changed nothing (or ``max_rounds``).
        converged: whether the last sweep changed nothing.
    """

    perms: Mapping[str, torch.Tensor]
    rounds: int
    converged: bool

    def fixed_fraction(self, prefix: str = '') -> float:
        """The fraction of the units (of the groups named ``prefix...``) that stay where they were."""
        perms = [p for group, p in self.perms.items() if group.startswith(prefix)]
        total = sum(len(p) for p in perms)
        fixed = sum(int((p == torch.arange(len(p))).sum()) for p in perms)
        return fixed / total if total else 1.0

    def fixed_fraction_by_module(self) -> dict[str, float]:
        """:meth:`fixed_fraction` per top-level module (``backbone``, ``decode_head``)."""
        modules = dict.fromkeys(group.split('.')[0] for group in self.perms)
        return {module: self.fixed_fraction(module + '.') for module in modules}


def _rows(value: torch.Tensor, dim: int, offset: int, size: int) -> torch.Tensor:
    """Axis ``dim`` first, rows ``offset:offset + size``, flattened to ``[size, -1]`` in float64."""
    return value.movedim(dim, 0)[offset:offset + size].reshape(size, -1).double()


def match_weights(model_a: Mapping[str, torch.Tensor], model_b: Mapping[str, torch.Tensor],
                  spec: PermutationSpec, *, keys: Optional[Collection[str]] = None,
                  max_rounds: int = 100, seed: int = 0,
                  names: tuple = ('model A', 'model B')) -> Matching:
    """Permutations of ``model_b``'s groups that maximise its inner product with ``model_a``.

    Args:
        model_a: the reference state dict (it is not permuted).
        model_b: the state dict to permute; same keys and shapes as ``model_a`` on the spec.
        spec: the permutation groups of the architecture.
        keys: the entries that enter the objective (default every entry of the spec). mtda passes
            the parameters only: BatchNorm statistics are moments of the data, not weights, and are
            permuted with their channels without being matched.
        max_rounds: the most sweeps over the groups.
        seed: seed of the order the groups are visited in.
        names: the two models' names (their files), for the error of a model that does not fit.

    Returns:
        The permutations; ``permute_state(model_b, spec, matching.perms)`` is B matched to A.
    """
    spec.check(model_a, names[0])
    spec.check(model_b, names[1])
    used = {group: [u for u in uses if keys is None or u.key in keys]
            for group, uses in spec.uses.items()}
    perms = identity_permutations(spec)
    order = [group for group in spec.groups if used[group]]
    rng = random.Random(seed)
    rounds, converged = 0, False
    while rounds < max_rounds and not converged:
        rounds += 1
        converged = True
        rng.shuffle(order)
        for group in order:
            size = spec.sizes[group]
            cost = torch.zeros(size, size, dtype=torch.float64)
            for use in used[group]:
                b = permute_entry(model_b[use.key], use.key, spec, perms, skip_dim=use.dim)
                cost += _rows(model_a[use.key], use.dim, use.offset, size) @ \
                    _rows(b, use.dim, use.offset, size).T
            matrix = cost.numpy()
            rows, cols = linear_sum_assignment(matrix, maximize=True)
            new = matrix[rows, cols].sum()
            old = matrix[np.arange(size), perms[group].numpy()].sum()
            if new > old + 1e-12 * max(1.0, abs(old)):
                perms[group] = torch.as_tensor(cols, dtype=torch.long)
                converged = False
    return Matching(perms, rounds, converged)
