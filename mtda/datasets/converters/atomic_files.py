"""Atomic writes for converter outputs: a file is either absent, the old version, or complete.

Each output goes through :func:`mtda.io.atomic.atomic_write` (hidden ``.tmp`` name in the same
folder, then ``os.replace``); no converter's input pattern (``*[0-9].png``, ``*_polygons.json``,
``*_gt_labelTrainIds.png``) matches the temporary name.
"""
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...io.atomic import atomic_write


def write_png_atomically(path: Path, label: np.ndarray) -> None:
    """Write a 2-D uint8 array as an 8-bit grayscale ('L') PNG, as DAFormer's converters do."""
    if label.dtype != np.uint8 or label.ndim != 2:
        raise ValueError(f'expected a 2-D uint8 label, got {label.dtype} {label.shape}')
    image = Image.fromarray(np.ascontiguousarray(label))
    # zlib level 3 instead of Pillow's 6: about half the encode time (encoding dominates a
    # conversion) for label files ~15% larger.
    atomic_write(path, lambda f: image.save(f, format='PNG', compress_level=3))


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` as indented JSON with a trailing newline."""
    text = json.dumps(document, indent=2) + '\n'
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def write_text_atomically(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))
