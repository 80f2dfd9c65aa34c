"""DeepLabV2 decode head: parallel dilated 3x3 convolutions straight to class logits, summed.

Chen et al., "DeepLab: Semantic Image Segmentation with Deep Convolutional Nets, Atrous
Convolution, and Fully Connected CRFs", TPAMI 2018, in the form the UDA literature uses
(AdaptSegNet, DACS, DAFormer's ``mmseg/models/decode_heads/dlv2_head.py``): each branch maps the
last ResNet stage (2048 channels, ``in_index=3``) directly to ``num_classes`` channels with a
biased 3x3 conv, there is no BatchNorm, no activation, no dropout and no separate classifier.

**The dilation quirk.** DeepLabV2 has four branches, dilations ``(6, 12, 18, 24)``, and DAFormer's
base config ``deeplabv2_r50-d8.py`` says so. But AdaptSegNet's ``Classifier_Module`` returns from
*inside* its loop over the branches, so it sums only the first two; the UDA methods built on it
(and DAFormer's experiment 1, ``deeplabv2red_r50-d8.py``, "dlv2red") therefore use dilations
``(6, 12)``. ``dilations`` is an argument so configs state which one they mean; mtda's
DeepLabV2 configs use ``(6, 12)`` to be comparable with the published UDA numbers.
"""
from collections.abc import Sequence

import torch
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class DLV2Head(BaseDecodeHead):
    """DeepLabV2's ASPP classifier (see the module docstring).

    Args:
        in_channels: channels of the selected backbone output (ResNet-101: 2048).
        dilations: one 3x3 branch per dilation; ``(6, 12)`` reproduces the UDA literature,
            ``(6, 12, 18, 24)`` the original DeepLabV2.
        in_index: the backbone output to use (the last stage).
        init_cfg: initialisation; the branches are the classifier, so they get the
            ``Normal(std=0.01)`` mmseg gives ``conv_seg``.
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments
            (``num_classes``, ``align_corners``, ``loss_decode`` ...). ``channels``,
            ``dropout_ratio`` and ``norm_cfg`` are fixed by the design and may not be given.
    """

    def __init__(self, in_channels: int = 2048, *, dilations: Sequence[int] = (6, 12),
                 in_index: int = 3,
                 init_cfg: dict = dict(type='Normal', std=0.01, override=dict(name='aspp_modules')),
                 **kwargs) -> None:
        fixed = sorted({'channels', 'dropout_ratio', 'norm_cfg'} & kwargs.keys())
        if fixed:
            raise TypeError(f'DLV2Head does not take {fixed}: its branches output class logits '
                            f'directly, without norm or dropout')
        if not dilations:
            raise ValueError('DLV2Head needs at least one dilation')
        # channels only feeds BaseDecodeHead's conv_seg, which this head removes
        super().__init__(in_channels, channels=1, in_index=in_index, dropout_ratio=0.0,
                         norm_cfg=None, init_cfg=init_cfg, **kwargs)
        del self.conv_seg
        self.dilations = tuple(dilations)
        self.aspp_modules = ASPPModule(self.dilations, self.in_channels, self.out_channels,
                                       conv_cfg=self.conv_cfg, norm_cfg=None, act_cfg=None)

    def forward(self, inputs) -> torch.Tensor:
        """Class logits at the resolution of the selected level: the sum of the branches."""
        x = self._transform_inputs(inputs)
        return torch.stack(self.aspp_modules(x)).sum(dim=0)
