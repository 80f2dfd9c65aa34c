"""Checks that run before any arithmetic: can these checkpoints be merged at all?

Entries are matched by key, never by position (the paper's ``merge.py`` zips ``parameters()`` by order,
which silently mixes tensors when two architectures differ). Every check raises a one-line
:class:`~mtda.errors.MergeError` naming the file, the key and the fix, so a tool can print it and exit
without writing anything. Lineage (a shared init) is checked from checkpoint metadata, because a merge of
models fine-tuned from different inits runs without error and silently produces a useless model.
"""
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch

from mtda.errors import MergeError
from mtda.merging.classify import EntryKind, batchnorm_layers

# mmseg names its classifier `conv_seg` (BaseDecodeHead); its out-channels are the number of classes.
CLASSIFIER_SUFFIXES = ('conv_seg.weight', 'conv_seg.bias')
# Kinds that enter arithmetic, so they must be floating point and finite.
_ARITHMETIC_KINDS = (EntryKind.PARAMETER, EntryKind.BN_MEAN, EntryKind.BN_VAR)
_SHOWN_KEYS = 3


@dataclass(frozen=True)
class Layout:
    """Shapes and dtypes of the first checkpoint, which every later one must match.

    Args:
        name: the first checkpoint's name (file path), for messages.
        specs: ``{key: (shape, dtype)}`` in state-dict order.
    """

    name: str
    specs: Mapping[str, tuple[torch.Size, torch.dtype]]


def layout_of(state: Mapping[str, torch.Tensor], *, name: str) -> Layout:
    """Record the shapes and dtypes of ``state`` (no tensor is kept, so ``state`` can be freed).

    Args:
        state: a validated state dict.
        name: its name (file path).
    """
    return Layout(name, {key: (tensor.shape, tensor.dtype) for key, tensor in state.items()})


def _some(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    shown = ', '.join(repr(k) for k in keys[:_SHOWN_KEYS])
    return shown + (f' and {len(keys) - _SHOWN_KEYS} more' if len(keys) > _SHOWN_KEYS else '')


def _check_keys(keys: Iterable[str], *, expected: Iterable[str], name: str, expected_from: str,
                fix: str) -> None:
    keys, expected = set(keys), set(expected)
    missing, extra = expected - keys, keys - expected
    if missing:
        raise MergeError(f'{name} lacks {len(missing)} key(s) that {expected_from} has '
                         f'({_some(missing)}); {fix}')
    if extra:
        raise MergeError(f'{name} has {len(extra)} key(s) that {expected_from} lacks ({_some(extra)}); {fix}')


def _shape(shape: torch.Size) -> str:
    return str(tuple(shape))


def _check_kind_dtypes(state: Mapping[str, torch.Tensor], *, kinds: Mapping[str, EntryKind],
                       name: str) -> None:
    """Dtypes and shapes each kind's rule needs; only for the first checkpoint, the others must match it."""
    fix = 'the checkpoint does not fit the model it is merged into'
    for key, kind in kinds.items():
        tensor = state[key]
        if kind in _ARITHMETIC_KINDS and not tensor.is_floating_point():
            raise MergeError(f'{key!r} in {name} is {tensor.dtype}, but a {kind.value} must be floating '
                             f'point to be averaged; {fix}')
        if kind is EntryKind.BN_COUNTER and (tensor.is_floating_point() or tensor.is_complex()
                                             or tensor.dtype == torch.bool or tensor.numel() != 1):
            raise MergeError(f'{key!r} in {name} is a {tensor.dtype} tensor of shape {_shape(tensor.shape)}, '
                             f'but num_batches_tracked must be one integer; {fix}')
    for layer, keys in batchnorm_layers(kinds).items():
        mean, var = state[keys.mean], state[keys.var]
        if mean.dim() != 1 or mean.shape != var.shape:
            raise MergeError(f'BatchNorm layer {layer!r} in {name} has running_mean of shape '
                             f'{_shape(mean.shape)} and running_var of shape {_shape(var.shape)}; {fix}')


def _shape_mismatch(key: str, shape: torch.Size, ref_shape: torch.Size, *, name: str, ref_name: str) -> str:
    if key.endswith(CLASSIFIER_SUFFIXES) and len(shape) and len(ref_shape) and shape[1:] == ref_shape[1:]:
        return (f'num_classes differ: {ref_shape[0]} in {ref_name} vs {shape[0]} in {name} ({key!r}); '
                'merge models trained for the same classes')
    return (f'{key!r} has shape {_shape(shape)} in {name} but {_shape(ref_shape)} in {ref_name}; '
            'merge checkpoints of one architecture (same model config)')


def _check_layout(state: Mapping[str, torch.Tensor], *, reference: Layout, name: str) -> None:
    for key, (ref_shape, ref_dtype) in reference.specs.items():
        tensor = state[key]
        if tensor.shape != ref_shape:
            raise MergeError(
                _shape_mismatch(key, tensor.shape, ref_shape, name=name, ref_name=reference.name))
        if tensor.dtype != ref_dtype:
            raise MergeError(f'{key!r} is {tensor.dtype} in {name} but {ref_dtype} in {reference.name}; '
                             f'convert {name} to {ref_dtype} (all checkpoints must share one precision)')


def all_finite(tensor: torch.Tensor) -> bool:
    # A sum is finite only if every element is (Inf and NaN propagate through addition), so one cheap
    # reduction clears the usual case; a non-finite sum may be mere overflow, which the full test settles.
    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())


