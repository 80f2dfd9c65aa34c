"""Training-free merging of checkpoints fine-tuned from one init: the pure core (torch only).

* :mod:`~mtda.merging.classify`: what each state-dict entry is, from the module tree;
* :mod:`~mtda.merging.rules`: the paper's rules (weighted parameters, pooled BatchNorm statistics);
* :mod:`~mtda.merging.validate`: keys, shapes, dtypes, finite values, lineage, checked before arithmetic;
* :mod:`~mtda.merging.stream`: K checkpoints merged with one in memory at a time, and the LMC path;
* :mod:`~mtda.merging.files`: the same on files: options checked once (``MergeSpec``), weights-only
  loading, per-domain heads, provenance, atomic save (torch and the standard library only).

:mod:`mtda.merging.hook` (``MergeHook``) is the mmengine edge; ``import mtda`` registers it. The
rules are written out in ``docs/merging.md``.
"""
from mtda.merging.classify import (BATCHNORM_TYPES, BatchNormKeys, EntryKind, batchnorm_layers,
                                   classify_state_dict_entries, filter_by_prefix)
from mtda.merging.rules import (BatchNormStatistics, MomentPool, WeightedMean, normalize_merge_weights,
                                pool_bn_statistics, weighted_counter, weighted_mean)
from mtda.merging.stream import (BUFFER_POLICIES, MergeResult, interpolate_state_dicts,
                                 merge_state_dicts)
from mtda.merging.validate import Layout, check_identical, check_lineage, check_state_dict, layout_of

__all__ = [
    'BATCHNORM_TYPES', 'BUFFER_POLICIES', 'BatchNormKeys', 'BatchNormStatistics', 'EntryKind', 'Layout',
    'MergeResult', 'MomentPool', 'WeightedMean', 'batchnorm_layers', 'check_identical', 'check_lineage',
    'check_state_dict', 'classify_state_dict_entries', 'filter_by_prefix', 'interpolate_state_dicts',
    'layout_of', 'merge_state_dicts', 'normalize_merge_weights', 'pool_bn_statistics', 'weighted_counter',
    'weighted_mean',
]
