"""Re-Basin's merge: every model matched to the first, then merged as the average merge does.

For N > 2 models Git Re-Basin's weight matching is pairwise, so mtda matches each input to the
first (the reference) and leaves the first as it is; the aligned inputs then go through the usual
stream (:func:`~mtda.merging.stream.merge_state_dicts`, called by
:func:`mtda.merging.files.merge_checkpoint_files` with each loader aligned by :class:`MatchToFirst`): parameters by the weighted average,
BatchNorm statistics by ``--buffers`` after being permuted with their channels, counters exact.
Memory holds the reference, one input and the accumulator, whatever N is.

What each matching did is recorded for the merged file's provenance: the fraction of units left in
place (1.0: the identity, which is what the paper's C2 predicts for models fine-tuned from one init)
and the sweeps until convergence.
"""
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Optional

import torch

from mtda.merging.rebasin.spec import PermutationSpec, permute_state
from mtda.merging.rebasin.weight_matching import Matching, match_weights
from mtda.merging.stream import MergeResult

__all__ = ['MatchToFirst']


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
        if self.reference is None:
            self.spec.check(state, name)
            self.reference, self.reference_name = state, name
            return state
        matching = match_weights(self.reference, state, self.spec, keys=self.keys,
                                 max_rounds=self.max_rounds, seed=self.seed,
                                 names=(self.reference_name, name))
        self.matchings[name] = matching
        return permute_state(state, self.spec, matching.perms)

    def annotate(self, result: MergeResult) -> MergeResult:
        """``result`` (the average of the aligned inputs) as Re-Basin's, with :meth:`options`."""
        return replace(result, method='rebasin', method_options=self.options())

    def options(self) -> dict:
        """What the merged file's provenance records about the matchings."""
        return dict(reference=self.reference_name, seed=self.seed, groups=len(self.spec.groups),
                    units=self.spec.units,
                    fixed_fraction={name: m.fixed_fraction() for name, m in self.matchings.items()},
                    fixed_fraction_by_module={name: m.fixed_fraction_by_module()
                                              for name, m in self.matchings.items()},
                    rounds={name: m.rounds for name, m in self.matchings.items()})

