"""How big each synthetic dataset is: resolution and number of frames per split.

``tiny`` keeps every dataset's aspect ratio at 128 px width and has just enough frames for the
test suite and a few hundred iterations of a small SegFormer on 2 CPU cores (all six datasets are
written in seconds). ``miniature`` is the main job's: the same resolution (so every ``*_tiny``
config reads it unchanged) with enough frames for its numbers to mean something: 50 validation
images per target (13 per ACDC condition), where 12 gave a paired difference a seed std of
0.4-1.6 mIoU, and 4-5x the training frames (written in about a minute). ``full`` uses the real
resolutions with a couple of dozen frames per split, enough for GPU throughput benchmarks.

Frame keys per dataset (each writer documents its own):

* ``gta``, ``synthia``: ``all`` (the whole set is the labelled source, as in DAFormer);
* ``cityscapes``, ``idd``: ``train`` and ``val``;
* ``acdc``: ``train`` and ``val`` frames *per condition* (each also gets its ``_ref`` image);
* ``dark_zurich``: ``train/night``, ``train/day`` and ``val`` (night, with ``val_ref`` day images).
"""
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class DatasetSize:
    """Resolution (width x height, pixels) and frames per split key of one dataset."""

    width: int
    height: int
    frames: Mapping[str, int]


# Real resolutions: GTA5 1914x1052, SYNTHIA 1280x760, Cityscapes 2048x1024, others 1920x1080.
SIZES = MappingProxyType({
    'tiny': MappingProxyType({
        'gta': DatasetSize(128, 70, {'all': 40}),
        'synthia': DatasetSize(128, 76, {'all': 40}),
        'cityscapes': DatasetSize(128, 64, {'train': 24, 'val': 12}),
        'idd': DatasetSize(128, 72, {'train': 24, 'val': 12}),
        'acdc': DatasetSize(128, 72, {'train': 6, 'val': 3}),
        'dark_zurich': DatasetSize(128, 72, {'train/night': 24, 'train/day': 6, 'val': 12}),
    }),
    'miniature': MappingProxyType({
        'gta': DatasetSize(128, 70, {'all': 200}),
        'synthia': DatasetSize(128, 76, {'all': 200}),
        'cityscapes': DatasetSize(128, 64, {'train': 100, 'val': 50}),
        'idd': DatasetSize(128, 72, {'train': 100, 'val': 50}),
        'acdc': DatasetSize(128, 72, {'train': 25, 'val': 13}),
        'dark_zurich': DatasetSize(128, 72, {'train/night': 100, 'train/day': 25, 'val': 50}),
    }),
    'full': MappingProxyType({
        'gta': DatasetSize(1914, 1052, {'all': 20}),
        'synthia': DatasetSize(1280, 760, {'all': 20}),
        'cityscapes': DatasetSize(2048, 1024, {'train': 20, 'val': 20}),
        'idd': DatasetSize(1920, 1080, {'train': 20, 'val': 20}),
        'acdc': DatasetSize(1920, 1080, {'train': 5, 'val': 5}),
        'dark_zurich': DatasetSize(1920, 1080, {'train/night': 20, 'train/day': 4, 'val': 20}),
    }),
})
