"""Models: decode heads and HRDA registered into mmseg, and the UDA self-training pieces."""
from . import heads, hrda, slimmable, uda  # noqa: F401  (registration side effects)
# the UDA segmentor and its data preprocessor are the mmseg edge of the pure uda package
from .uda import daformer_uda, data_preprocessor, slimda_uda  # noqa: F401
from .heads import DAFormerHead, DLV2Head

__all__ = ['DAFormerHead', 'DLV2Head', 'heads', 'hrda', 'slimmable', 'uda']
