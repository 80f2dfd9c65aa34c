"""ZipIt! (Stoica, Bolya, Bjorner, Ramesh, Hearn & Hoffman, ICLR 2024) for mtda's segmentors.

Merges N models feature by feature, on the correlations of their features over a few images, so
models that share no init can be merged; it may merge features within one model, and may zip only
a trunk, keeping the rest per model. Not data-free: see ``docs/merging.md``.

* :mod:`~mtda.merging.zipit.matching`: the greedy matching (α, β) -> merge / unmerge matrices;
* :mod:`~mtda.merging.zipit.features`: where each feature space is read, and its correlation;
* :mod:`~mtda.merging.zipit.fuse`: W* = Σᵢ Mᵢ Wᵢ Uᵢ over the Re-Basin permutation spec, and the tails;
* :mod:`~mtda.merging.zipit.batchnorm`: BatchNorm statistics re-estimated after the fusion;
* :mod:`~mtda.merging.zipit.zip_models`: all of it on N built models;
* :mod:`~mtda.merging.zipit.checkpoints`: on checkpoint files, with provenance (``--method zipit``).
"""
from mtda.merging.zipit.batchnorm import recompute_batchnorm_statistics
from mtda.merging.zipit.features import FeaturePoint, collect_correlations, feature_points
from mtda.merging.zipit.fuse import unzip_tail, zip_state_dicts
from mtda.merging.zipit.matching import ZipMatch, correlation_from_moments, zip_match
from mtda.merging.zipit.zip_models import Zipped, split_at, zip_models

__all__ = ['FeaturePoint', 'ZipMatch', 'Zipped', 'collect_correlations', 'correlation_from_moments',
           'feature_points', 'recompute_batchnorm_statistics', 'split_at', 'unzip_tail',
           'zip_match', 'zip_models', 'zip_state_dicts']
