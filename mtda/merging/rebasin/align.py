"""Re-Basin's merge: every model matched to the first, then merged as the average merge does.

For N > 2 models Git Re-Basin's weight matching is pairwise, so mtda matches each input to the
first (the reference) and leaves the first as it is; the aligned inputs then go through the usual
stream (:func:`~mtda.merging.stream.merge_state_dicts`): parameters by the weighted average,
BatchNorm statistics by ``--buffers`` after being permuted with their channels, counters exact.
Memory holds the reference, one input and the accumulator, whatever N is.

What each matching did is recorded for the merged file's provenance: the fraction of units left in
place (1.0: the identity, which is what the paper's C2 predicts for models fine-tuned from one init)
and the sweeps until convergence.
"""
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Optional

import torch

from mtda.merging.classify import EntryKind
from mtda.merging.rebasin.spec import PermutationSpec, permute_state
from mtda.merging.rebasin.weight_matching import Matching, match_weights
from mtda.merging.stream import Loader, MergeResult, merge_state_dicts

__all__ = ['MatchToFirst', 'merge_rebasin']


class MatchToFirst:
    """Called on each input in merge order: keeps the first, returns the others matched to it.

    Args:
        spec: the permutation groups of the architecture.
        keys: the entries that enter the matching objective (mtda: the parameters).
        seed: seed of the order the groups are visited in.
        max_rounds: the most sweeps per matching.
    """

    def __init__(self, spec: PermutationSpec, *, keys: Optional[Collection[str]] = None,
                 seed: int = 0, max_rounds: int = 100) -> None:
        self.spec, self.keys, self.seed, self.max_rounds = spec, keys, seed, max_rounds
        self.reference: Optional[Mapping[str, torch.Tensor]] = None
        self.reference_name: Optional[str] = None
        self.matchings: dict[str, Matching] = {}

    def __call__(self, name: str, state: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        self.spec.check(state, name)
        if self.reference is None:
            self.reference, self.reference_name = state, name
            return state
        matching = match_weights(self.reference, state, self.spec, keys=self.keys,
                                 max_rounds=self.max_rounds, seed=self.seed)
        self.matchings[name] = matching
        return permute_state(state, self.spec, matching.perms)

    def options(self) -> dict:
        """What the merged file's provenance records about the matchings."""
        return dict(reference=self.reference_name, seed=self.seed, groups=len(self.spec.groups),
                    units=self.spec.units,
                    fixed_fraction={name: m.fixed_fraction() for name, m in self.matchings.items()},
                    fixed_fraction_by_module={name: m.fixed_fraction_by_module()
                                              for name, m in self.matchings.items()},
                    rounds={name: m.rounds for name, m in self.matchings.items()})


def merge_rebasin(sources: Sequence[tuple[str, Loader]], *, kinds: Mapping[str, EntryKind],
                  spec: PermutationSpec, weights: Optional[Sequence[float]] = None,
                  buffer_policy: str = 'pool', seed: int = 0) -> MergeResult:
    """Match every checkpoint to the first (parameters in the objective), then average.

    Args:
        sources: ``(name, loader)`` per checkpoint, as for :func:`~mtda.merging.stream.merge_state_dicts`.
        kinds: the model's entry kinds; the parameters are what the matching compares.
        spec: the permutation groups of the architecture.
        weights: parameter weights (normalised; default uniform).
        buffer_policy: what happens to the (permuted) BatchNorm statistics.
        seed: seed of the matching's group order.
    """
    align = MatchToFirst(spec, keys={k for k, kind in kinds.items() if kind is EntryKind.PARAMETER},
                         seed=seed)

    def aligned(name, load):
        return lambda: align(name, load())

    result = merge_state_dicts([(name, aligned(name, load)) for name, load in sources],
                               kinds=kinds, weights=weights, buffer_policy=buffer_policy)
    return replace(result, method='rebasin', method_options=align.options())
