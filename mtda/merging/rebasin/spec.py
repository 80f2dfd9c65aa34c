"""Which axis of which tensor a permutation of hidden units acts on, and applying permutations.

A network computes the same function after its hidden units are reordered, provided every tensor
that produces or reads those units is reordered the same way (Ainsworth, Hayase & Srinivasa, "Git
Re-Basin", ICLR 2023, §2). A :class:`PermutationSpec` names those ties: a *group* is one set of
interchangeable units (the output channels of a conv and of the BatchNorm after it, the input
channels of every layer that reads them, a whole residual stream), and every state-dict entry
lists, per axis, the group that permutes it or ``None``.

An axis may also carry several groups one after another: a concatenation of feature maps (the
DAFormer head's fused embeddings, its ASPP branches before the bottleneck) is permuted block by
block, each block by its own group.

A permutation ``perm`` of a group is a ``LongTensor`` with ``new[i] = old[perm[i]]`` along every
axis the group acts on. :func:`permute_state` applies a full set; tensors the spec does not name are
returned as they are. Building a spec for a given architecture is :mod:`mtda.models.permutation_specs`.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import torch

from mtda.errors import MergeError

#: one axis of a tensor: not permuted, one group, or several groups concatenated in order
Axis = Union[None, str, tuple]
Permutations = Mapping[str, torch.Tensor]
__all__ = ['Axis', 'PermutationSpec', 'SpecBuilder', 'groups_of', 'identity_permutations',
           'permute_entry',
           'permute_state', 'random_permutations']


def groups_of(axis: Axis) -> tuple:
    if axis is None:
        return ()
    return (axis,) if isinstance(axis, str) else tuple(axis)


@dataclass(frozen=True)
class Use:
    """One place a group acts: entry ``key``, axis ``dim``, rows ``offset:offset + size``."""

    key: str
    dim: int
    offset: int


@dataclass(frozen=True)
class PermutationSpec:
    """The permutation groups of a network and where each acts.

    Args:
        axes: ``{key: (axis, ...)}``, one :data:`Axis` per dimension of the entry.
        sizes: ``{group: number of units}``.
    """

    axes: Mapping[str, tuple]
    sizes: Mapping[str, int]
    uses: Mapping[str, tuple] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        uses: dict[str, list] = {group: [] for group in self.sizes}
        for key, axes in self.axes.items():
            for dim, axis in enumerate(axes):
                offset = 0
                for group in groups_of(axis):
                    if group not in uses:
                        raise MergeError(f'{key}: axis {dim} names group {group!r}, which has no '
                                         'size in the permutation spec')
                    uses[group].append(Use(key, dim, offset))
                    offset += self.sizes[group]
        unused = [group for group, found in uses.items() if not found]
        if unused:
            raise MergeError(f'permutation groups {unused[:3]} act on no entry')
        object.__setattr__(self, 'uses', {group: tuple(found) for group, found in uses.items()})

    @property
    def groups(self) -> tuple:
        """The group names, in the order the spec was built."""
        return tuple(self.sizes)

    @property
    def units(self) -> int:
        """The number of permutable units over all groups."""
        return sum(self.sizes.values())

    def axis_index(self, key: str, dim: int, perms: Permutations) -> Optional[torch.Tensor]:
        """The index that permutes axis ``dim`` of ``key`` (``None``: leave the axis as it is).

        Groups on the axis take their permutation from ``perms``; a group missing from ``perms``
        keeps its order.
        """
        groups = groups_of(self.axes[key][dim])
        if not groups or all(g not in perms for g in groups):
            return None
        pieces, offset = [], 0
        for group in groups:
            size = self.sizes[group]
            order = perms.get(group)
            pieces.append(offset + (order if order is not None else torch.arange(size)))
            offset += size
        return torch.cat(pieces)

    def check(self, state: Mapping[str, Union[torch.Tensor, Sequence[int]]], name: str) -> None:
        """Refuse a state dict (or ``{key: shape}``) that lacks an entry of the spec or disagrees.

        Raises:
            MergeError: one line naming ``name``, the first offending keys and the fix.
        """
        missing = [key for key in self.axes if key not in state]
        wrong = []
        for key, axes in self.axes.items():
            if key in state:
                shape = tuple(getattr(state[key], 'shape', state[key]))
                want = [sum(self.sizes[g] for g in groups_of(a)) if a is not None else None
                        for a in axes]
                if len(shape) != len(axes) or any(w is not None and w != s
                                                  for w, s in zip(want, shape)):
                    wrong.append(f'{key} {list(shape)}')
        if missing or wrong:
            detail = (f'lacks {len(missing)} entries, e.g. {missing[:3]}' if missing
                      else f'has entries of other shapes, e.g. {wrong[:3]}')
            raise MergeError(f'{name} {detail} of the model the config builds; Re-Basin needs '
                             'checkpoints of exactly that architecture')


def identity_permutations(spec: PermutationSpec) -> dict[str, torch.Tensor]:
    """Every group in its own order."""
    return {group: torch.arange(size) for group, size in spec.sizes.items()}


def random_permutations(spec: PermutationSpec, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random permutation of every group (planted in tests and analyses)."""
    generator = torch.Generator().manual_seed(seed)
    return {group: torch.randperm(size, generator=generator) for group, size in spec.sizes.items()}


