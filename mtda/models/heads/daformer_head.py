"""DAFormer decode head: MLP embedding of four feature levels, fused by a separable ASPP.

Hoyer et al., "DAFormer: Improving Network Architectures and Training Strategies for
Domain-Adaptive Semantic Segmentation", CVPR 2022 (``mmseg/models/decode_heads/daformer_head.py``,
config ``configs/_base_/models/daformer_sepaspp_mitb5.py``): each level is projected to
``embed_dims`` (256) channels by a linear layer, upsampled to the first (stride-4) level and
concatenated; the "context-aware fusion" is a depthwise-separable ASPP with dilations
``(1, 6, 12, 18)`` (dilation 1 is a 1x1 conv), no image pooling, BN + ReLU in every branch, then a
3x3 bottleneck ConvModule, dropout 0.1 and the 1x1 classifier.

Parameter names follow DAFormer's (``embed_layers.<level>.proj``, ``fuse_layer.aspp_modules``,
``fuse_layer.bottleneck``), so its checkpoints map one to one, and the BatchNorm layers are plain
mmcv ``ConvModule`` norms, which the merge recognises from the module tree.
"""
from collections.abc import Sequence
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.sep_aspp_head import DepthwiseSeparableASPPModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import nn


class MLPEmbedding(nn.Module):
    """A linear projection of every pixel's channels (SegFormer's ``MLP`` layer).

    Args:
        in_channels: channels of the feature level.
        embed_dims: channels after the projection.
    """

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_channels, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels last for the linear layer, then back to (N, C, H, W)
        return self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


class SeparableASPPFusion(nn.Module):
    """Parallel separable atrous branches, concatenated and reduced by a 3x3 bottleneck.

    Args:
        in_channels: channels of the concatenated embeddings.
        channels: channels of every branch and of the output.
        dilations: one branch per dilation; 1 gives a 1x1 conv, larger a depthwise-separable 3x3.
        norm_cfg: norm of every branch and of the bottleneck.
        act_cfg: activation of every branch and of the bottleneck.
    """

    def __init__(self, in_channels: int, channels: int, *, dilations: Sequence[int],
                 norm_cfg: Optional[dict], act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.aspp_modules = DepthwiseSeparableASPPModule(
            dilations=tuple(dilations), in_channels=in_channels, channels=channels,
            conv_cfg=None, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck = ConvModule(len(dilations) * channels, channels, kernel_size=3,
                                     padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneck(torch.cat(self.aspp_modules(x), dim=1))


@MODELS.register_module()
class DAFormerHead(BaseDecodeHead):
    """DAFormer's decoder (see the module docstring).

    Args:
        in_channels: channels of the selected levels, e.g. ``[64, 128, 320, 512]`` (MiT-B5) or
            ``[256, 512, 1024, 2048]`` (ResNet-101).
        channels: channels of the fused features before the classifier (DAFormer: 256).
        embed_dims: channels of each level's embedding (DAFormer: 256).
        dilations: dilations of the separable ASPP fusion (DAFormer: ``(1, 6, 12, 18)``).
        fusion: ``'aspp'`` (DAFormer's context-aware fusion) or ``'conv'``, a 1x1 ConvModule
            (DAFormer's ``fusion_cfg=dict(type='conv', kernel_size=1)``, the fusion of HRDA's
            scale-attention head, :class:`mtda.models.hrda.HRDAHead`).
        in_index: the backbone outputs to use (default: the four levels).
        norm_cfg: norm of the fusion layers (DAFormer: ``dict(type='BN', requires_grad=True)``).
        act_cfg: activation of the fusion layers.
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments
            (``num_classes``, ``dropout_ratio``, ``align_corners``, ``loss_decode`` ...).
    """

    def __init__(self, in_channels: Sequence[int] = (64, 128, 320, 512), channels: int = 256, *,
                 embed_dims: int = 256, dilations: Sequence[int] = (1, 6, 12, 18),
                 fusion: str = 'aspp', in_index: Sequence[int] = (0, 1, 2, 3),
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU'), **kwargs) -> None:
        super().__init__(list(in_channels), channels, in_index=list(in_index),
                         input_transform='multiple_select', norm_cfg=norm_cfg, act_cfg=act_cfg,
                         **kwargs)
        if self.align_corners:
            raise ValueError('DAFormerHead resizes with align_corners=False only')
        self.embed_layers = nn.ModuleDict({
            str(index): MLPEmbedding(level_channels, embed_dims)
            for index, level_channels in zip(self.in_index, self.in_channels)})
        if fusion == 'aspp':
            self.fuse_layer = SeparableASPPFusion(
                embed_dims * len(self.in_index), channels, dilations=dilations,
                norm_cfg=norm_cfg, act_cfg=act_cfg)
        elif fusion == 'conv':
            self.fuse_layer = ConvModule(embed_dims * len(self.in_index), channels, kernel_size=1,
                                         norm_cfg=norm_cfg, act_cfg=act_cfg)
        else:
            raise ValueError(f"DAFormerHead fusion must be 'aspp' or 'conv', got {fusion!r}")

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class logits at the resolution of the first selected level."""
        levels = self._transform_inputs(inputs)
        size = levels[0].shape[2:]
        embedded = []
        for index, level in zip(self.in_index, levels):
            x = self.embed_layers[str(index)](level)
            if x.shape[2:] != size:
                x = resize(x, size=size, mode='bilinear', align_corners=self.align_corners)
            embedded.append(x)
        return self.cls_seg(self.fuse_layer(torch.cat(embedded, dim=1)))
