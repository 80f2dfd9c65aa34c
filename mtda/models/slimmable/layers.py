"""Slimmable layers: one set of weights serving several widths (Yu et al., "Slimmable Neural
Networks", ICLR 2019; ``JiahuiYu/slimmable_networks``, ``models/slimmable_ops.py``).

A layer holds the weights of its widest width; at width index ``i`` it emits the first
``out_channels_list[i]`` output channels and reads the input channels it is given (the first ones
of its weights; one of ``in_channels_list``), so narrower models are sub-networks of the wider ones
and share their weights, and a sub-network may run its stages at different widths (a
depthwise conv and a BatchNorm must then run at their input's width). BatchNorm cannot be shared that way (a
narrow model's activations have other statistics), so :class:`SwitchableBatchNorm2d` keeps one
BatchNorm per width. Which width runs is the layers' ``width_index``, set for a whole model by
:func:`set_width_` (:mod:`.sampling` draws the widths of an iteration).

Torch only: no mmseg / mmengine import.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _check_widths(name: str, values: Sequence[int]) -> list:
    values = [int(v) for v in values]
    if not values or any(v < 1 for v in values) or values != sorted(values):
        raise ValueError(f'{name} must be positive and ascending (one entry per width), '
                         f'got {values}')
    return values


def _input_channels(layer: nn.Module, channels: int, allowed: Sequence[int]) -> int:
    """The input channels a layer reads: what its producer emits, which must be one of the
    layer's widths (so the layers of a per-stage sub-network may run at different widths)."""
    if channels not in allowed:
        raise ValueError(f'{type(layer).__name__} got {channels} input channels; its widths take '
                         f'{sorted(set(allowed))}')
    return channels


class SlimmableConv2d(nn.Conv2d):
    """A conv whose width ``i`` uses the first ``in_channels_list[i]`` / ``out_channels_list[i]``
    channels of the widest conv's weight.

    Args:
        in_channels_list: input channels per width, ascending.
        out_channels_list: output channels per width, ascending (same length).
        kernel_size, stride, padding, dilation, bias: as :class:`torch.nn.Conv2d`.
        depthwise: one group per channel at every width (``groups = channels``); the input and
            output lists must then be equal.
        same_padding: TensorFlow's ``SAME`` padding computed from the input size (timm's
            ``Conv2dSame``, the ``tf_`` EfficientNets' strided convs); ``padding`` is then 0.
    """

    def __init__(self, in_channels_list: Sequence[int], out_channels_list: Sequence[int],
                 kernel_size, stride=1, padding=0, dilation=1, bias: bool = True,
                 depthwise: bool = False, same_padding: bool = False) -> None:
        ins = _check_widths('in_channels_list', in_channels_list)
        outs = _check_widths('out_channels_list', out_channels_list)
        if len(ins) != len(outs):
            raise ValueError(f'{len(ins)} input widths but {len(outs)} output widths')
        if depthwise and ins != outs:
            raise ValueError('a depthwise slimmable conv needs equal input and output widths')
        super().__init__(ins[-1], outs[-1], kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=ins[-1] if depthwise else 1, bias=bias)
        self.in_channels_list, self.out_channels_list = ins, outs
        self.depthwise = depthwise
        self.same_padding = same_padding
        self.width_index = len(ins) - 1

    def _pad_same(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s, d in zip(x.shape[:1:-1], self.kernel_size[::-1], self.stride[::-1],
                                 self.dilation[::-1]):  # width first, as F.pad reads them
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_c = _input_channels(self, x.shape[1], self.in_channels_list)
        out_c = self.out_channels_list[self.width_index]
        if self.depthwise and in_c != out_c:
            raise ValueError(f'a depthwise conv at width {self.width_index} expects {out_c} '
                             f'input channels, got {in_c}: it must run at its input\'s width')
        if self.same_padding:
            x = self._pad_same(x)
        weight = self.weight[:out_c] if self.depthwise else self.weight[:out_c, :in_c]
        bias = self.bias[:out_c] if self.bias is not None else None
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation,
                        in_c if self.depthwise else 1)


class SlimmableLinear(nn.Linear):
    """A linear layer whose width ``i`` uses the first ``in_features_list[i]`` inputs and
    ``out_features_list[i]`` outputs of the widest layer's weight."""

    def __init__(self, in_features_list: Sequence[int], out_features_list: Sequence[int],
                 bias: bool = True) -> None:
        ins = _check_widths('in_features_list', in_features_list)
        outs = _check_widths('out_features_list', out_features_list)
        if len(ins) != len(outs):
            raise ValueError(f'{len(ins)} input widths but {len(outs)} output widths')
        super().__init__(ins[-1], outs[-1], bias=bias)
        self.in_features_list, self.out_features_list = ins, outs
        self.width_index = len(ins) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_f = _input_channels(self, x.shape[-1], self.in_features_list)
        out_f = self.out_features_list[self.width_index]
        bias = self.bias[:out_f] if self.bias is not None else None
        return F.linear(x, self.weight[:out_f, :in_f], bias)


