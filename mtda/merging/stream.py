"""Merge K checkpoints holding only one of them in memory at a time.

Each checkpoint is loaded by its own zero-argument loader, validated in full against the first
(:mod:`mtda.merging.validate`), folded into the accumulators of :mod:`mtda.merging.rules` (a running
weighted mean in the parameters' dtype; float64 BatchNorm statistics) and released before the next loader
runs, so peak memory is one checkpoint plus one accumulator the size of the model, whatever K is. Nothing
is returned if any checkpoint fails a check.

Which rule an entry gets depends on its kind and on the buffer policy (``--buffers``)::

    kind           pool (default)    mean                  first         LMC path (internal)
    parameter      Σ w_i θ_i         Σ w_i θ_i             Σ w_i θ_i     (1−λ)θ_A + λθ_B
    BN mean, var   mixture, p ∝ n_i  Σ w_i μ_i, Σ w_i σ_i²  model 1's     mixture, p = (1−λ, λ)
    BN counter     Σ n_i (exact)     round(Σ w_i n_i)      model 1's     round((1−λ)n_A + λn_B)
    other buffer   identical         identical             model 1's     identical

* ``pool`` is the paper's rule (``merge.py``); the counters weight the statistics, ``--weights`` do not.
* ``mean`` is the naive baseline: every buffer is averaged like a parameter, counters included (rounded),
  so the variance lacks the between-domain term.
* ``first`` is what parameter-only merging tools do: the buffers are those of the first checkpoint.
* Buffers that are neither parameters nor BatchNorm statistics have no merge rule, so unless ``first`` is
  chosen they must be bit-identical in all checkpoints (they are constants such as index tables in
  models fine-tuned from one init); a difference is an error rather than a guessed average.
* Along the linear-mode-connectivity path the BatchNorm statistics are those of the data mixture with
  proportions (1−λ, λ): both endpoints reproduce the two models exactly, and with equal counters the
  midpoint equals the ``pool`` merge of the two.
"""
import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Optional

import torch

from mtda.errors import MergeError
from mtda.merging.classify import EntryKind, batchnorm_layers
from mtda.merging.rules import MomentPool, WeightedMean, normalize_merge_weights, weighted_counter
from mtda.merging.validate import Layout, all_finite, check_identical, check_state_dict, layout_of

Loader = Callable[[], Mapping[str, torch.Tensor]]
BUFFER_POLICIES = ('pool', 'mean', 'first')
# Not a --buffers choice: BN statistics pooled with the parameter weights as proportions (the LMC path).
_PATH = 'path'


class _Rule(enum.Enum):
    AVERAGE = 'weighted average'
    POOL_BY_COUNT = 'mixture weighted by counters'
    POOL_BY_WEIGHT = 'mixture weighted by the merge weights'
    SUM = 'exact sum'
    ROUNDED_AVERAGE = 'weighted average, rounded'
    FIRST = 'first checkpoint'
    IDENTICAL = 'identical in all'


_K = EntryKind
_RULES: dict[str, dict[EntryKind, _Rule]] = {
    'pool': {_K.PARAMETER: _Rule.AVERAGE, _K.BN_MEAN: _Rule.POOL_BY_COUNT, _K.BN_VAR: _Rule.POOL_BY_COUNT,
             _K.BN_COUNTER: _Rule.SUM, _K.OTHER_BUFFER: _Rule.IDENTICAL},
    'mean': {_K.PARAMETER: _Rule.AVERAGE, _K.BN_MEAN: _Rule.AVERAGE, _K.BN_VAR: _Rule.AVERAGE,
             _K.BN_COUNTER: _Rule.ROUNDED_AVERAGE, _K.OTHER_BUFFER: _Rule.IDENTICAL},
    'first': {_K.PARAMETER: _Rule.AVERAGE, _K.BN_MEAN: _Rule.FIRST, _K.BN_VAR: _Rule.FIRST,
              _K.BN_COUNTER: _Rule.FIRST, _K.OTHER_BUFFER: _Rule.FIRST},
    _PATH: {_K.PARAMETER: _Rule.AVERAGE, _K.BN_MEAN: _Rule.POOL_BY_WEIGHT, _K.BN_VAR: _Rule.POOL_BY_WEIGHT,
            _K.BN_COUNTER: _Rule.ROUNDED_AVERAGE, _K.OTHER_BUFFER: _Rule.IDENTICAL},
}


