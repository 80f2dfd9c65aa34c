"""ZipIt! end to end on N built models: correlate, match, fuse, re-estimate BatchNorm, split tails.

::

    zip_models(models, spec, batches, run, alpha, beta, weights, until)
      split_at(spec, keys, until)        which groups are zipped; the entries past the cut (the tails)
      feature_points + collect_correlations   features of the N models on the same batches
      zip_match per zipped group          merge / unmerge matrices (ZipIt! §4)
      zip_state_dicts                     W* = Σᵢ Mᵢ Wᵢ Uᵢ (tail entries: the weighted mean through Uᵢ)
      unzip_tail per model                each model's own layers past the cut, reading the trunk
      recompute_batchnorm_statistics      the merged model (and each tail) on the same batches

Partial zipping (``until``) is ZipIt!'s "zip up to layer L" (§4.4): everything before the first
entry whose key starts with ``until`` is one shared trunk, every entry from there on is kept per
model (a multi-head model). mtda evaluates such a file with each domain's own tail, as ``--heads
separate`` does with decode heads.

Models and inputs are the caller's: ``run(model, batch)`` does one forward pass, so this module
needs neither mmseg nor a dataset.
"""
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import nn

from mtda.errors import MergeError
from mtda.merging.classify import BATCHNORM_TYPES
from mtda.merging.rebasin.spec import PermutationSpec
from mtda.merging.zipit.batchnorm import recompute_batchnorm_statistics
from mtda.merging.zipit.features import collect_correlations, feature_points
from mtda.merging.zipit.fuse import unzip_tail, zip_state_dicts
from mtda.merging.zipit.matching import ZipMatch, zip_match

__all__ = ['Zipped', 'split_at', 'zip_models']


@dataclass
class Zipped:
    """What :func:`zip_models` produced.

    Args:
        state_dict: the zipped model (a partial zip's tail entries: the weighted mean of the
            models' tails, each read through its ``Uᵢ``).
        tails: each model's own entries past the cut, in model order (empty for a full zip).
        matches: ``{group: ZipMatch}`` of the zipped groups.
        batchnorm_layers: how many BatchNorm layers were re-estimated (0: not asked).
    """

    state_dict: dict[str, torch.Tensor]
    tails: list = field(default_factory=list)
    matches: dict = field(default_factory=dict)
    batchnorm_layers: int = 0

    def within_model_merges(self) -> int:
        """Clusters, over all zipped groups, that hold two features of one model."""
        return sum(match.within_model_merges() for match in self.matches.values())


def split_at(spec: PermutationSpec, keys: Sequence[str], until: Optional[str]
             ) -> tuple[list[str], list[str]]:
    """The groups to zip and the tail entries for a cut before the first key starting with ``until``.

    A group is zipped when every entry that writes it (axis 0: a layer's outputs, its norm) is
    before the cut. ``until=None`` zips every group and leaves no tail.

    Raises:
        MergeError: no key starts with ``until``, or the cut falls inside a feature space (a
            residual stream written on both sides).
    """
    if until is None:
        return list(spec.groups), []
    cut = next((i for i, key in enumerate(keys) if key == until or key.startswith(until + '.')),
               None)
    if cut is None or cut == 0:
        modules = sorted({key.split('.')[0] for key in keys})
        raise MergeError(f'--zip-until {until}: ' + (
            'no entry of the model starts with it' if cut is None else 'nothing comes before it')
            + f'; name a module after the first, such as {modules[-1]} or a backbone stage')
    trunk = set(keys[:cut])
    zipped = []
    for group in spec.groups:
        writers = [use.key for use in spec.uses[group] if use.dim == 0]
        inside = [key for key in writers if key in trunk]
        if inside and len(inside) < len(writers):
            outside = next(key for key in writers if key not in trunk)
            raise MergeError(f'--zip-until {until} cuts feature space {group!r}, written by '
                             f'{inside[0]} before the cut and {outside} after it; cut where a '
                             'stage or block begins')
        if inside:
            zipped.append(group)
    return zipped, list(keys[cut:])


def zip_models(models: Sequence[nn.Module], spec: PermutationSpec, batches: Sequence[Any],
               run: Callable[[nn.Module, Any], None], *, alpha: float = 0.5, beta: float = 0.0,
               weights: Optional[Sequence[float]] = None, until: Optional[str] = None,
               recompute_batchnorm: bool = True,
               batchnorm_types: tuple = BATCHNORM_TYPES) -> Zipped:
    """Zip N models of one architecture into one (or a shared trunk and N tails).

    Args:
        models: the N built models with their weights, in merge order (left unchanged).
        spec: their feature groups (:func:`mtda.models.permutation_specs.permutation_spec_of`).
        batches: the inputs the features are correlated on and BatchNorm re-estimated on; a
            sequence, since it is read more than once.
        run: ``run(model, batch)``: one forward pass.
        alpha, beta: :func:`~mtda.merging.zipit.matching.zip_match`'s options.
        weights: one positive weight per model (normalised); default uniform.
        until: the cut of a partial zip (see :func:`split_at`); ``None``: zip everything.
        recompute_batchnorm: re-estimate BatchNorm statistics on ``batches`` after the fusion.
        batchnorm_types: the classes that keep running statistics.

    Raises:
        MergeError: fewer than two models, weights of the wrong length, a bad cut, a group that
            cannot be read.
    """
    count = len(models)
    if count < 2:
        raise MergeError(f'ZipIt merges two or more models, got {count}')
    if weights is not None and (len(weights) != count or min(weights) <= 0):
        raise MergeError(f'ZipIt: {len(weights)} weights for {count} models; give one positive '
                         'weight per model')
    if not batches:
        raise MergeError('ZipIt correlates features on images, and got none')
    states = [model.state_dict() for model in models]
    groups, tail_keys = split_at(spec, list(states[0]), until)
    points = feature_points(models[0], spec, groups)
    correlations = collect_correlations(models, points, batches, run)
    matches: Mapping[str, ZipMatch] = {  # each correlation let go once matched
        group: zip_match(correlations.pop(group), count, alpha=alpha, beta=beta, weights=weights)
        for group in groups}
    zipped = Zipped(zip_state_dicts(states, spec, matches, weights=weights),
                    [unzip_tail(state, i, spec, matches, tail_keys)
                     for i, state in enumerate(states)] if tail_keys else [],
                    dict(matches))
    if recompute_batchnorm:
        merged = copy.deepcopy(models[0])
        for i, tail in enumerate([None, *zipped.tails]):
            merged.load_state_dict({**zipped.state_dict, **(tail or {})})
            zipped.batchnorm_layers = recompute_batchnorm_statistics(
                merged, batches, run, batchnorm_types=batchnorm_types)
            measured = merged.state_dict()
            if tail is None:
                zipped.state_dict = {k: v.detach().clone() for k, v in measured.items()}
            else:
                zipped.tails[i - 1] = {k: measured[k].detach().clone() for k in tail}
        del merged
    return zipped
