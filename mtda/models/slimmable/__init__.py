"""Slimmable domain adaptation (SlimDA, Meng et al., CVPR 2022): slimmable layers, SlimDA's pure
pieces, and the slimmable segmentor registered into mmseg.

* :mod:`.layers` -- slimmable conv / linear layers and switchable BatchNorm, :func:`set_width_`;
* :mod:`.sampling` -- the sandwich rule's widths per iteration;
* :mod:`.ensemble_distillation` -- SEED: ensemble, sharpening, soft cross-entropy;
* :mod:`.upem` -- the label-free distance of a candidate's predictions to the anchor's;
* :mod:`.convert` -- a built network's convs / linears / BatchNorms made slimmable in place;
* :mod:`.segmentor` -- ``SlimmableEncoderDecoder``, registered into mmseg.
"""
from .convert import make_slimmable_, slim_channels
from .ensemble_distillation import ensemble_probabilities, seed_loss, sharpen
from .layers import (SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d, set_width_,
                     width_count)
from .sampling import sandwich_widths
from .segmentor import SlimmableEncoderDecoder
from .upem import prediction_distance, upem

__all__ = [
    'SlimmableConv2d', 'SlimmableEncoderDecoder', 'SlimmableLinear', 'SwitchableBatchNorm2d',
    'ensemble_probabilities', 'make_slimmable_', 'prediction_distance', 'sandwich_widths',
    'seed_loss', 'set_width_', 'sharpen', 'slim_channels', 'upem', 'width_count',
]
