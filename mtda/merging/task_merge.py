"""Streamed task-vector merges: ``--method task-arithmetic | ties | dare | dare-ties``.

The per-tensor rules are in :mod:`mtda.merging.task_vectors`; this module streams them over the
checkpoints with the loop of :mod:`mtda.merging.stream`, so BatchNorm statistics still go through
the ``--buffers`` policy (never treated as task vectors), integer counters stay exact, and memory
holds the base, one accumulator and one input whatever N is. TIES and DARE-TIES read the inputs
twice: the sign election, then the disjoint mean. The methods' defaults beside the papers'
values, and why top-k is per tensor by default, are in ``docs/merging.md`` (Methods).
"""
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import torch

from mtda.errors import MergeError
from mtda.merging.classify import EntryKind
from mtda.merging.stream import Loader, MergeResult, ParameterRule, check_buffer_policy, fold_checkpoints
from mtda.merging.task_vectors import (DisjointMean, SignElection, check_fraction, dare,
                                       magnitude_threshold, task_vector, trim_to_top_k)
from mtda.merging.validate import check_state_dict

METHODS = ('average', 'task-arithmetic', 'ties', 'dare', 'dare-ties')
TOPK_SCOPES = ('tensor', 'global')
__all__ = ['METHODS', 'TOPK_SCOPES', 'TaskMethod', 'merge_task_vectors']


@dataclass(frozen=True)
class TaskMethod:
    """A merge method and its options (``tools/merge.py --method ... --scale --density --drop``).

    Args:
        name: one of :data:`METHODS`; ``'average'`` is the plain weighted average (no base).
        scale: λ; ``None``: 1/N for task-arithmetic and dare, 1 for ties and dare-ties.
        density: the fraction of each task vector TIES keeps (top-k by magnitude).
        drop: DARE's drop probability.
        topk: ``'tensor'`` (k % of each entry) or ``'global'`` (k % of the whole model).
        seed: seed of DARE's masks (per checkpoint and entry, so both TIES passes agree).
    """

    name: str = 'average'
    scale: Optional[float] = None
    density: float = 0.2
    drop: float = 0.9
    topk: str = 'tensor'
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise MergeError(f'unknown --method {self.name!r}; choose one of {", ".join(METHODS)}')
        if self.topk not in TOPK_SCOPES:
            raise MergeError(f'unknown --topk {self.topk!r}; choose one of {", ".join(TOPK_SCOPES)}')
        check_fraction(self.density, option='--density')
        check_fraction(self.drop, option='--drop', allow_one=False)
        if self.scale is not None and not (isinstance(self.scale, (int, float))
                                           and not isinstance(self.scale, bool)
                                           and 0 < self.scale < float('inf')):
            raise MergeError(f'--scale {self.scale!r} must be a positive number')

    @property
    def uses_base(self) -> bool:
        return self.name != 'average'

    @property
    def elects_signs(self) -> bool:
        return self.name in ('ties', 'dare-ties')

    def lam(self, n: int) -> float:
        if self.scale is not None:
            return float(self.scale)
        return 1.0 if self.elects_signs else 1.0 / n

    def options(self, n: int) -> dict:
        """What the merged file's provenance records."""
        used = dict(scale=self.lam(n))
        if self.name == 'ties':
            used.update(density=self.density, topk=self.topk)
        if self.name.startswith('dare'):
            used.update(drop=self.drop, seed=self.seed)
        return used


