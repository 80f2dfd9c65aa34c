"""HRDA (Hoyer et al., ECCV 2022): multi-resolution training and inference, registered into mmseg.

* :mod:`.crops` -- the detail crop's random box, sliding windows, stitching (pure torch);
* :mod:`.head` -- ``HRDAHead``: scale attention fusing the context and detail predictions;
* :mod:`.encoder_decoder` -- ``HRDAEncoderDecoder``: both branches through one backbone.

The UDA wrapper (:class:`mtda.models.uda.DAFormerUDA`) trains it with DAFormer's self-training
and, optionally, MIC's masked consistency.
"""
from .crops import crop, random_crop_box, scale_box, slide_boxes, stitch
from .encoder_decoder import HRDAEncoderDecoder
from .head import HRDAHead, SlideFeatures

__all__ = ['HRDAEncoderDecoder', 'HRDAHead', 'SlideFeatures', 'crop', 'random_crop_box',
           'scale_box', 'slide_boxes', 'stitch']
