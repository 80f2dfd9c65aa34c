"""``SlimmableEncoderDecoder``: an mmseg segmentor whose backbone and decode head form a slimmable
bank (SlimDA, Meng et al., CVPR 2022; docs/slimda.md says which parts follow the paper).

The configured backbone and head are built as usual and then made slimmable
(:func:`~mtda.models.slimmable.convert.make_slimmable_`): every width of ``width_mult_list`` is a
sub-network sharing the widest one's weights, with its own BatchNorm statistics. The image
channels of the backbone's first conv and the classes of the head's classifier never shrink.
:meth:`set_width` picks the width the whole segmentor runs at (inference, export, merging take
the widest unless told otherwise).
"""
from typing import Sequence

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import nn

from .convert import make_slimmable_
from .layers import set_width_


@MODELS.register_module()
class SlimmableEncoderDecoder(EncoderDecoder):
    """An ``EncoderDecoder`` whose backbone and decode head are a slimmable bank.

    Args:
        width_mult_list: the bank's width multipliers, ascending, ending at 1.0 (SlimDA and the
            slimmable networks' ResNets: 0.25, 0.5, 0.75, 1.0).
        channel_divisor: channels of every width are multiples of it (8).
        **kwargs: :class:`mmseg.models.segmentors.EncoderDecoder` arguments.
    """

    def __init__(self, *, width_mult_list: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                 channel_divisor: int = 8, **kwargs) -> None:
        if kwargs.get('auxiliary_head') is not None:
            raise ValueError('SlimmableEncoderDecoder has no auxiliary head; drop it')
        super().__init__(**kwargs)
        self.width_mult_list = tuple(float(w) for w in width_mult_list)
        stem = next(name for name, m in self.backbone.named_modules()
                    if isinstance(m, nn.Conv2d))
        make_slimmable_(self.backbone, self.width_mult_list, fixed_in={stem},
                        divisor=channel_divisor)
        make_slimmable_(self.decode_head, self.width_mult_list, fixed_out={'conv_seg'},
                        divisor=channel_divisor)
        self.width_index = len(self.width_mult_list) - 1

    def set_width(self, index: int) -> 'SlimmableEncoderDecoder':
        """Run at ``width_mult_list[index]`` (negative indices count from the widest)."""
        set_width_(self, index)
        self.width_index = index % len(self.width_mult_list)
        return self

    @property
    def width(self) -> float:
        """The width multiplier the segmentor runs at."""
        return self.width_mult_list[self.width_index]