@dataclass(frozen=True)
class MergeResult:
    """A merged state dict and what produced it (for the output checkpoint's provenance).

    Args:
        state_dict: ``{key: tensor}`` in the first checkpoint's key order, dtypes as in the inputs.
        names: the merged checkpoints, in order.
        weights: the normalised parameter weights, in the same order.
        buffer_policy: the ``--buffers`` policy used.
        method: the parameter rule (``--method``; :mod:`mtda.merging.task_merge`).
        method_options: the options it used (λ, k, p, seed).
    """

    state_dict: dict[str, torch.Tensor]
    names: tuple[str, ...]
    weights: tuple[float, ...]
    buffer_policy: str
    method: str = 'average'
    method_options: Mapping[str, Any] = field(default_factory=dict)


def check_buffer_policy(policy: str) -> None:
    """Raise MergeError unless ``policy`` is one of :data:`BUFFER_POLICIES` (``--buffers``)."""
    if policy not in BUFFER_POLICIES:
        raise MergeError(f'unknown --buffers {policy!r}; choose one of {", ".join(BUFFER_POLICIES)}')


def merge_state_dicts(sources: Sequence[tuple[str, Loader]], *, kinds: Mapping[str, EntryKind],
                      weights: Optional[Sequence[float]] = None, buffer_policy: str = 'pool') -> MergeResult:
    """Merge K >= 2 checkpoints of one architecture, loading one at a time.

    Args:
        sources: ``(name, loader)`` per checkpoint; ``name`` (e.g. the file path) appears in messages and
            ``loader()`` returns its ``{key: tensor}``. Loaders run in order, each once, after the previous
            checkpoint has been released.
        kinds: the model's entry kinds (:func:`~mtda.merging.classify.classify_state_dict_entries`, possibly
            restricted with :func:`~mtda.merging.classify.filter_by_prefix`); the checkpoints must hold
            exactly these keys.
        weights: parameter weights, one positive number per checkpoint (normalised); default uniform.
        buffer_policy: ``'pool'`` (the paper's rule), ``'mean'`` or ``'first'``; see the module docstring.

    Returns:
        The merged state dict with its provenance.

    Raises:
        MergeError: fewer than two checkpoints, bad weights or policy, or a checkpoint that fails a check
            (the message names the checkpoint, the key and the fix).
    """
    sources = list(sources)
    names = tuple(name for name, _ in sources)
    if len(sources) < 2:
        raise MergeError(f'merging needs at least two checkpoints, got {len(sources)} ({", ".join(names)}); '
                         'pass two or more')
    check_buffer_policy(buffer_policy)
    weights = normalize_merge_weights(weights, len(sources), names=names)
    merged = fold_checkpoints(sources, kinds=kinds, weights=weights, policy=buffer_policy)
    return MergeResult(merged, names, tuple(weights), buffer_policy)


def interpolate_state_dicts(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], *, lam: float,
                            kinds: Mapping[str, EntryKind],
                            names: tuple[str, str] = ('model A', 'model B')) -> dict[str, torch.Tensor]:
    """The point θ(λ) = (1−λ)θ_A + λθ_B of the linear path between two checkpoints (LMC analysis).

    BatchNorm statistics follow the data mixture with proportions (1−λ, λ) and counters are interpolated
    and rounded, so λ=0 returns A and λ=1 returns B exactly; other buffers must be identical.

    Args:
        a: the state dict at λ = 0.
        b: the state dict at λ = 1.
        lam: the position on the path, in [0, 1].
        kinds: the model's entry kinds.
        names: names of ``a`` and ``b`` for messages (file paths).

    Raises:
        MergeError: ``lam`` outside [0, 1], or checkpoints that fail a check.
    """
    if isinstance(lam, bool) or not isinstance(lam, Real) or not math.isfinite(lam) or not 0 <= lam <= 1:
        raise MergeError(f'interpolation coefficient lambda={lam!r} is outside [0, 1]; '
                         'sample the path between the two checkpoints with 0 <= lambda <= 1')
    sources = [(names[0], lambda: a), (names[1], lambda: b)]
    return fold_checkpoints(sources, kinds=kinds, weights=[1.0 - lam, float(lam)], policy=_PATH)


class ParameterRule:
    """How the parameters of the streamed checkpoints are combined (default: the weighted mean).

    :func:`fold_checkpoints` calls :meth:`begin` once per checkpoint after it passed every check, then
    :meth:`add` per parameter, and :meth:`result` per parameter once all were added. The
    task-vector rules (:mod:`mtda.merging.task_merge`) subclass it.
    """

    def __init__(self) -> None:
        self._sums: dict[str, WeightedMean] = {}

    def begin(self, index: int, state: Mapping[str, torch.Tensor], keys: Sequence[str]) -> None:
        """A new checkpoint (``index`` in merge order) whose parameters ``keys`` follow."""

    def add(self, key: str, tensor: torch.Tensor, weight: float) -> None:
        self._sums.setdefault(key, WeightedMean()).add(tensor, weight)

    def result(self, key: str) -> torch.Tensor:
        return self._sums.pop(key).result()


