"""Datasets registered into mmseg's DATASETS registry (Cityscapes and Dark Zurich are mmseg's own),
the source+target pairing with rare class sampling, HRDA's pseudo-label margins, and the label
tables they share."""
from .acdc import ACDC_CONDITIONS, ACDCDataset
from .gta import GTADataset
from .idd import IDDDataset
from .pseudo_label_margins import PackTargetInputs, PseudoLabelMargins
from .synthia import SynthiaDataset
from .uda_dataset import UDADataset

__all__ = ['ACDC_CONDITIONS', 'ACDCDataset', 'GTADataset', 'IDDDataset', 'PackTargetInputs',
           'PseudoLabelMargins', 'SynthiaDataset', 'UDADataset']
