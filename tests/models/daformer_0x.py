"""A working model of a DAFormer release's network in its mmseg 0.x layout, for the converter tests.

Written from the module tree and forward pass of ``lhoyer/DAFormer``'s
``mmseg/models/backbones/mix_transformer.py`` (SegFormer's MiT: ``patch_embed<s>``,
``block<s>.<i>.attn.q`` / ``attn.kv`` / ``attn.sr``, ``mlp.fc1`` / ``mlp.dwconv.dwconv`` /
``mlp.fc2``, ``norm<s>``) and ``mmseg/models/decode_heads/daformer_head.py`` (``embed_layers``,
``fuse_layer.aspp_modules``, ``fuse_layer.bottleneck``, ``conv_seg``), with HRDA's two-head
multi-resolution head (``mmseg/models/decode_heads/hrda_head.py``), independently of the mmseg
1.x modules the converted weights are loaded into. Its ``state_dict()`` has exactly the key names
of a release's ``model.*`` entries and its ``forward`` computes what that network computes, so a
converted file can be checked by its logits.
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import nn


def _tokens_to_map(x, height, width):
    return x.transpose(1, 2).reshape(x.shape[0], -1, height, width)


class DWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x, height, width):
        return self.dwconv(_tokens_to_map(x, height, width)).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DWConv(hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, height, width):
        return self.fc2(F.gelu(self.dwconv(self.fc1(x), height, width)))


class Attention(nn.Module):
    def __init__(self, dim, heads, sr_ratio):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr_ratio
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, sr_ratio)
            self.norm = nn.LayerNorm(dim)  # SegFormer: torch's default eps here

    def forward(self, x, height, width):
        batch, count, dim = x.shape
        q = self.q(x).reshape(batch, count, self.heads, -1).transpose(1, 2)
        if self.sr_ratio > 1:
            x = self.norm(self.sr(_tokens_to_map(x, height, width)).flatten(2).transpose(1, 2))
        k, v = self.kv(x).reshape(batch, -1, 2, self.heads, dim // self.heads).permute(
            2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (dim // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, count, dim))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, sr_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, sr_ratio)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x, height, width):
        x = x + self.attn(self.norm1(x), height, width)
        return x + self.mlp(self.norm2(x), height, width)


class OverlapPatchEmbed(nn.Module):
    def __init__(self, in_channels, dim, patch, stride):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch, stride, patch // 2)
        self.norm = nn.LayerNorm(dim)  # SegFormer: torch's default eps here

    def forward(self, x):
        x = self.proj(x)
        return self.norm(x.flatten(2).transpose(1, 2)), x.shape[2], x.shape[3]


class MixVisionTransformer0x(nn.Module):
    def __init__(self, dims, heads, depths, sr_ratios, mlp_ratio=4):
        super().__init__()
        channels = [3, *dims]
        for stage in range(4):
            patch, stride = (7, 4) if stage == 0 else (3, 2)
            setattr(self, f'patch_embed{stage + 1}',
                    OverlapPatchEmbed(channels[stage], dims[stage], patch, stride))
            setattr(self, f'block{stage + 1}', nn.ModuleList(
                Block(dims[stage], heads[stage], mlp_ratio, sr_ratios[stage])
                for _ in range(depths[stage])))
            setattr(self, f'norm{stage + 1}', nn.LayerNorm(dims[stage], eps=1e-6))

    def forward(self, x):
        outs = []
        for stage in range(1, 5):
            x, height, width = getattr(self, f'patch_embed{stage}')(x)
            for block in getattr(self, f'block{stage}'):
                x = block(x, height, width)
            x = _tokens_to_map(getattr(self, f'norm{stage}')(x), height, width)
            outs.append(x)
        return outs


class MLP(nn.Module):
    def __init__(self, in_channels, dim):
        super().__init__()
        self.proj = nn.Linear(in_channels, dim)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class ASPPWrapper(nn.Module):
    def __init__(self, in_channels, channels, dilations):
        super().__init__()
        norm, act = dict(type='BN'), dict(type='ReLU')
        self.aspp_modules = nn.ModuleList(
            ConvModule(in_channels, channels, 1, norm_cfg=norm, act_cfg=act) if d == 1 else
            DepthwiseSeparableConvModule(in_channels, channels, 3, dilation=d, padding=d,
                                         norm_cfg=norm, act_cfg=act)
            for d in dilations)
        self.bottleneck = ConvModule(len(dilations) * channels, channels, 3, padding=1,
                                     norm_cfg=norm, act_cfg=act)

    def forward(self, x):
        return self.bottleneck(torch.cat([branch(x) for branch in self.aspp_modules], dim=1))


class DAFormerHead0x(nn.Module):
    def __init__(self, in_channels, embed_dims, channels, dilations, num_classes, fusion='aspp'):
        super().__init__()
        self.embed_layers = nn.ModuleDict(
            {str(i): MLP(c, embed_dims) for i, c in enumerate(in_channels)})
        if fusion == 'aspp':
            self.fuse_layer = ASPPWrapper(embed_dims * len(in_channels), channels, dilations)
        else:  # HRDA's attention head: fusion_cfg=dict(type='conv', kernel_size=1), BN + ReLU
            self.fuse_layer = ConvModule(embed_dims * len(in_channels), channels, 1,
                                         norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, levels):
        size = levels[0].shape[2:]
        embedded = []
        for i, level in enumerate(levels):
            x = self.embed_layers[str(i)](level)
            x = x.transpose(1, 2).reshape(x.shape[0], -1, *level.shape[2:])
            embedded.append(F.interpolate(x, size=size, mode='bilinear', align_corners=False))
        return self.conv_seg(self.fuse_layer(torch.cat(embedded, dim=1)))


class DAFormer0x(nn.Module):
    """MiT + DAFormer head with a release's ``model.*`` names (``backbone.*``,
    ``decode_head.*``); ``forward`` gives the head's logits at stride 4."""

    def __init__(self, *, dims, heads, depths, sr_ratios, embed_dims, channels, dilations,
                 num_classes=19):
        super().__init__()
        self.backbone = MixVisionTransformer0x(dims, heads, depths, sr_ratios)
        self.decode_head = DAFormerHead0x(dims, embed_dims, channels, dilations, num_classes)

    def forward(self, x):
        return self.decode_head(self.backbone(x))