def _check_values(state: Mapping[str, torch.Tensor], *, kinds: Mapping[str, EntryKind], name: str,
                  finite_later: Collection[EntryKind] = ()) -> None:
    for key, kind in kinds.items():
        tensor = state[key].detach()
        if kind in _ARITHMETIC_KINDS and kind not in finite_later and not all_finite(tensor):
            bad = 'NaN' if bool(torch.isnan(tensor).any()) else 'Inf'
            raise MergeError(f'{name} holds {bad} in {key!r}; the checkpoint is corrupt or its training '
                             'diverged: re-export it or leave it out of the merge')
        if kind is EntryKind.BN_VAR and bool((tensor < 0).any()):
            raise MergeError(f'{name} holds a negative running_var in {key!r}; the checkpoint is corrupt: '
                             're-export it or leave it out of the merge')
        if kind is EntryKind.BN_COUNTER and int(tensor) < 0:
            raise MergeError(f'{name} holds a negative num_batches_tracked in {key!r}; the checkpoint is '
                             'corrupt: re-export it or leave it out of the merge')


def check_state_dict(state: Mapping[str, Any], *, name: str, kinds: Mapping[str, EntryKind],
                     reference: Optional[Layout] = None,
                     finite_later: Collection[EntryKind] = ()) -> None:
    """Everything that must hold for ``state`` before it is added to a merge.

    The first checkpoint is checked against the model (``kinds``): same keys, and the dtypes each kind's
    rule needs. Every later one is checked against the first (``reference``): same keys, shapes and
    dtypes. All are checked for finite parameters and BatchNorm statistics, non-negative running
    variances and counters.

    Args:
        state: ``{key: tensor}`` of one checkpoint.
        name: its name (file path), used in messages.
        kinds: the model's entry kinds (:func:`~mtda.merging.classify.classify_state_dict_entries`).
        reference: the first checkpoint's :class:`Layout`; ``None`` when ``state`` is the first.
        finite_later: kinds whose finiteness the caller checks on the merged result instead (NaN and
            Inf propagate through the average), saving a pass over every input.

    Raises:
        MergeError: naming ``name``, the offending key and the fix.
    """
    fix = 'merge checkpoints of one architecture (same model config)'
    if reference is None:
        _check_keys(state.keys(), expected=kinds.keys(), name=name, expected_from='the model', fix=fix)
    else:
        _check_keys(state.keys(), expected=reference.specs.keys(), name=name, expected_from=reference.name,
                    fix=fix)
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise MergeError(f'{key!r} in {name} is a {type(value).__name__}, not a tensor; '
                             'pass a plain {key: tensor} state dict (no extra state)')
    if reference is None:
        _check_kind_dtypes(state, kinds=kinds, name=name)
    else:
        _check_layout(state, reference=reference, name=name)
    _check_values(state, kinds=kinds, name=name, finite_later=finite_later)


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    # Bitwise, so that equal NaN/Inf placeholders (e.g. -inf attention masks) count as identical.
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = a.detach().reshape(-1), b.detach().to(a.device).reshape(-1)
    if a.dtype == torch.bool:
        return torch.equal(a, b)
    return torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


def check_identical(tensor: torch.Tensor, reference: torch.Tensor, *, key: str, name: str,
                    reference_name: str) -> None:
    """An entry without a merge rule (``OTHER_BUFFER``) must be the same in every checkpoint.

    Args:
        tensor: the entry in checkpoint ``name``.
        reference: the same entry in the first checkpoint.
        key: its state-dict key.
        name: the checkpoint being checked.
        reference_name: the first checkpoint.

    Raises:
        MergeError: if the two differ in any bit.
    """
    if not _same_bits(tensor, reference):
        raise MergeError(f'buffer {key!r} differs between {reference_name} and {name}, and it is neither a '
                         'parameter nor a BatchNorm statistic, so no rule merges it; '
                         f'use --buffers first to keep the copy in {reference_name}')


def check_lineage(metas: Sequence[tuple[str, Mapping[str, Any]]], *,
                  allow_different_init: bool = False) -> list[str]:
    """Merging assumes the models were fine-tuned from one init; compare their ``init_sha256``.

    Args:
        metas: ``(name, meta)`` per checkpoint; ``meta`` may hold ``init_sha256`` (the sha256 of
            the training init's weights, :func:`~mtda.io.weights_sha256`, written by training).
        allow_different_init: turn a mismatch into a warning instead of an error.

    Returns:
        Warning lines: checkpoints without ``init_sha256``, and a tolerated mismatch.

    Raises:
        MergeError: if two checkpoints name different inits and ``allow_different_init`` is false.
    """
    warnings = []
    by_init: dict[str, list[str]] = {}
    for name, meta in metas:
        init = meta.get('init_sha256') if meta else None
        if init:
            by_init.setdefault(str(init), []).append(name)
        else:
            warnings.append(f'{name} records no init_sha256, so a shared init cannot be checked for it')
    if len(by_init) > 1:
        groups = '; '.join(f'{init[:12]} in {", ".join(names)}' for init, names in by_init.items())
        if not allow_different_init:
            raise MergeError(f'checkpoints were fine-tuned from different inits (init_sha256 {groups}); '
                             'merging needs one shared init: pass --allow-different-init to merge anyway')
        warnings.append(f'merging checkpoints from different inits (init_sha256 {groups})')
    return warnings
