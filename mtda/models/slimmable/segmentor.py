"""``SlimmableEncoderDecoder``: an mmseg segmentor whose backbone and decode head form a slimmable
bank (SlimDA, Meng et al., CVPR 2022; docs/slimda.md says which parts follow the paper).

The configured backbone and head are built as usual and then made slimmable
(:func:`~mtda.models.slimmable.convert.make_slimmable_`): every width of ``width_mult_list`` is a
sub-network sharing the widest one's weights, with its own BatchNorm statistics. The image
channels of the backbone's first conv and the classes of the head's classifier never shrink.
:meth:`set_width` picks the width the whole segmentor runs at (inference, export, merging take
the widest unless told otherwise). With ``width_stages``, :meth:`set_subnet` runs every stage
(a group of modules, e.g. a resolution level of the backbone, the head) at its own width: the
non-uniform candidates of SlimDA's selection.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import nn

from .convert import make_slimmable_
from .layers import set_stage_widths_, set_width_


@MODELS.register_module()
class SlimmableEncoderDecoder(EncoderDecoder):
    """An ``EncoderDecoder`` whose backbone and decode head are a slimmable bank.

    Args:
        width_mult_list: the bank's width multipliers, ascending, ending at 1.0 (SlimDA and the
            slimmable networks' ResNets: 0.25, 0.5, 0.75, 1.0).
        channel_divisor: channels of every width are multiples of it (8).
        seed_classifier: add SlimDA's auxiliary classifier ``seed_classifier`` (a 1x1 conv on
            the head's last features, beside its ``conv_seg``) that only the SEED loss trains
            (:class:`mtda.models.uda.slimda_uda.SlimDAUDA`); inference does not use it.
        width_stages: module-name prefixes (relative to the segmentor) per stage, for sub-networks
            whose stages run at different widths (:meth:`set_subnet`); every slimmable layer must
            fall in one stage, and a stage must hold whole channel groups (a residual stream, a
            depthwise conv with the conv that feeds it). ``None``: uniform widths only.
        inference_width: the width the segmentor runs at once built (default the widest), e.g.
            the one ``tools/select_subnet.py`` chose; with ``width_stages``, a list of one width
            per stage runs that sub-network.
        **kwargs: :class:`mmseg.models.segmentors.EncoderDecoder` arguments.
    """

    def __init__(self, *, width_mult_list: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                 channel_divisor: int = 8, seed_classifier: bool = False,
                 width_stages: Optional[Sequence[Sequence[str]]] = None,
                 inference_width: Union[None, float, Sequence[float]] = None, **kwargs) -> None:
        if kwargs.get('auxiliary_head') is not None:
            raise ValueError('SlimmableEncoderDecoder has no auxiliary head; drop it')
        super().__init__(**kwargs)
        if not isinstance(getattr(self.decode_head, 'conv_seg', None), nn.Conv2d):
            raise ValueError(f'SlimmableEncoderDecoder needs a decode head with a conv_seg '
                             f'classifier, got {type(self.decode_head).__name__}')
        if seed_classifier:  # SlimDA's third classifier C_a beside the head's own
            classifier = self.decode_head.conv_seg
            self.seed_classifier = nn.Conv2d(classifier.in_channels, classifier.out_channels, 1)
        self.width_mult_list = tuple(float(w) for w in width_mult_list)
        stem = next(name for name, m in self.backbone.named_modules()
                    if isinstance(m, nn.Conv2d))
        make_slimmable_(self.backbone, self.width_mult_list, fixed_in={stem},
                        divisor=channel_divisor)
        make_slimmable_(self.decode_head, self.width_mult_list, fixed_out={'conv_seg'},
                        divisor=channel_divisor)
        if seed_classifier:
            make_slimmable_(self, self.width_mult_list, fixed_out={'seed_classifier'},
                            only={'seed_classifier'}, divisor=channel_divisor)
        self.width_stages = (tuple(tuple(stage) for stage in width_stages)
                             if width_stages is not None else None)
        # the width index of every stage (one entry without stages): the only width state kept
        self.stage_indices = (len(self.width_mult_list) - 1,) * len(self.width_stages or (None,))
        if self.width_stages is not None:  # every slimmable layer must fall in a stage
            set_stage_widths_(self, self.width_stages, [-1] * len(self.width_stages))
        if inference_width is not None:
            if isinstance(inference_width, (int, float)):
                self.set_width(self.width_index_of(inference_width))
            else:
                self.set_subnet([self.width_index_of(w) for w in inference_width])

    def logits_and_seed_logits(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The head's logits and the SEED classifier's, both from the head's last features
        (the input of its ``conv_seg``), at the current width."""
        if not hasattr(self, 'seed_classifier'):
            raise ValueError('this SlimmableEncoderDecoder has no SEED classifier; build it with '
                             'seed_classifier=True')
        features = []
        handle = self.decode_head.conv_seg.register_forward_pre_hook(
            lambda module, args: features.append(args[0]))
        try:
            logits = self.decode_head(self.extract_feat(inputs))
        finally:
            handle.remove()
        return logits, self.seed_classifier(features[0])

    def width_index_of(self, width: float) -> int:
        """The index of a width multiplier of the bank."""
        if float(width) not in self.width_mult_list:
            raise ValueError(f'width {width} is not one of the bank\'s widths '
                             f'{list(self.width_mult_list)}')
        return self.width_mult_list.index(float(width))

    def set_width(self, index: int) -> 'SlimmableEncoderDecoder':
        """Run at ``width_mult_list[index]`` (negative indices count from the widest)."""
        set_width_(self, index)
        self.stage_indices = (index % len(self.width_mult_list),) * len(self.stage_indices)
        return self

    def set_subnet(self, indices: Sequence[int]) -> 'SlimmableEncoderDecoder':
        """Run stage ``s`` of ``width_stages`` at ``width_mult_list[indices[s]]``; equal
        indices are the uniform width."""
        if self.width_stages is None:
            raise ValueError('this SlimmableEncoderDecoder has no width_stages; per-stage widths '
                             'need them in its config')
        count = len(self.width_mult_list)
        indices = tuple(int(i) % count for i in indices)
        if len(set(indices)) == 1 and len(indices) == len(self.width_stages):
            return self.set_width(indices[0])
        set_stage_widths_(self, self.width_stages, indices)
        self.stage_indices = indices
        return self

    @property
    def subnet(self) -> Optional[Tuple[int, ...]]:
        """The per-stage width indices when the stages run at different widths, else None."""
        return self.stage_indices if len(set(self.stage_indices)) > 1 else None

    @property
    def stage_widths(self) -> Tuple[float, ...]:
        """The width multiplier of every stage (one entry, the width, without stages)."""
        return tuple(self.width_mult_list[i] for i in self.stage_indices)

    @property
    def width_index(self) -> int:
        """The index of :attr:`width` in ``width_mult_list``."""
        return max(self.stage_indices)

    @property
    def width(self) -> float:
        """The width multiplier the segmentor runs at (its widest stage's in a per-stage
        sub-network)."""
        return self.width_mult_list[self.width_index]