class HRDAHead0x(nn.Module):
    """HRDA's ``HRDAHead`` (``lhoyer/HRDA``, ``mmseg/models/decode_heads/hrda_head.py``) at
    inference on whole images: ``head`` predicts both scales, ``scale_attention`` (a DAFormer head
    with a 1x1-conv fusion) weighs them."""

    def __init__(self, in_channels, embed_dims, channels, dilations, num_classes,
                 attention_embed_dims):
        super().__init__()
        self.head = DAFormerHead0x(in_channels, embed_dims, channels, dilations, num_classes)
        self.scale_attention = DAFormerHead0x(in_channels, attention_embed_dims,
                                              attention_embed_dims, None, num_classes,
                                              fusion='conv')

    def forward(self, lr_levels, hr_levels):
        attention = torch.sigmoid(self.scale_attention(lr_levels))
        lr_seg = (1 - attention) * self.head(lr_levels)
        up_lr = F.interpolate(lr_seg, scale_factor=2, mode='bilinear', align_corners=False)
        attention = F.interpolate(attention, scale_factor=2, mode='bilinear', align_corners=False)
        return attention * self.head(hr_levels) + up_lr


class HRDA0x(nn.Module):
    """MiT + HRDA head with a release's ``model.*`` names; ``forward`` gives the fused logits of
    the image at scales 0.5 (context) and 1 (detail), at stride 4."""

    def __init__(self, *, dims, heads, depths, sr_ratios, embed_dims, channels, dilations,
                 attention_embed_dims, num_classes=19):
        super().__init__()
        self.backbone = MixVisionTransformer0x(dims, heads, depths, sr_ratios)
        self.decode_head = HRDAHead0x(dims, embed_dims, channels, dilations, num_classes,
                                      attention_embed_dims)

    def forward(self, x):
        context = F.interpolate(x, scale_factor=0.5, mode='bilinear', align_corners=False)
        return self.decode_head(self.backbone(context), self.backbone(x))


def randomise_(model: nn.Module, seed: int) -> nn.Module:
    """Every weight and BatchNorm statistic drawn at random (so that a mis-mapped tensor shows)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            else:
                tensor.copy_(0.2 * torch.randn(tensor.shape, generator=generator))
    return model
