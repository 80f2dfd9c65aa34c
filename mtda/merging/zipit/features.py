"""Where ZipIt! reads each feature space of a network, and the correlations of N models' features.

ZipIt! matches features by how they correlate over a few images (Stoica et al., ICLR 2024, §4.1).
A feature space here is a group of the model's
:class:`~mtda.merging.rebasin.spec.PermutationSpec`; its features are what the layers that *read*
the group receive: the input of every conv (``groups == 1``) or linear layer whose input axis names
the group (the block of channels at the group's offset on a concatenated input). That is the
feature after its BatchNorm and activation, where the network uses it; a residual stream is read by
every block that adds to it, so its correlation pools all of them. A group no dense layer reads
(the channels of a depthwise conv that nothing else reads) is read at the depthwise conv's input.

:func:`collect_correlations` runs the N models on the same batches and accumulates, per group, the
sums ``Σf`` and ``Σffᵀ`` of the concatenated ``N·C`` features in float64, one position (pixel or
token) per sample; :func:`~mtda.merging.zipit.matching.correlation_from_moments` turns them into
the correlation :func:`~mtda.merging.zipit.matching.zip_match` reads.
"""
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from mtda.errors import MergeError
from mtda.merging.rebasin.spec import PermutationSpec
from mtda.merging.zipit.matching import correlation_from_moments

__all__ = ['MAX_POSITIONS', 'FeaturePoint', 'collect_correlations', 'feature_points']

#: positions kept of one read of a feature space (a regular subsample beyond it, the same in every
#: model): bounds the memory of the N models' features held per batch. A ResNet-101 stage read by
#: 23 blocks at 64x64 otherwise holds 23 x 8192 x 1024 floats per model for two 512² images
#: (measured peak 13.1 GiB for four models; benchmarks/zipit_bench.py).
MAX_POSITIONS = 4096