class _TaskVectorRule(ParameterRule):
    """One pass over the inputs' task vectors: their sum, the sign election or the disjoint mean."""

    def __init__(self, method: TaskMethod, base: Mapping[str, torch.Tensor], names: Sequence[str],
                 signs: Optional[Mapping[str, torch.Tensor]] = None,
                 thresholds: Optional[dict] = None):
        super().__init__()
        self.method, self.base, self.names, self.signs = method, base, names, signs
        # TIES' trim thresholds per (checkpoint, entry), found in the first pass and reused in
        # the second: selecting the k-th largest magnitude is most of TIES' arithmetic
        self.thresholds = {} if thresholds is None else thresholds
        self.index = 0
        self.folds: dict = {}

    def begin(self, index, state, keys):
        self.index = index
        if (self.method.name == 'ties' and self.method.topk == 'global'
                and (index, None) not in self.thresholds):
            magnitudes = torch.cat([task_vector(state[k], self.base[k], key=k).abs().reshape(-1)
                                    for k in keys])
            self.thresholds[index, None] = magnitude_threshold(magnitudes, self.method.density)

    def prepared(self, key: str, tensor: torch.Tensor) -> torch.Tensor:
        """τ̂_i of this entry: the task vector, dropped (DARE) or trimmed (TIES)."""
        tau = task_vector(tensor, self.base[key], key=key)
        if not bool(torch.isfinite(tau).all()):  # a trim or drop could hide a NaN from the result
            raise MergeError(f'{self.names[self.index]}: {key!r} holds NaN or Inf; re-export the '
                             'checkpoint from its training run')
        if self.method.name.startswith('dare'):
            seed = (self.method.seed * 1_000_003 + self.index) * 4_294_967_311 + zlib.crc32(
                key.encode())
            return dare(tau, self.method.drop, torch.Generator().manual_seed(seed % 2 ** 63))
        if self.method.name == 'ties':
            slot = (self.index, None if self.method.topk == 'global' else key)
            if slot not in self.thresholds:
                self.thresholds[slot] = magnitude_threshold(tau.abs(), self.method.density)
            return trim_to_top_k(tau, self.method.density, self.thresholds[slot])
        return tau

    def add(self, key, tensor, weight):
        tau = self.prepared(key, tensor)
        if self.signs is not None:
            self.folds.setdefault(key, DisjointMean(self.signs[key])).add(tau)
        elif self.method.elects_signs:
            self.folds.setdefault(key, SignElection()).add(tau)
        elif key in self.folds:
            self.folds[key].add_(tau)
        else:
            self.folds[key] = tau.clone()

    def result(self, key):
        fold = self.folds.pop(key)
        return fold.result() if isinstance(fold, (SignElection, DisjointMean)) else fold


def merge_task_vectors(sources: Sequence[tuple[str, Loader]], *, base: Mapping[str, torch.Tensor],
                       base_name: str, kinds: Mapping[str, EntryKind], method: TaskMethod,
                       buffer_policy: str = 'pool') -> MergeResult:
    """Merge N >= 2 checkpoints fine-tuned from ``base`` by one of the task-vector methods.

    Args:
        sources: ``(name, loader)`` per checkpoint, as for
            :func:`~mtda.merging.stream.merge_state_dicts`; TIES calls each loader twice.
        base: the shared init's state dict (task vectors are taken against it).
        base_name: its file name, for messages.
        kinds: the model's entry kinds.
        method: a :class:`TaskMethod` other than ``'average'``.
        buffer_policy: what happens to the BatchNorm statistics (``--buffers``).

    Raises:
        MergeError: fewer than two checkpoints, a base that is not of the model, or a checkpoint
            that fails a check.
    """
    sources = list(sources)
    names = tuple(name for name, _ in sources)
    if len(sources) < 2:
        raise MergeError(f'merging needs at least two checkpoints, got {len(sources)}; pass two '
                         'or more')
    if not method.uses_base:
        raise MergeError('merge_task_vectors needs a task-vector method, not average')
    check_buffer_policy(buffer_policy)
    check_state_dict(base, name=base_name, kinds=kinds)
    n = len(sources)
    weights = [1.0 / n] * n
    first_pass = _TaskVectorRule(method, base, names)
    merged = fold_checkpoints(sources, kinds=kinds, weights=weights, policy=buffer_policy,
                    parameters=first_pass)
    parameters = [key for key, kind in kinds.items() if kind is EntryKind.PARAMETER]
    order = list(merged)
    dtypes = {key: merged[key].dtype for key in parameters}  # the inputs' dtypes
    if method.elects_signs:  # second pass: the disjoint mean under the elected signs
        second = _TaskVectorRule(method, base, names, signs={k: merged.pop(k).to(torch.int8)
                                                      for k in parameters},
                                 thresholds=first_pass.thresholds)
        for index, (name, load) in enumerate(sources):
            state = load()
            check_state_dict(state, name=name, kinds=kinds)
            second.begin(index, state, parameters)
            for key in parameters:
                second.add(key, state[key], 1.0)
            del state
        taus = {key: second.result(key) for key in parameters}
    else:
        taus = {key: merged.pop(key) for key in parameters}
    lam = method.lam(n)
    for key in parameters:
        start = base[key].to(torch.promote_types(base[key].dtype, torch.float32))
        merged[key] = (start + lam * taus.pop(key).to(start.dtype)).to(dtypes[key])
    merged = {key: merged[key] for key in order}
    return MergeResult(merged, names, tuple(weights), buffer_policy, method.name,
                       method.options(n))
