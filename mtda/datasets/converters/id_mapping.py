"""Checking label values against a dataset's id set, and mapping raw ids to trainIds by lookup table.

DAFormer's converters send every value missing from their id table to 255 without a word; here an
unknown value is an error naming the file and the values, because it means a wrong or damaged file
(or the wrong dataset in the folder), and silently ignoring those pixels would bias training.
Values are checked on the array as decoded, before any cast to uint8, so a 16-bit SYNTHIA id 300 is
reported as 300 rather than wrapping around to 44.
"""
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from mtda.datasets.label_maps import CLASSES, IGNORE_INDEX, lookup_table
from mtda.errors import DataError

#: The values a converted (or shipped) trainId label may hold.
TRAIN_ID_VALUES = frozenset(range(len(CLASSES))) | {IGNORE_INDEX}


def unexpected_values(label: np.ndarray, allowed: Collection[int]) -> list[int]:
    """The sorted values present in an unsigned-integer ``label`` that are not in ``allowed``."""
    if label.dtype.kind != 'u':
        raise ValueError(f'expected an unsigned integer label, got {label.dtype}')
    present = np.flatnonzero(np.bincount(label.ravel()))
    return [int(v) for v in present if int(v) not in allowed]


def _describe(values: Collection[int], limit: int = 10) -> str:
    values = sorted(values)
    if len(values) > 2 and values[-1] - values[0] == len(values) - 1:
        return f'{values[0]}-{values[-1]}'
    shown = ', '.join(str(v) for v in values[:limit])
    return shown + (f' and {len(values) - limit} more' if len(values) > limit else '')


def map_to_train_ids(raw: np.ndarray, *, id_to_train_id: Mapping[int, int], path: Path,
                     id_name: str, fix: str) -> np.ndarray:
    """Map a raw id array to a uint8 trainId array, refusing values outside ``id_to_train_id``.

    Args:
        raw: the decoded label (uint8 or uint16), one raw id per pixel.
        id_to_train_id: the dataset's complete id table (ids absent from it are errors; ids that
            are in it but have no train class map to 255).
        path, id_name, fix: for the error message, e.g. ``id_name='GTA palette index'``.
    """
    unknown = unexpected_values(raw, id_to_train_id.keys())
    if unknown:
        raise DataError(f'label {path} holds {id_name} {_describe(unknown)}, outside the dataset\'s '
                        f'ids {_describe(id_to_train_id.keys())}; {fix}')
    return lookup_table(id_to_train_id)[raw]


def check_train_ids(label: np.ndarray, *, path: Path, fix: str) -> None:
    """Raise unless ``label`` is uint8 with values in 0..18 and 255 (a shipped trainId file)."""
    if label.dtype != np.uint8 or label.ndim != 2:
        raise DataError(f'label {path} is {label.dtype} with shape {label.shape}, expected a 2-D '
                        f'uint8 trainId image; {fix}')
    unknown = unexpected_values(label, TRAIN_ID_VALUES)
    if unknown:
        raise DataError(f'label {path} holds value {_describe(unknown)}, not a trainId '
                        f'(0-{len(CLASSES) - 1} or {IGNORE_INDEX}); {fix}')
