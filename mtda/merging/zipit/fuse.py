"""ZipIt!'s fusion: every layer of N models folded into one, W* = Σᵢ Mᵢ Wᵢ Uᵢ.

The graph ZipIt! walks to propagate its matrices (``gstoica27/ZipIt``, ``graphs/``) is, for mtda's
architectures, the :class:`~mtda.merging.rebasin.spec.PermutationSpec` Re-Basin already uses: a
group is one feature space, and each entry names the group of each axis. A permutation is the
special case of a merge matrix whose clusters hold one feature per model, so the same spec carries
ZipIt!'s matrices:

* axis 0 of an entry (a layer's outputs, a per-channel vector: bias, BatchNorm, depthwise kernel)
  is *merged*: ``Mᵢ`` of its group, applied block by block on a concatenated axis;
* every other axis with a group (a layer's inputs) is *unmerged*: ``Uᵢ``, so layer i reads its own
  features back from the merged ones;
* an axis without a group is left as it is; an entry whose axis 0 has no group (the classifier, the
  attention's query/key/value rows) is weighted by its model's weight instead, so the sum over
  models is the weighted average there.

Per-channel operations (BatchNorm, activations, a depthwise convolution) commute with this only
because each merged feature reads one cluster: ``Uᵢ`` is one-hot, ``Mᵢ`` is supported on ``Uᵢᵀ``.
BatchNorm running statistics are pooled as the mixture of the cluster's Gaussians (the mean of the
members' means; variance E[x²] − E[x]²), a starting point that ZipIt! then re-estimates on images
(:func:`mtda.merging.zipit.batchnorm.recompute_batchnorm_statistics`).

Partial zipping leaves the groups past the cut out of ``matches``: their axes are left as they
are, and :func:`unzip_tail` gives each model its own copy of those layers, reading the zipped trunk
through ``Uᵢ``.
"""
from collections.abc import Mapping, Sequence
from typing import Optional

import torch

from mtda.errors import MergeError
from mtda.merging.rebasin.spec import PermutationSpec, groups_of
from mtda.merging.zipit.matching import ZipMatch

__all__ = ['unzip_tail', 'zip_state_dicts']


def _apply_blocks(value: torch.Tensor, dim: int, blocks: Sequence[Optional[torch.Tensor]],
                  sizes: Sequence[int]) -> torch.Tensor:
    """``value`` with each block of axis ``dim`` replaced by ``matrix @ block`` (None: unchanged)."""
    pieces = []
    for block, matrix in zip(value.split(list(sizes), dim=dim), blocks):
        if matrix is not None:
            block = torch.tensordot(matrix, block.movedim(dim, 0), dims=1).movedim(0, dim)
        pieces.append(block)
    return torch.cat(pieces, dim=dim)


def _transform(value: torch.Tensor, key: str, model: int, spec: PermutationSpec,
               matches: Mapping[str, ZipMatch], weight: float) -> torch.Tensor:
    """Model ``model``'s entry as the merged layer reads and writes it, before the sum over models."""
    value = value.double()
    output_merged = False
    for dim, axis in enumerate(spec.axes[key]):
        groups = groups_of(axis)
        if not any(g in matches for g in groups):
            continue
        if dim == 0:
            blocks = [matches[g].merge_of(model) if g in matches else None for g in groups]
            output_merged = all(g in matches for g in groups)
        else:
            blocks = [matches[g].unmerge_of(model).T if g in matches else None for g in groups]
        value = _apply_blocks(value, dim, blocks, [spec.sizes[g] for g in groups])
    return value if output_merged else value * weight


def zip_state_dicts(states: Sequence[Mapping[str, torch.Tensor]], spec: PermutationSpec,
                    matches: Mapping[str, ZipMatch], *,
                    weights: Optional[Sequence[float]] = None) -> dict[str, torch.Tensor]:
    """The zipped state dict of N models: every entry Σᵢ Mᵢ Wᵢ Uᵢ (see the module docstring).

    Args:
        states: the N models' state dicts, in the order of the matches' model blocks.
        spec: the models' feature groups.
        matches: ``{group: ZipMatch}`` of the zipped groups (all of them for a full zip). The
            weights the matches were built with are the weights of the merged features.
        weights: the models' weights (normalised) for axes no zipped group merges; default uniform.

    Returns:
        ``{key: tensor}`` in the first model's key order and dtypes. Integer entries (BatchNorm's
        ``num_batches_tracked``) are the first model's.
    """
    count = len(states)
    if count < 2:
        raise MergeError(f'ZipIt merges two or more models, got {count}')
    for match in matches.values():
        if match.num_models != count:
            raise MergeError(f'ZipIt: matches of {match.num_models} models for {count} state dicts')
    weights = [1.0 / count] * count if weights is None \
        else [w / sum(weights) for w in weights]
    zipped = {}
    for key, first in states[0].items():
        if not first.is_floating_point():
            zipped[key] = first
            continue
        if key.endswith('running_var') and key in spec.axes:
            mean_key = key[:-len('running_var')] + 'running_mean'
            second = sum(_transform(s[key] + s[mean_key].double() ** 2, key, i, spec, matches,
                                    weights[i]) for i, s in enumerate(states))
            mean = sum(_transform(s[mean_key], mean_key, i, spec, matches, weights[i])
                       for i, s in enumerate(states))
            value = (second - mean ** 2).clamp(min=0)
        elif key in spec.axes:
            value = sum(_transform(s[key], key, i, spec, matches, weights[i])
                        for i, s in enumerate(states))
        else:
            value = sum(w * s[key].double() for w, s in zip(weights, states))
        zipped[key] = value.to(first.dtype)
    return zipped


def unzip_tail(state: Mapping[str, torch.Tensor], model: int, spec: PermutationSpec,
               matches: Mapping[str, ZipMatch], keys: Sequence[str]) -> dict[str, torch.Tensor]:
    """Model ``model``'s own copy of the layers ``keys`` past the cut, reading the zipped trunk.

    Only the axes of zipped groups (the trunk's features the tail reads) change: ``Uᵢ`` on an input
    axis. A tail entry whose output is a zipped group would be part of the trunk, and is refused.
    """
    tail = {}
    for key in keys:
        value = state[key]
        if key in spec.axes:
            if any(g in matches for g in groups_of(spec.axes[key][0])):
                raise MergeError(f'{key} writes a zipped feature space, so it belongs to the '
                                 'zipped trunk, not to a per-model tail')
            if value.is_floating_point():
                value = _transform(value, key, model, spec, matches, 1.0).to(value.dtype)
        tail[key] = value
    return tail
