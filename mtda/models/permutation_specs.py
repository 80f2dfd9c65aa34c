"""The permutation groups of mtda's segmentors, read from their module trees (for Git Re-Basin).

:func:`permutation_spec_of` walks a built segmentor (backbone, then decode head) and returns a
:class:`~mtda.merging.rebasin.spec.PermutationSpec` covering every entry of its state dict: each
entry is either permuted on the axes a group names or listed with no permuted axis. A module the
walk does not know is an error, never a silently unpermuted tensor (which would change what the
network computes).

What is permuted, per architecture (each tested by permuting a model and comparing its outputs):

* **ResNet / ResNetV1c** (mmseg): the stem convs (each its own group), every block's inner channels
  (``conv1`` and, for bottlenecks, ``conv2`` outputs), and one group per residual stream: a block
  without downsample adds to its input stream, so its last conv, its last BN and everything that
  reads the stream share one permutation; a downsample opens a new stream.
* **EfficientNet(-Lite)** (timm, inside mmseg's ``TIMMBackbone``): the stem, every block's expanded
  channels (``conv_pw`` out, the depthwise conv and its BN, ``conv_pwl`` in) and squeeze-excite
  units, and the residual streams of blocks with a skip. A depthwise conv is tied to its input
  channels.
* **MiT** (mmseg ``MixVisionTransformer``): each stage's residual stream (patch embedding, every
  LayerNorm, the attention's input and output projections, the spatial-reduction conv) and each
  block's Mix-FFN hidden units (the 1x1 conv out, the depthwise 3x3, the 1x1 conv in). **The
  attention heads stay fixed**: query, key and value rows and the output projection's input are not
  permuted (a permutation within heads is a symmetry too, but Git Re-Basin's and the paper's
  transformer matching leave it out).
* **DAFormer head**: every level's embedding (its own group), the separable ASPP branches on the
  concatenated embeddings (block-wise), the bottleneck; the classifier's classes stay in order.
* **HRDA head**: its two DAFormer heads, each as above (the attention head's 1x1-conv fusion is
  one group); both read the backbone's streams, and the scale attention only mixes classes.
* **DeepLabV2 head**: no hidden units (its branches output classes); it reads the last stream.
* **SegFormer head** (mmseg, the source-only configs): every level's 1x1 conv (its own group) and
  the fusion conv on their concatenation.
"""
from collections.abc import Sequence
from typing import Callable

from torch import nn

from ..errors import MergeError
from ..merging.rebasin.spec import Axis, PermutationSpec, SpecBuilder

__all__ = ['permutation_spec_of']


def _norm_name(module: nn.Module, index: int) -> str:
    """mmcv's name of a block's ``index``-th norm (``bn1``, ``gn2`` ...): ``norm{index}_name``."""
    return getattr(module, f'norm{index}_name')


def _conv_module(b: SpecBuilder, prefix: str, module: nn.Module, out: Axis, in_: Axis, *,
                 depthwise: bool = False) -> None:
    """An mmcv ``ConvModule``: its conv and, if it has one, its norm."""
    if depthwise:
        b.depthwise(f'{prefix}.conv', out)
    else:
        b.conv(f'{prefix}.conv', out, in_)
    if getattr(module, 'with_norm', False):
        b.norm(f'{prefix}.{module.norm_name}', out)


def _resnet(b: SpecBuilder, backbone: nn.Module, prefix: str) -> list:
    if backbone.deep_stem:
        children = dict(backbone.stem.named_children())
        convs = [name for name, m in children.items() if isinstance(m, nn.Conv2d)]
        norms = [name for name, m in children.items()  # the parametrised modules that are not convs
                 if list(m.parameters()) and not isinstance(m, nn.Conv2d)]
        stream, previous = None, None
        for conv, norm in zip(convs, norms):
            stream = f'{prefix}stem.{conv}'
            b.conv(f'{prefix}stem.{conv}', stream, previous)
            b.norm(f'{prefix}stem.{norm}', stream)
            previous = stream
    else:
        stream = f'{prefix}conv1'
        b.conv(f'{prefix}conv1', stream, None)
        b.norm(f'{prefix}{backbone.norm1_name}', stream)
    streams = []
    for layer_name in backbone.res_layers:
        for index, block in enumerate(getattr(backbone, layer_name)):
            p = f'{prefix}{layer_name}.{index}'
            convs = ['conv1', 'conv2', 'conv3'] if hasattr(block, 'conv3') else ['conv1', 'conv2']
            if getattr(block, 'with_plugins', False) or getattr(block, 'with_dcn', False):
                raise MergeError(f'{p}: Re-Basin has no permutation rule for ResNet blocks with '
                                 'plugins or deformable convs')
            output = stream
            if block.downsample is not None:
                output = f'{p}.residual'
                parts = dict(block.downsample.named_children())
                conv = next(n for n, m in parts.items() if isinstance(m, nn.Conv2d))
                norm = next(n for n, m in parts.items() if list(m.parameters()) and n != conv)
                b.conv(f'{p}.downsample.{conv}', output, stream)
                b.norm(f'{p}.downsample.{norm}', output)
            previous = stream
            for i, conv in enumerate(convs, start=1):
                group = output if i == len(convs) else f'{p}.{conv}'
                b.conv(f'{p}.{conv}', group, previous)
                b.norm(f'{p}.{_norm_name(block, i)}', group)
                previous = group
            stream = output
        streams.append(stream)
    return [streams[i] for i in backbone.out_indices]