def fold_checkpoints(sources: Sequence[tuple[str, Loader]], *, kinds: Mapping[str, EntryKind], weights: Sequence[float],
           policy: str, parameters: Optional[ParameterRule] = None) -> dict[str, torch.Tensor]:
    """The streaming loop shared by every merge and the interpolation; ``weights`` are final."""
    parameters = ParameterRule() if parameters is None else parameters
    if not kinds:
        raise MergeError('the model has no state-dict entries to merge; '
                         'check the model and any prefix filter')
    rules = {key: _RULES[policy][kind] for key, kind in kinds.items()}
    pooled_layers = {layer: keys for layer, keys in batchnorm_layers(kinds).items()
                     if rules[keys.mean] in (_Rule.POOL_BY_COUNT, _Rule.POOL_BY_WEIGHT)}
    averaged = [key for key, rule in rules.items() if rule is _Rule.AVERAGE]
    counted = [key for key, rule in rules.items() if rule in (_Rule.SUM, _Rule.ROUNDED_AVERAGE)]
    identical = [key for key, rule in rules.items() if rule is _Rule.IDENTICAL]
    # Entries taken from the first checkpoint; counters too, as templates for dtype, shape and device.
    copied = [key for key, rule in rules.items() if rule in (_Rule.FIRST, _Rule.IDENTICAL)] + counted

    pools = {layer: MomentPool(layer=layer) for layer in pooled_layers}
    counts: dict[str, list[int]] = {key: [] for key in counted}
    reference: Optional[Layout] = None
    copies: dict[str, torch.Tensor] = {}
    for index, ((name, load), weight) in enumerate(zip(sources, weights)):
        state = load()
        check_state_dict(state, name=name, kinds=kinds, reference=reference,
                         finite_later=(EntryKind.PARAMETER,))
        if reference is None:
            reference = layout_of(state, name=name)
            # Clones, so that holding them does not keep the first checkpoint's storage alive.
            copies = {key: state[key].detach().clone() for key in copied}
        else:
            for key in identical:
                check_identical(state[key], copies[key], key=key, name=name, reference_name=reference.name)
        # Arithmetic starts only once every check on this checkpoint has passed.
        parameters.begin(index, state, averaged)
        for key in averaged:
            parameters.add(key, state[key], weight)
        for layer, keys in pooled_layers.items():
            share = int(state[keys.counter]) if rules[keys.mean] is _Rule.POOL_BY_COUNT else weight
            if share == 0 and rules[keys.mean] is _Rule.POOL_BY_COUNT:
                # the paper's rule would drop this checkpoint's statistics without a word
                raise MergeError(f'{name}: BatchNorm layer {layer!r} has num_batches_tracked = 0 (its '
                                 'statistics were never updated, or the counter was reset), so '
                                 '--buffers pool would give them no weight; use --buffers mean or '
                                 'first, or re-export the checkpoint from its training run')
            pools[layer].add(state[keys.mean], state[keys.var], share)
        for key in counted:
            counts[key].append(int(state[key]))
        del state  # release this checkpoint before the next loader runs

    merged: dict[str, torch.Tensor] = {key: parameters.result(key) for key in averaged}
    if not all(all_finite(merged[key]) for key in averaged):
        # NaN/Inf in any input reaches the average; re-read the inputs to name the file (error path)
        for name, load in sources:
            check_state_dict(load(), name=name, kinds=kinds, reference=reference)
        raise MergeError(f'the merged parameters overflowed (inputs: {", ".join(n for n, _ in sources)}); '
                         'check the checkpoints for extreme values')
    for layer, keys in pooled_layers.items():
        merged[keys.mean], merged[keys.var] = pools[layer].result()
    for key in counted:
        total = sum(counts[key]) if rules[key] is _Rule.SUM else weighted_counter(counts[key], weights)
        merged[key] = torch.full_like(copies[key], total)
    for key, rule in rules.items():
        if rule in (_Rule.FIRST, _Rule.IDENTICAL):
            merged[key] = copies[key]
    del pools, copies
    # Cast back one entry at a time (BN statistics are float64; parameters are already in their dtype),
    # each intermediate freed as soon as it is cast.
    return {key: merged.pop(key).to(dtype) for key, (_, dtype) in reference.specs.items()}