@dataclass(frozen=True)
class FeaturePoint:
    """One place a group's features are read: channels ``offset:offset + size`` of the input of
    ``module`` on axis ``channel_dim`` (1 for a conv's NCHW input, -1 for a linear layer's)."""

    module: str
    channel_dim: int
    offset: int
    size: int

    def take(self, inputs: torch.Tensor, max_positions: int = MAX_POSITIONS) -> torch.Tensor:
        """``[positions, size]``: the group's channels of one input, one row per position (every
        k-th position if there are more than ``max_positions``)."""
        block = inputs.narrow(self.channel_dim, self.offset, self.size)
        rows = block.movedim(self.channel_dim, -1).reshape(-1, self.size)
        step = -(-rows.shape[0] // max_positions)
        return rows[::step].clone() if step > 1 else rows


def _reader(module: nn.Module, param: str, dim: int) -> Optional[int]:
    """The channel axis of ``module``'s input if its ``param`` reads a group on ``dim``, else None."""
    if dim == 1 and param == 'weight' and isinstance(module, nn.Conv2d) and module.groups == 1:
        return 1
    if dim == 1 and param == 'weight' and isinstance(module, nn.Linear):
        return -1
    if dim == 1 and param == 'in_proj_weight' and isinstance(module, nn.MultiheadAttention):
        return -1
    return None


def feature_points(model: nn.Module, spec: PermutationSpec,
                   groups: Optional[Iterable[str]] = None) -> dict[str, tuple[FeaturePoint, ...]]:
    """Where each of ``groups`` (default: all of the spec's) is read in ``model``.

    Raises:
        MergeError: a group no conv, linear or depthwise layer reads (its features cannot be
            observed, so ZipIt! cannot match it).
    """
    modules = dict(model.named_modules())
    points = {}
    for group in spec.groups if groups is None else groups:
        size = spec.sizes[group]
        readers, depthwise = [], []
        for use in spec.uses[group]:
            name, _, param = use.key.rpartition('.')
            module = modules.get(name)
            if module is None:
                continue
            channel_dim = _reader(module, param, use.dim)
            if channel_dim is not None:
                readers.append(FeaturePoint(name, channel_dim, use.offset, size))
            elif (use.dim == 0 and param == 'weight' and isinstance(module, nn.Conv2d)
                  and module.groups == module.in_channels > 1):
                depthwise.append(FeaturePoint(name, 1, use.offset, size))
        if not readers and not depthwise:
            raise MergeError(f'ZipIt: no conv or linear layer reads feature space {group!r} '
                             f'(entries {", ".join(u.key for u in spec.uses[group][:3])}), so its '
                             'features cannot be correlated; zip only up to the layer before it '
                             '(--zip-until)')
        points[group] = tuple(readers or depthwise)
    return points


class _Capture:
    """Forward pre-hooks that keep, per group, the features each model's readers receive."""

    def __init__(self, models: Sequence[nn.Module],
                 points: Mapping[str, Sequence[FeaturePoint]]) -> None:
        self.frame: list[dict[str, list[torch.Tensor]]] = [{} for _ in models]
        self.handles = []
        by_module: dict[str, list[tuple[str, FeaturePoint]]] = {}
        for group, found in points.items():
            for point in found:
                by_module.setdefault(point.module, []).append((group, point))
        for index, model in enumerate(models):
            modules = dict(model.named_modules())
            for name, reads in by_module.items():
                self.handles.append(modules[name].register_forward_pre_hook(
                    self._hook(index, reads), with_kwargs=True))

    def _hook(self, index: int, reads: Sequence[tuple[str, FeaturePoint]]) -> Callable:
        def keep(module, args, kwargs):
            inputs = args[0] if args else next(iter(kwargs.values()))
            for group, point in reads:
                self.frame[index].setdefault(group, []).append(point.take(inputs.detach()))
        return keep

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def collect_correlations(models: Sequence[nn.Module], points: Mapping[str, Sequence[FeaturePoint]],
                         batches: Iterable[Any], run: Callable[[nn.Module, Any], None],
                         ) -> dict[str, torch.Tensor]:
    """The ``[N·C, N·C]`` correlation (float32) of each group's features over ``batches``.

    Args:
        models: the N models, of one architecture, in merge order.
        points: :func:`feature_points` of the groups to correlate.
        batches: the inputs, each handed to ``run`` once per model.
        run: ``run(model, batch)`` runs one forward pass (its outputs are not used).

    Raises:
        MergeError: models that see a different number of positions of a group (not one
            architecture), or fewer than two positions in all.
    """
    shifts: dict[str, torch.Tensor] = {}
    sums: dict[str, torch.Tensor] = {}
    outers: dict[str, torch.Tensor] = {}
    counts = dict.fromkeys(points, 0)
    capture = _Capture(models, points)
    try:
        for batch in batches:
            with torch.no_grad():
                for model in models:
                    run(model, batch)
            for group in points:
                per_model = [torch.cat(frame.pop(group, []) or [torch.zeros(0, 0)])
                             for frame in capture.frame]
                if len({f.shape for f in per_model}) != 1:
                    raise MergeError(f'ZipIt: the models read {[list(f.shape) for f in per_model]}'
                                     f' features of {group!r} from one batch; they are not one '
                                     'architecture')
                features = torch.cat(per_model, dim=1).float()
                if features.numel() == 0:
                    continue
                if group not in shifts:  # moments about a shift: the covariance is the same
                    shifts[group] = features.mean(dim=0)
                features = features - shifts[group]
                sums[group] = sums.get(group, 0) + features.sum(dim=0)
                outers[group] = outers.get(group, 0) + features.T @ features
                counts[group] += features.shape[0]
            for frame in capture.frame:
                frame.clear()
    finally:
        capture.close()
    missing = [g for g, n in counts.items() if n == 0]
    if missing:
        raise MergeError(f'ZipIt: feature space {missing[0]!r} was never read while running the '
                         'images; check that the models run their whole forward pass on them')
    # float32 correlations (values in [-1, 1]), each moment matrix let go as soon as it is read
    return {g: correlation_from_moments(sums.pop(g), outers.pop(g), counts[g]).float()
            for g in points}
