"""Rare class sampling (RCS): draw source images that contain rare classes more often.

Convention (DAFormer, Hoyer et al. CVPR 2022, ``mmseg/datasets/uda_dataset.py``):

* ``f_c = n_c / sum_k n_k`` is the share of class ``c`` among all labelled source pixels, read
  from the converter's ``sample_class_stats.json``; a class is drawn with
  ``P(c) = softmax_c((1 - f_c) / T)``, ``T = 0.01``. Small ``T`` concentrates the draws on the
  rarest classes, large ``T`` tends to uniform over the classes present;
* for the drawn class, a source file is drawn uniformly among those holding more than
  ``min_pixels`` (3000) pixels of it, from ``samples_with_class.json``;
* the JSON ``file`` entries are paths as the converter saw them, so files are matched by
  **basename** (see :mod:`mtda.datasets.converters.class_stats`).

Writer, formula and reader sit together in :mod:`mtda.datasets`: the converters write the
statistics (:mod:`~mtda.datasets.converters.class_stats`), this module turns them into sampling
probabilities, and :class:`~mtda.datasets.uda_dataset.UDADataset` draws with them and re-crops
(which needs the dataset pipeline). Torch and the standard library only.
"""
import json
import os
import os.path as osp
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

import torch

# the file names are the writer's: one definition beside the converter that writes them
from .converters.class_stats import SAMPLES_WITH_CLASS_FILE, STATS_FILE



def rare_class_probabilities(class_pixel_counts: Mapping[int, int], *,
                             temperature: float = 0.01) -> tuple[list[int], torch.Tensor]:
    """``P(c) = softmax((1 - f_c) / temperature)`` over the classes with pixels.

    Args:
        class_pixel_counts: ``{class: total pixels in the source set}``; classes with 0 pixels are
            left out (they cannot be sampled).
        temperature: ``T``; must be positive.

    Returns:
        ``(classes, probs)``: the classes in ascending order and their float64 probabilities.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    classes = sorted(int(c) for c, n in class_pixel_counts.items() if n > 0)
    if not classes:
        raise ValueError('no class has any pixel')
    counts = torch.tensor([float(class_pixel_counts[c]) for c in classes], dtype=torch.float64)
    freq = counts / counts.sum()
    return classes, torch.softmax((1.0 - freq) / temperature, dim=0)


@dataclass(frozen=True)
class RCSStatistics:
    """What RCS needs from a source set's JSON files.

    Attributes:
        class_pixel_counts: ``{class: pixels summed over all files}``.
        files_with_class: ``{class: [label basename, ...]}`` of the files holding more than
            ``min_pixels`` pixels of the class, in JSON order; a class without such a file maps
            to an empty list.
    """

    class_pixel_counts: dict[int, int]
    files_with_class: dict[int, list[str]]


def load_rcs_statistics(data_root: Union[str, os.PathLike], *,
                        min_pixels: int = 3000) -> RCSStatistics:
    """Read ``sample_class_stats.json`` and ``samples_with_class.json`` from ``data_root``.

    Args:
        data_root: the source dataset's root, where the converter wrote the files.
        min_pixels: a file counts for a class only with strictly more pixels of it (DAFormer).

    Raises:
        FileNotFoundError: a file is missing (run the dataset converter first).
    """
    paths = [osp.join(data_root, name) for name in (STATS_FILE, SAMPLES_WITH_CLASS_FILE)]
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found: rare class sampling reads the statistics '
                                    f'that tools/convert_datasets writes into the data root')
    with open(paths[0], encoding='utf-8') as f:
        per_file = json.load(f)
    with open(paths[1], encoding='utf-8') as f:
        samples_with_class = json.load(f)
    totals: dict[int, int] = {}
    for entry in per_file:
        for key, count in entry.items():
            if key != 'file':
                totals[int(key)] = totals.get(int(key), 0) + int(count)
    files = {c: [] for c in sorted(totals)}
    for key, entries in samples_with_class.items():
        files.setdefault(int(key), []).extend(
            _basename(path) for path, count in entries if count > min_pixels)
    return RCSStatistics(class_pixel_counts=dict(sorted(totals.items())),
                         files_with_class=files)


def _basename(path: str) -> str:
    # the converter may have run on another OS: split on both separators
    return path.replace('\\', '/').rsplit('/', 1)[-1]
