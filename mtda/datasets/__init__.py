"""Datasets registered into mmseg's DATASETS registry (Cityscapes and Dark Zurich are mmseg's own),
the source+target pairing with rare class sampling, and the label tables they share."""
from .acdc import ACDC_CONDITIONS, ACDCDataset
from .gta import GTADataset
from .idd import IDDDataset
from .synthia import SynthiaDataset
from .uda_dataset import UDADataset

__all__ = ['ACDC_CONDITIONS', 'ACDCDataset', 'GTADataset', 'IDDDataset', 'SynthiaDataset',
           'UDADataset']
