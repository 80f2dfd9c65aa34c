"""Git Re-Basin (Ainsworth et al., ICLR 2023): permutation specs and weight matching, torch + scipy.

* :mod:`~mtda.merging.rebasin.spec`: which axes each group of interchangeable units acts on, and
  applying permutations to a state dict;
* :mod:`~mtda.merging.rebasin.weight_matching`: coordinate ascent over the groups, each step a
  linear assignment.

The specs of mtda's architectures are built from the module tree in
:mod:`mtda.models.permutation_specs`; ``--method rebasin`` (:mod:`mtda.merging.files`) matches every
input to the first, then merges as ``average`` does.
"""
from mtda.merging.rebasin.spec import (Axis, PermutationSpec, SpecBuilder, identity_permutations,
                                       permute_state, random_permutations)
from mtda.merging.rebasin.weight_matching import Matching, match_weights

__all__ = ['Axis', 'Matching', 'PermutationSpec', 'SpecBuilder', 'identity_permutations', 'match_weights', 'permute_state', 'random_permutations']
