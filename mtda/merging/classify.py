"""What each state-dict entry is, decided from the module tree (never guessed from its name or position).

Every tensor a merge touches falls in exactly one class, and each class has one merge rule
(see :mod:`mtda.merging.rules`):

* ``PARAMETER``: a learned tensor (``named_parameters``), merged as a weighted average;
* ``BN_MEAN`` / ``BN_VAR``: ``running_mean`` / ``running_var`` of a BatchNorm layer, pooled as a
  mixture of the domains' activation statistics;
* ``BN_COUNTER``: a BatchNorm layer's ``num_batches_tracked``, the integer weight of that pooling;
* ``OTHER_BUFFER``: any other persisted buffer (index tables, masks, the running statistics of norms that
  are not BatchNorm such as InstanceNorm with ``track_running_stats``), which must be identical in all
  inputs because no rule says how to combine it.

A module counts as BatchNorm when it is an instance of ``torch.nn.modules.batchnorm._BatchNorm``
(BatchNorm1d/2d/3d, SyncBatchNorm and every mmcv/mmseg norm built on them). Norm layers that keep the same
buffers without subclassing it (mmcv's ``MMSyncBN``) can be added through ``batchnorm_types`` by the caller,
which keeps this module free of mmcv.
"""
import enum
from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypeVar

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mtda.errors import MergeError

BATCHNORM_TYPES: tuple[type[nn.Module], ...] = (_BatchNorm,)


class EntryKind(enum.Enum):
    """The class of a state-dict entry; each class has exactly one merge rule."""

    PARAMETER = 'parameter'
    BN_MEAN = 'bn_mean'
    BN_VAR = 'bn_var'
    BN_COUNTER = 'bn_counter'
    OTHER_BUFFER = 'other_buffer'


# Buffer names torch's BatchNorm registers; nothing else on a BatchNorm module is a running statistic.
_BATCHNORM_BUFFERS = {
    'running_mean': EntryKind.BN_MEAN,
    'running_var': EntryKind.BN_VAR,
    'num_batches_tracked': EntryKind.BN_COUNTER,
}


class BatchNormKeys(NamedTuple):
    """State-dict keys of one BatchNorm layer's running statistics."""

    mean: str
    var: str
    counter: str


def classify_state_dict_entries(
        model: nn.Module, *,
        batchnorm_types: tuple[type[nn.Module], ...] = BATCHNORM_TYPES) -> dict[str, EntryKind]:
    """Classify every entry of ``model.state_dict()``.

    Args:
        model: the module whose state dict will be merged (e.g. an mmseg segmentor).
        batchnorm_types: module classes whose ``running_mean``/``running_var``/``num_batches_tracked``
            buffers are BatchNorm statistics.

    Returns:
        ``{state_dict_key: EntryKind}`` in state-dict order, one entry per key of ``model.state_dict()``.
        Modules reachable under several names (shared submodules) appear under each name, as in the
        state dict.
    """
    kinds: dict[str, EntryKind] = {}
    # remove_duplicate=False: a shared submodule is saved under every name it has, so classify each.
    for prefix, module in model.named_modules(remove_duplicate=False):
        base = f'{prefix}.' if prefix else ''
        for name, _ in module.named_parameters(recurse=False, remove_duplicate=False):
            kinds[base + name] = EntryKind.PARAMETER
        is_batchnorm = isinstance(module, batchnorm_types)
        for name, _ in module.named_buffers(recurse=False, remove_duplicate=False):
            if is_batchnorm and name in _BATCHNORM_BUFFERS:
                kinds[base + name] = _BATCHNORM_BUFFERS[name]
            else:
                kinds[base + name] = EntryKind.OTHER_BUFFER
    # The state dict is the ground truth for which keys exist: it drops non-persistent buffers and adds
    # `_extra_state` entries, which are neither parameters nor buffers and so fall under OTHER_BUFFER.
    return {key: kinds.get(key, EntryKind.OTHER_BUFFER) for key in model.state_dict(keep_vars=True)}


_V = TypeVar('_V')


def _under(key: str, prefix: str) -> bool:
    prefix = prefix.rstrip('.')
    return key == prefix or key.startswith(prefix + '.')


def filter_by_prefix(entries: Mapping[str, _V], *, include: Sequence[str] = (),
                     exclude: Sequence[str] = ()) -> dict[str, _V]:
    """Keep the entries under some module prefixes, e.g. ``include=('backbone',)`` for an encoder-only merge.

    A prefix names a module: ``'backbone'`` (or ``'backbone.'``) matches ``backbone.conv1.weight`` but not
    ``backbone2.conv1.weight``. Works on entry kinds and on state dicts alike, so both sides of a merge can
    be restricted the same way.

    Args:
        entries: ``{state_dict_key: value}``.
        include: keep only keys under one of these prefixes; empty keeps every key.
        exclude: then drop keys under any of these prefixes.

    Returns:
        The selected entries, in their original order.

    Raises:
        MergeError: if nothing is left, naming the top-level modules that do exist.
    """
    kept = {key: value for key, value in entries.items()
            if (not include or any(_under(key, p) for p in include))
            and not any(_under(key, p) for p in exclude)}
    if not kept:
        top_level = sorted({key.split('.', 1)[0] for key in entries})
        raise MergeError(
            f'no state-dict entries left after include={list(include)} exclude={list(exclude)}; '
            f'the top-level modules are {top_level}')
    return kept


def batchnorm_layers(kinds: Mapping[str, EntryKind]) -> dict[str, BatchNormKeys]:
    """Group the BatchNorm entries of ``kinds`` by layer.

    Args:
        kinds: output of :func:`classify_state_dict_entries` (possibly filtered).

    Returns:
        ``{layer_prefix: BatchNormKeys}``; ``layer_prefix`` is the module name (``''`` for a root module).

    Raises:
        MergeError: if a layer lacks one of its three statistics (e.g. a filter cut through a layer).
    """
    layers: dict[str, dict[EntryKind, str]] = {}
    for key, kind in kinds.items():
        if kind in (EntryKind.BN_MEAN, EntryKind.BN_VAR, EntryKind.BN_COUNTER):
            layers.setdefault(key.rpartition('.')[0], {})[kind] = key
    grouped = {}
    for layer, keys in layers.items():
        missing = [name for name, kind in _BATCHNORM_BUFFERS.items() if kind not in keys]
        if missing:
            raise MergeError(
                f'BatchNorm layer {layer!r} has no {", ".join(missing)} entry; '
                'select whole layers (filter by module prefix) so each keeps all its statistics')
        grouped[layer] = BatchNormKeys(keys[EntryKind.BN_MEAN], keys[EntryKind.BN_VAR],
                                       keys[EntryKind.BN_COUNTER])
    return grouped