def _efficientnet(b: SpecBuilder, backbone: nn.Module, prefix: str) -> list:
    model = backbone.timm_model
    p = f'{prefix}timm_model.'
    if not hasattr(model, 'blocks') or not hasattr(model, 'conv_stem'):
        raise MergeError(f'{type(model).__name__}: Re-Basin knows timm EfficientNets only')
    stream = f'{p}conv_stem'
    b.conv(f'{p}conv_stem', stream, None)
    b.norm(f'{p}bn1', stream)
    ends = {}
    for s, stage in enumerate(model.blocks):
        for i, block in enumerate(stage):
            q = f'{p}blocks.{s}.{i}'
            kind = type(block).__name__
            output = stream if block.has_skip else f'{q}.out'
            if kind == 'DepthwiseSeparableConv':
                hidden, first_norm, out_conv, out_norm = stream, 'bn1', 'conv_pw', 'bn2'
                b.depthwise(f'{q}.conv_dw', hidden)
                b.norm(f'{q}.bn1', hidden)
            elif kind == 'InvertedResidual':
                hidden, out_conv, out_norm = f'{q}.conv_pw', 'conv_pwl', 'bn3'
                b.conv(f'{q}.conv_pw', hidden, stream)
                b.norm(f'{q}.bn1', hidden)
                b.depthwise(f'{q}.conv_dw', hidden)
                b.norm(f'{q}.bn2', hidden)
            else:
                raise MergeError(f'{q}: Re-Basin has no permutation rule for timm {kind} blocks')
            if not isinstance(block.se, nn.Identity):
                b.conv(f'{q}.se.conv_reduce', f'{q}.se', hidden)
                b.conv(f'{q}.se.conv_expand', hidden, f'{q}.se')
            b.conv(f'{q}.{out_conv}', output, hidden)
            b.norm(f'{q}.{out_norm}', output)
            stream = output
        ends[f'blocks.{s}'] = stream
    names = model.feature_info.module_name()
    return [ends[name] for name in names]


def _mit(b: SpecBuilder, backbone: nn.Module, prefix: str) -> list:
    streams, previous = [], None
    for s, (patch_embed, blocks, norm) in enumerate(backbone.layers):
        p = f'{prefix}layers.{s}'
        stream = f'{p}.residual'
        b.conv(f'{p}.0.projection', stream, previous)
        b.norm(f'{p}.0.norm', stream)
        for i, block in enumerate(blocks):
            q = f'{p}.1.{i}'
            b.norm(f'{q}.norm1', stream)
            b.norm(f'{q}.norm2', stream)
            b.add(f'{q}.attn.attn.in_proj_weight', None, stream)  # q, k, v rows: the heads, fixed
            b.add(f'{q}.attn.attn.in_proj_bias', None)
            b.add(f'{q}.attn.attn.out_proj.weight', stream, None)
            b.add(f'{q}.attn.attn.out_proj.bias', stream)
            if block.attn.sr_ratio > 1:  # keys and values read the reduced map: same channels
                b.conv(f'{q}.attn.sr', stream, stream)
                b.norm(f'{q}.attn.norm', stream)
            hidden = f'{q}.ffn'
            b.conv(f'{q}.ffn.layers.0', hidden, stream)
            b.depthwise(f'{q}.ffn.layers.1', hidden)
            b.conv(f'{q}.ffn.layers.4', stream, hidden)
        b.norm(f'{p}.2', stream)
        streams.append(stream)
        previous = stream
    return [streams[i] for i in backbone.out_indices]


