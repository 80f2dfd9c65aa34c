"""Turning a built network into a slimmable bank: every conv, linear and BatchNorm replaced by its
slimmable counterpart, the original weights kept as the widest width's.

Channels of width ``w`` follow the slimmable networks' rounding (``JiahuiYu/slimmable_networks``,
``make_divisible``): ``C * w`` to a multiple of ``divisor`` (8), at least ``divisor``, never more
than 10 % below ``C * w``. Every layer rounds the same way, so layers that share a tensor agree on
its width (a residual sum, a depthwise conv and its input), and so do concatenations of equal
parts (DAFormer's embeddings and ASPP branches) when ``C * w`` is a multiple of the divisor.

Two dimensions never shrink: the image channels of the backbone's first conv and the classes of
the classifier (``fixed_in`` / ``fixed_out`` name those layers). A layer with parameters that has
no slimmable counterpart (LayerNorm, attention, grouped convs) is refused by name: the bank would
otherwise mix widths silently. Torch (and timm's layer types) only.
"""
from typing import Collection, Optional, Sequence

import torch
from torch import nn

from .layers import SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d


def slim_channels(channels: int, width: float, *, divisor: int = 8) -> int:
    """The channels of a ``channels``-wide layer at width multiplier ``width``."""
    if width >= 1:
        return channels
    value = channels * width
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return min(rounded, channels)


def _widths(channels: int, widths: Sequence[float], fixed: bool, divisor: int) -> list:
    return [channels if fixed else slim_channels(channels, w, divisor=divisor) for w in widths]


def _slim_conv(conv: nn.Conv2d, widths, fixed_in, fixed_out, divisor, name) -> SlimmableConv2d:
    from timm.layers import Conv2dSame
    depthwise = conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels
    if conv.groups != 1 and not depthwise:
        raise ValueError(f'{name}: a grouped conv ({conv.groups} groups) has no slimmable '
                         'counterpart; only plain and depthwise convs slim')
    if conv.padding_mode != 'zeros' or isinstance(conv.padding, str):
        raise ValueError(f'{name}: padding {conv.padding!r} / {conv.padding_mode!r} is not '
                         'supported by SlimmableConv2d; use numeric zero padding')
    slim = SlimmableConv2d(_widths(conv.in_channels, widths, fixed_in, divisor),
                           _widths(conv.out_channels, widths, fixed_out, divisor),
                           conv.kernel_size, stride=conv.stride, padding=conv.padding,
                           dilation=conv.dilation, bias=conv.bias is not None,
                           depthwise=depthwise, same_padding=isinstance(conv, Conv2dSame))
    with torch.no_grad():
        slim.weight.copy_(conv.weight)
        if conv.bias is not None:
            slim.bias.copy_(conv.bias)
    return slim


def _slim_linear(linear: nn.Linear, widths, fixed_in, fixed_out, divisor) -> SlimmableLinear:
    slim = SlimmableLinear(_widths(linear.in_features, widths, fixed_in, divisor),
                           _widths(linear.out_features, widths, fixed_out, divisor),
                           bias=linear.bias is not None)
    with torch.no_grad():
        slim.weight.copy_(linear.weight)
        if linear.bias is not None:
            slim.bias.copy_(linear.bias)
    return slim


def _switchable_bn(bn: nn.BatchNorm2d, widths, divisor) -> SwitchableBatchNorm2d:
    activation = None
    if hasattr(bn, 'act') and hasattr(bn, 'drop'):  # timm's BatchNormAct2d: norm, drop, act
        activation = nn.Sequential(bn.drop, bn.act)
    slim = SwitchableBatchNorm2d(_widths(bn.num_features, widths, False, divisor), eps=bn.eps,
                                 momentum=bn.momentum, affine=bn.affine, activation=activation)
    slim.load_state_dict(nn.BatchNorm2d.state_dict(bn))  # every width from the plain statistics
    return slim


def make_slimmable_(module: nn.Module, width_mult_list: Sequence[float], *,
                    fixed_in: Collection[str] = (), fixed_out: Collection[str] = (),
                    only: Optional[Collection[str]] = None, divisor: int = 8) -> nn.Module:
    """Replace, in place, every conv / linear / BatchNorm of ``module`` by its slimmable
    counterpart; returns ``module``, at its widest width.

    Args:
        module: a built network (a backbone, a decode head).
        width_mult_list: the bank's width multipliers, ascending, the last 1.0.
        fixed_in: names (relative to ``module``) of layers whose input channels stay whole.
        fixed_out: names of layers whose output channels stay whole.
        only: convert only these layers (names); ``None``: every layer.
        divisor: channel rounding (8).

    Raises:
        ValueError: widths that do not end at 1.0, a layer without a slimmable counterpart.
    """
    widths = [float(w) for w in width_mult_list]
    if not widths or widths != sorted(widths) or widths[-1] != 1.0 or widths[0] <= 0:
        raise ValueError(f'width_mult_list must be ascending in (0, 1] and end at 1.0, got '
                         f'{list(width_mult_list)}')
    replacements = {}
    for name, child in module.named_modules():
        if only is not None and name not in only:
            continue
        if isinstance(child, nn.Conv2d):
            replacements[name] = _slim_conv(child, widths, name in fixed_in, name in fixed_out,
                                            divisor, name)
        elif isinstance(child, nn.Linear):
            replacements[name] = _slim_linear(child, widths, name in fixed_in,
                                              name in fixed_out, divisor)
        elif type(child) is nn.BatchNorm2d or (isinstance(child, nn.BatchNorm2d)
                                               and hasattr(child, 'act')):
            replacements[name] = _switchable_bn(child, widths, divisor)
        elif any(True for _ in child.parameters(recurse=False)):
            raise ValueError(f'{name}: {type(child).__name__} has no slimmable counterpart '
                             '(mtda slims convs, linear layers and BatchNorm)')
    for name in replacements:  # leaves: no replaced layer holds another
        parent_name, _, attr = name.rpartition('.')
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attr, replacements[name])
    return module
