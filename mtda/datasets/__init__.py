"""Datasets registered into mmseg's DATASETS registry (Cityscapes and Dark Zurich are mmseg's own)."""
from .acdc import ACDC_CONDITIONS, ACDCDataset
from .gta import GTADataset
from .idd import IDDDataset
from .synthia import SynthiaDataset

__all__ = ['ACDC_CONDITIONS', 'ACDCDataset', 'GTADataset', 'IDDDataset', 'SynthiaDataset']
