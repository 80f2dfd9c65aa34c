"""Atomic writes for converter outputs: a file is either absent, the old version, or complete.

Each output is written to a hidden temporary name in its own folder and moved over the final name
with ``os.replace`` (atomic on one file system), the same pattern timm uses for checkpoints. The
temporary name ends in ``.tmp`` so that no converter's input pattern (``*[0-9].png``,
``*_polygons.json``, ``*_gt_labelTrainIds.png``) can pick it up.
"""
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
from PIL import Image


def _replace_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    path = Path(path)
    # The pid keeps parallel worker processes apart; a stale temp file of a killed run with the same
    # pid is simply overwritten. A plain open (not mkstemp) keeps the user's umask permissions.
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'wb') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_png_atomically(path: Path, label: np.ndarray) -> None:
    """Write a 2-D uint8 array as an 8-bit grayscale ('L') PNG, as DAFormer's converters do."""
    if label.dtype != np.uint8 or label.ndim != 2:
        raise ValueError(f'expected a 2-D uint8 label, got {label.dtype} {label.shape}')
    image = Image.fromarray(np.ascontiguousarray(label))
    # zlib level 3 instead of Pillow's 6: about half the encode time (encoding dominates a
    # conversion) for label files ~15% larger.
    _replace_atomically(path, lambda f: image.save(f, format='PNG', compress_level=3))


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` as indented JSON with a trailing newline."""
    text = json.dumps(document, indent=2) + '\n'
    _replace_atomically(path, lambda f: f.write(text.encode('utf-8')))


def write_text_atomically(path: Path, text: str) -> None:
    _replace_atomically(path, lambda f: f.write(text.encode('utf-8')))