def permute_entry(value: torch.Tensor, key: str, spec: PermutationSpec, perms: Permutations,
                  skip_dim: Optional[int] = None) -> torch.Tensor:
    """``value`` (entry ``key``) with every axis but ``skip_dim`` permuted as ``perms`` says."""
    for dim in range(len(spec.axes[key])):
        index = None if dim == skip_dim else spec.axis_index(key, dim, perms)
        if index is not None:
            value = value.index_select(dim, index.to(value.device))
    return value


def permute_state(state: Mapping[str, torch.Tensor], spec: PermutationSpec,
                  perms: Permutations) -> dict[str, torch.Tensor]:
    """A copy of ``state`` with the spec's entries permuted (others returned as they are), same order."""
    return {key: permute_entry(value, key, spec, perms) if key in spec.axes else value
            for key, value in state.items()}


class SpecBuilder:
    """Builds a :class:`PermutationSpec` layer by layer against a model's entry shapes.

    Each helper names the groups of a common layer (``conv``, ``depthwise``, ``norm``) and adds
    only the entries the model has (a conv without bias, a norm without running statistics). A
    group's size is taken from the first entry that names it; :meth:`build` checks the rest.

    Args:
        shapes: ``{key: shape}`` of the model (``{k: v.shape for k, v in state_dict().items()}``).
    """

    def __init__(self, shapes: Mapping[str, Sequence[int]]) -> None:
        self.shapes = {key: tuple(shape) for key, shape in shapes.items()}
        self.axes: dict[str, tuple] = {}
        self.sizes: dict[str, int] = {}

    def add(self, key: str, *axes: Axis) -> None:
        """Entry ``key`` with one :data:`Axis` per dimension (trailing unpermuted axes may be left out)."""
        if key not in self.shapes:
            raise MergeError(f'the permutation spec names {key}, which the model does not have')
        shape = self.shapes[key]
        axes = tuple(axes) + (None,) * (len(shape) - len(axes))
        if len(axes) != len(shape):
            raise MergeError(f'{key}: {len(axes)} axes given for a tensor of shape {list(shape)}')
        for dim, axis in enumerate(axes):
            groups = groups_of(axis)
            if len(groups) == 1 and groups[0] not in self.sizes:
                self.sizes[groups[0]] = shape[dim]
        self.axes[key] = axes

    def _optional(self, key: str, *axes: Axis) -> None:
        if key in self.shapes:
            self.add(key, *axes)

    def conv(self, prefix: str, out: Axis, in_: Axis) -> None:
        """A conv or linear layer ``prefix`` (``weight`` [out, in, ...], optional ``bias`` [out])."""
        self.add(f'{prefix}.weight', out, in_)
        self._optional(f'{prefix}.bias', out)

    def depthwise(self, prefix: str, channels: Axis) -> None:
        """A depthwise conv ``prefix`` (``weight`` [channels, 1, k, k]): tied to its input channels."""
        self.add(f'{prefix}.weight', channels)
        self._optional(f'{prefix}.bias', channels)

    def norm(self, prefix: str, channels: Axis) -> None:
        """A BatchNorm/LayerNorm ``prefix``: affine parameters and running statistics per channel."""
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            self._optional(f'{prefix}.{name}', channels)

    def build(self) -> PermutationSpec:
        """The spec; every entry's shape is checked against the group sizes."""
        spec = PermutationSpec(dict(self.axes), dict(self.sizes))
        spec.check(self.shapes, 'the model')
        return spec
