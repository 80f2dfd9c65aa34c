"""Rare-class-sampling (RCS) statistics, written next to a source dataset as DAFormer does.

DAFormer (Hoyer et al., CVPR 2022; ``tools/convert_datasets/{gta,synthia,cityscapes}.py``) stores
three JSON files in the data root, and its ``UDADataset`` reads two of them to sample source images
that contain rare classes:

``sample_class_stats.json``
    a list with one object per label file, ``{"<trainId>": n_pixels, ..., "file": "<path>"}``,
    holding only the train classes (0..18) present in that file; keys are JSON strings.
``sample_class_stats_dict.json``
    the same numbers keyed by file: ``{"<path>": {"<trainId>": n_pixels}}``.
``samples_with_class.json``
    per class, the files containing it: ``{"<trainId>": [["<path>", n_pixels], ...]}``.

The ``file`` strings are the converted label paths *as the converter was given them* (the data root
argument joined with the relative path, e.g. ``data/gta/labels/00001_labelTrainIds.png``), exactly
like DAFormer. Consumers must match them by **basename** only (DAFormer's ``UDADataset`` does), so the
files stay valid when the data root is moved or the converter was run from another directory.
"""
from collections.abc import Mapping
from pathlib import Path
from typing import Union

import numpy as np

from mtda.datasets.label_maps import CLASSES

from .atomic_files import write_json_atomically

STATS_FILE = 'sample_class_stats.json'
STATS_DICT_FILE = 'sample_class_stats_dict.json'
SAMPLES_WITH_CLASS_FILE = 'samples_with_class.json'
RCS_FILES = (STATS_FILE, STATS_DICT_FILE, SAMPLES_WITH_CLASS_FILE)

#: Per-file statistics: label path -> {trainId: pixel count}, in file order.
ClassStats = Mapping[str, Mapping[int, int]]


def class_pixel_counts(label: np.ndarray) -> dict[int, int]:
    """``{trainId: n_pixels}`` for the 19 train classes present in a trainId label (255 excluded)."""
    counts = np.bincount(label.ravel(), minlength=len(CLASSES))[:len(CLASSES)]
    return {int(c): int(counts[c]) for c in np.flatnonzero(counts)}


def rcs_documents(stats: ClassStats) -> dict[str, object]:
    """The three JSON documents (file name -> content) for per-file statistics ``stats``."""
    per_file = []
    per_file_dict = {}
    samples_with_class: dict[int, list] = {}
    for file, counts in stats.items():
        ordered = {c: int(counts[c]) for c in sorted(counts)}
        per_file.append({**{str(c): n for c, n in ordered.items()}, 'file': file})
        per_file_dict[file] = {str(c): n for c, n in ordered.items()}
        for c, n in ordered.items():
            samples_with_class.setdefault(c, []).append([file, n])
    return {
        STATS_FILE: per_file,
        STATS_DICT_FILE: per_file_dict,
        SAMPLES_WITH_CLASS_FILE: {str(c): samples_with_class[c] for c in sorted(samples_with_class)},
    }


def write_rcs_files(stats: ClassStats, out_dir: Union[str, Path]) -> list[Path]:
    """Write the three RCS files into ``out_dir`` (created if needed); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in rcs_documents(stats).items():
        write_json_atomically(out_dir / name, document)
        written.append(out_dir / name)
    return written
