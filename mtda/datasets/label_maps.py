"""Label tables of the six datasets, all mapped to the 19 Cityscapes train classes (255 = ignore).

Sources (see ``docs/datasets.md``):

* Cityscapes ids -> trainIds and the class names: ``cityscapesscripts.helpers.labels`` (used directly,
  not copied); GTA5's palette indices are Cityscapes ids, so GTA uses the same table.
* SYNTHIA-RAND-CITYSCAPES ids -> trainIds: DAFormer ``tools/convert_datasets/synthia.py``.
* IDD fine label names -> ``csTrainId``: AutoNUE ``helpers/anue_labels.py``. The level3 ids are kept
  so that tests can show why a level3 -> Cityscapes map cannot exist (six level3 classes merge labels
  with different csTrainIds).
* SYNTHIA 16/13-class evaluation subsets: FDA ``evaluation_multi.py``.

Everything here is plain data plus lookup-table builders; no image IO.
"""
from types import MappingProxyType

import numpy as np
from cityscapesscripts.helpers.labels import labels as _cityscapes_labels

IGNORE_INDEX = 255

CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
           'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
           'motorcycle', 'bicycle')
PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
           (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
           (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
           (0, 80, 100), (0, 0, 230), (119, 11, 32))
METAINFO = MappingProxyType(dict(classes=CLASSES, palette=PALETTE))

# Thing classes (DAFormer's ImageNet feature distance uses these trainIds).
THING_CLASSES = (6, 7, 11, 12, 13, 14, 15, 16, 17, 18)

# SYNTHIA evaluation subsets (trainIds), FDA evaluation_multi.py.
SYNTHIA_16_CLASSES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)
SYNTHIA_13_CLASSES = (0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)

# Cityscapes label id -> trainId, from cityscapesscripts (ids 0..33; license plate -1 is not a pixel id).
CITYSCAPES_ID_TO_TRAIN_ID = MappingProxyType({
    label.id: (IGNORE_INDEX if label.trainId in (-1, 255) else label.trainId)
    for label in _cityscapes_labels if label.id >= 0})
# GTA5 labels are P-mode PNGs whose palette index is the Cityscapes label id.
GTA_ID_TO_TRAIN_ID = CITYSCAPES_ID_TO_TRAIN_ID

# SYNTHIA-RAND-CITYSCAPES class id (R channel of GT/LABELS) -> trainId. 16 terrain, 18 truck and
# 20 train have table entries but never occur in the real data.
SYNTHIA_ID_TO_TRAIN_ID = MappingProxyType({
    0: 255, 1: 10, 2: 2, 3: 0, 4: 1, 5: 4, 6: 8, 7: 5, 8: 13, 9: 7, 10: 11, 11: 18, 12: 17,
    13: 255, 14: 255, 15: 6, 16: 9, 17: 12, 18: 14, 19: 15, 20: 16, 21: 3, 22: 255})
SYNTHIA_NAMES = MappingProxyType({
    0: 'void', 1: 'sky', 2: 'building', 3: 'road', 4: 'sidewalk', 5: 'fence', 6: 'vegetation',
    7: 'pole', 8: 'car', 9: 'traffic sign', 10: 'pedestrian', 11: 'bicycle', 12: 'motorcycle',
    13: 'parking-slot', 14: 'road-work', 15: 'traffic light', 16: 'terrain', 17: 'rider',
    18: 'truck', 19: 'bus', 20: 'train', 21: 'wall', 22: 'lanemarking'})
SYNTHIA_ABSENT_IDS = (16, 18, 20)

# IDD fine label name -> (id, csTrainId, level3Id), AutoNUE anue_labels.py.
IDD_LABELS = MappingProxyType({
    'road': (0, 0, 0), 'parking': (1, 255, 1), 'drivable fallback': (2, 255, 1),
    'sidewalk': (3, 1, 2), 'rail track': (4, 255, 3), 'non-drivable fallback': (5, 9, 3),
    'person': (6, 11, 4), 'animal': (7, 255, 4), 'rider': (8, 12, 5), 'motorcycle': (9, 17, 6),
    'bicycle': (10, 18, 7), 'autorickshaw': (11, 255, 8), 'car': (12, 13, 9), 'truck': (13, 14, 10),
    'bus': (14, 15, 11), 'caravan': (15, 255, 12), 'trailer': (16, 255, 12), 'train': (17, 16, 12),
    'vehicle fallback': (18, 255, 12), 'curb': (19, 255, 13), 'wall': (20, 3, 14),
    'fence': (21, 4, 15), 'guard rail': (22, 255, 16), 'billboard': (23, 255, 17),
    'traffic sign': (24, 7, 18), 'traffic light': (25, 6, 19), 'pole': (26, 5, 20),
    'polegroup': (27, 255, 20), 'obs-str-bar-fallback': (28, 255, 21), 'building': (29, 2, 22),
    'bridge': (30, 255, 23), 'tunnel': (31, 255, 23), 'vegetation': (32, 8, 24), 'sky': (33, 10, 25),
    'fallback background': (34, 255, 25), 'unlabeled': (35, 255, 255), 'ego vehicle': (36, 255, 255),
    'rectification border': (37, 255, 255), 'out of roi': (38, 255, 255),
    'license plate': (39, 255, 255)})
IDD_NAME_TO_CS_TRAIN_ID = MappingProxyType({name: v[1] for name, v in IDD_LABELS.items()})


def idd_cs_train_id(label_name: str) -> int:
    """csTrainId of an IDD polygon label; ``*group`` labels fall back to their base name (ANUE)."""
    name = label_name
    if name not in IDD_LABELS and name.endswith('group'):
        name = name[:-len('group')]
    if name not in IDD_LABELS:
        raise KeyError(f'unknown IDD label {label_name!r}; known labels: {sorted(IDD_LABELS)}')
    return IDD_LABELS[name][1]


def lookup_table(id_to_train_id, size: int = 256) -> np.ndarray:
    """A uint8 table ``t`` with ``t[id] = trainId`` and 255 for every id not in the mapping."""
    table = np.full(size, IGNORE_INDEX, dtype=np.uint8)
    for raw_id, train_id in id_to_train_id.items():
        table[raw_id] = train_id
    return table