class SwitchableBatchNorm2d(nn.Module):
    """One :class:`torch.nn.BatchNorm2d` per width: width ``i`` normalises with ``bn[i]`` only,
    so training one width leaves the other widths' statistics and affine parameters alone.

    A plain BatchNorm's state (``weight``, ``running_mean`` ... without the ``bn.<i>.`` level, e.g.
    ImageNet weights) loads into every width, each taking its first channels.

    Args:
        num_features_list: channels per width, ascending.
        eps, momentum, affine: as :class:`torch.nn.BatchNorm2d`.
        activation: applied after the norm at every width (timm's ``BatchNormAct2d`` fuses its
            activation into the norm layer); ``None``: none.
    """

    def __init__(self, num_features_list: Sequence[int], eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = True,
                 activation: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.num_features_list = _check_widths('num_features_list', num_features_list)
        self.bn = nn.ModuleList(nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine)
                                for c in self.num_features_list)
        self.activation = activation
        self.width_index = len(self.num_features_list) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.num_features_list[self.width_index]:
            raise ValueError(f'switchable BatchNorm at width {self.width_index} expects '
                             f'{self.num_features_list[self.width_index]} channels, got '
                             f'{x.shape[1]}: it must run at its input\'s width')
        x = self.bn[self.width_index](x)
        return x if self.activation is None else self.activation(x)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        plain = [name for name in ('weight', 'bias', 'running_mean', 'running_var',
                                   'num_batches_tracked') if f'{prefix}{name}' in state_dict]
        for name in plain:  # a plain BatchNorm's entry: every width takes its first channels
            value = state_dict.pop(f'{prefix}{name}')
            for index, channels in enumerate(self.num_features_list):
                state_dict[f'{prefix}bn.{index}.{name}'] = value if value.dim() == 0 \
                    else value[:channels].clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


SLIMMABLE_LAYERS = (SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d)


def width_count(model: nn.Module) -> int:
    """How many widths the slimmable layers of ``model`` have (they must agree)."""
    counts = {len(getattr(m, 'in_channels_list', None) or getattr(m, 'in_features_list', None)
                  or m.num_features_list) for m in model.modules()
              if isinstance(m, SLIMMABLE_LAYERS)}
    if len(counts) != 1:
        raise ValueError(f'the slimmable layers disagree on the number of widths: {sorted(counts)}'
                         if counts else 'the model has no slimmable layer')
    return counts.pop()


def set_width_(model: nn.Module, index: int) -> nn.Module:
    """Switch every slimmable layer of ``model`` to width ``index`` (negative counts from the
    widest, as in a list); returns ``model``."""
    count = width_count(model)
    if not -count <= index < count:
        raise IndexError(f'width index {index} out of range for {count} widths')
    for module in model.modules():
        if isinstance(module, SLIMMABLE_LAYERS):
            module.width_index = index % count
    return model


def stage_of(name: str, stages: Sequence[Sequence[str]]) -> int:
    """The stage a module belongs to: the stage holding the longest prefix of ``name`` (prefixes
    end at a module boundary: ``blocks.1`` holds ``blocks.1.0`` but not ``blocks.10``).

    Raises:
        ValueError: no stage holds ``name``.
    """
    best, best_length = None, -1
    for index, prefixes in enumerate(stages):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + '.')) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best is None:
        raise ValueError(f'{name}: no width stage holds this slimmable layer; add its name (or '
                         'a parent\'s) to one of the stages')
    return best


def set_stage_widths_(model: nn.Module, stages: Sequence[Sequence[str]],
                      indices: Sequence[int]) -> nn.Module:
    """Run every slimmable layer of ``model`` at the width index of its stage: ``stages`` lists
    module-name prefixes per stage, ``indices`` one width index per stage; returns ``model``.

    A stage must hold whole channel groups: layers that read one another's channels through a
    residual sum, a depthwise conv or a BatchNorm belong to one stage (a mismatch fails at the
    forward pass, naming the layer).
    """
    count = width_count(model)
    if len(indices) != len(stages):
        raise ValueError(f'{len(indices)} width indices for {len(stages)} stages')
    if any(not -count <= index < count for index in indices):
        raise IndexError(f'width indices {list(indices)} out of range for {count} widths')
    for name, module in model.named_modules():
        if isinstance(module, SLIMMABLE_LAYERS):
            module.width_index = indices[stage_of(name, stages)] % count
    return model
