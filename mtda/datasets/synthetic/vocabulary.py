"""The semantic vocabulary of the synthetic scenes and how each dataset spells it.

Scenes are drawn with *canonical* class names: the Cityscapes label names where Cityscapes has the
concept, IDD names for the India-specific ones (autorickshaw, animal, curb, billboard ...), plus
``lane marking``. Each dataset writes a canonical name with its own label convention, which is where
part of the real label shift comes from:

* lane markings are ``road`` for Cityscapes/GTA/IDD but SYNTHIA's own ``lanemarking`` (ignored);
* curbs are ``sidewalk`` in Cityscapes but IDD's ``curb`` (ignored);
* terrain is IDD's ``non-drivable fallback`` (csTrainId 9), muddy verges are ``drivable fallback``;
* SYNTHIA has no terrain, truck or train, and the scenes it is drawn from must not contain them.

Cityscapes ids come from ``cityscapesscripts.helpers.labels.name2label``; IDD names are checked
against :data:`mtda.datasets.label_maps.IDD_LABELS`; SYNTHIA ids against ``SYNTHIA_NAMES``.
"""
from types import MappingProxyType

import numpy as np
from cityscapesscripts.helpers.labels import name2label

from ..label_maps import CITYSCAPES_ID_TO_TRAIN_ID, IDD_LABELS, SYNTHIA_NAMES, lookup_table

# canonical name: (Cityscapes label name, IDD label name, SYNTHIA class id)
_ENCODINGS = {
    'unlabeled': ('unlabeled', 'unlabeled', 0),
    'sky': ('sky', 'sky', 1),
    'road': ('road', 'road', 3),
    'lane marking': ('road', 'road', 22),
    'sidewalk': ('sidewalk', 'sidewalk', 4),
    'curb': ('sidewalk', 'curb', 4),
    'parking': ('parking', 'parking', 13),
    'ground': ('ground', 'drivable fallback', 0),
    'terrain': ('terrain', 'non-drivable fallback', 16),
    'rail track': ('rail track', 'rail track', 0),
    'building': ('building', 'building', 2),
    'wall': ('wall', 'wall', 21),
    'fence': ('fence', 'fence', 5),
    'guard rail': ('guard rail', 'guard rail', 0),
    'billboard': ('static', 'billboard', 0),
    'fallback background': ('static', 'fallback background', 0),
    'vegetation': ('vegetation', 'vegetation', 6),
    'pole': ('pole', 'pole', 7),
    'polegroup': ('polegroup', 'polegroup', 7),
    'traffic light': ('traffic light', 'traffic light', 15),
    'traffic sign': ('traffic sign', 'traffic sign', 9),
    'person': ('person', 'person', 10),
    'rider': ('rider', 'rider', 17),
    'car': ('car', 'car', 8),
    'truck': ('truck', 'truck', 18),
    'bus': ('bus', 'bus', 19),
    'train': ('train', 'train', 20),
    'motorcycle': ('motorcycle', 'motorcycle', 12),
    'bicycle': ('bicycle', 'bicycle', 11),
    'autorickshaw': ('dynamic', 'autorickshaw', 0),
    'animal': ('dynamic', 'animal', 0),
    'vehicle fallback': ('dynamic', 'vehicle fallback', 0),
    'ego vehicle': ('ego vehicle', 'ego vehicle', 0),
}

CLASS_NAMES = tuple(_ENCODINGS)
CLASS_INDEX = MappingProxyType({name: index for index, name in enumerate(CLASS_NAMES)})
BACKGROUND = 'unlabeled'

CITYSCAPES_NAME = MappingProxyType({name: enc[0] for name, enc in _ENCODINGS.items()})
IDD_NAME = MappingProxyType({name: enc[1] for name, enc in _ENCODINGS.items()})
SYNTHIA_ID = MappingProxyType({name: enc[2] for name, enc in _ENCODINGS.items()})

# Classes whose objects carry an instance id (SYNTHIA's G channel, Cityscapes' instanceIds).
THINGS = frozenset({'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle',
                    'autorickshaw', 'animal', 'vehicle fallback', 'traffic light', 'traffic sign'})


def _check_encodings() -> None:
    """Fail at import if a spelling drifts from the label tables (a typo would mislabel)."""
    for name, (cs_name, idd_name, synthia_id) in _ENCODINGS.items():
        if cs_name not in name2label:
            raise ValueError(f'{name!r}: {cs_name!r} is not a Cityscapes label name')
        if idd_name not in IDD_LABELS:
            raise ValueError(f'{name!r}: {idd_name!r} is not an IDD label name')
        if synthia_id not in SYNTHIA_NAMES:
            raise ValueError(f'{name!r}: {synthia_id} is not a SYNTHIA class id')


_check_encodings()


def cityscapes_id_table() -> np.ndarray:
    """uint8 table: canonical class index -> Cityscapes label id (GTA, ACDC and DZ ``labelIds``)."""
    return np.array([name2label[CITYSCAPES_NAME[name]].id for name in CLASS_NAMES], dtype=np.uint8)


def train_id_table() -> np.ndarray:
    """uint8 table: canonical class index -> Cityscapes trainId (255 for everything ignored)."""
    return lookup_table(CITYSCAPES_ID_TO_TRAIN_ID)[cityscapes_id_table()]


def synthia_id_table() -> np.ndarray:
    """uint16 table: canonical class index -> SYNTHIA class id (R channel of ``GT/LABELS``)."""
    return np.array([SYNTHIA_ID[name] for name in CLASS_NAMES], dtype=np.uint16)