def _daformer_head(b: SpecBuilder, head: nn.Module, prefix: str, inputs: Sequence) -> None:
    embeds = []
    for index, stream in zip(head.in_index, inputs):
        group = f'{prefix}embed_layers.{index}'
        b.conv(f'{prefix}embed_layers.{index}.proj', group, stream)
        embeds.append(group)
    concat = tuple(embeds)
    if not hasattr(head.fuse_layer, 'aspp_modules'):  # the 1x1-conv fusion (HRDA's attention)
        fusion = f'{prefix}fuse_layer'
        _conv_module(b, fusion, head.fuse_layer, fusion, concat)
        b.conv(f'{prefix}conv_seg', None, fusion)
        return
    branches = []
    for j, branch in enumerate(head.fuse_layer.aspp_modules):
        q = f'{prefix}fuse_layer.aspp_modules.{j}'
        if hasattr(branch, 'depthwise_conv'):
            _conv_module(b, f'{q}.depthwise_conv', branch.depthwise_conv, concat, None,
                         depthwise=True)
            q, branch, source = f'{q}.pointwise_conv', branch.pointwise_conv, concat
        else:
            source = concat
        _conv_module(b, q, branch, q, source)
        branches.append(q)
    bottleneck = f'{prefix}fuse_layer.bottleneck'
    _conv_module(b, bottleneck, head.fuse_layer.bottleneck, bottleneck, tuple(branches))
    b.conv(f'{prefix}conv_seg', None, bottleneck)


def _hrda_head(b: SpecBuilder, head: nn.Module, prefix: str, inputs: Sequence) -> None:
    # two DAFormer heads reading the same backbone streams; the fusion mixes their outputs only
    _daformer_head(b, head.head, f'{prefix}head.', inputs)
    _daformer_head(b, head.scale_attention, f'{prefix}scale_attention.', inputs)


def _segformer_head(b: SpecBuilder, head: nn.Module, prefix: str, inputs: Sequence) -> None:
    levels = []
    for i, (conv, stream) in enumerate(zip(head.convs, inputs)):
        group = f'{prefix}convs.{i}'
        _conv_module(b, group, conv, group, stream)
        levels.append(group)
    fusion = f'{prefix}fusion_conv'
    _conv_module(b, fusion, head.fusion_conv, fusion, tuple(levels))
    b.conv(f'{prefix}conv_seg', None, fusion)


def _dlv2_head(b: SpecBuilder, head: nn.Module, prefix: str, inputs: Sequence) -> None:
    (stream,) = inputs
    for j in range(len(head.aspp_modules)):
        b.conv(f'{prefix}aspp_modules.{j}.conv', None, stream)


_BACKBONES: dict[str, Callable] = {
    'ResNet': _resnet, 'ResNetV1c': _resnet, 'ResNetV1d': _resnet, 'TIMMBackbone': _efficientnet,
    'MixVisionTransformer': _mit,
}
_HEADS: dict[str, Callable] = {'DAFormerHead': _daformer_head, 'DLV2Head': _dlv2_head,
                               'HRDAHead': _hrda_head, 'SegformerHead': _segformer_head}


def permutation_spec_of(segmentor: nn.Module) -> PermutationSpec:
    """The permutation groups of an mmseg ``EncoderDecoder`` with a known backbone and head.

    Raises:
        MergeError: an unknown backbone, head or block, an auxiliary head, or an entry of the
            state dict no rule covers.
    """
    state = segmentor.state_dict()
    b = SpecBuilder({key: value.shape for key, value in state.items()})
    backbone, head = segmentor.backbone, segmentor.decode_head
    names = (type(backbone).__name__, type(head).__name__)
    if names[0] not in _BACKBONES or names[1] not in _HEADS:
        raise MergeError(f'Re-Basin has no permutation spec for a {names[0]} backbone with a '
                         f'{names[1]}; supported: backbones {", ".join(_BACKBONES)}, heads '
                         f'{", ".join(_HEADS)}')
    if getattr(segmentor, 'auxiliary_head', None) is not None:
        raise MergeError('Re-Basin has no permutation rule for auxiliary heads; merge without one')
    outputs = _BACKBONES[names[0]](b, backbone, 'backbone.')
    index = head.in_index if isinstance(head.in_index, (list, tuple)) else [head.in_index]
    _HEADS[names[1]](b, head, 'decode_head.', [outputs[i] for i in index])
    left = [key for key in state if key not in b.axes and not key.endswith('num_batches_tracked')]
    if left:
        raise MergeError(f'Re-Basin: no permutation rule covers {len(left)} entries of the '
                         f'{names[0]} + {names[1]} segmentor, e.g. {left[:3]}')
    return b.build()

