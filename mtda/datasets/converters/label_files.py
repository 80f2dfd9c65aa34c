"""Finding and reading the raw label files, with every failure turned into a one-line DataError.

The converters read three kinds of input: 8-bit PNGs through Pillow (GTA's palette indices, ACDC and
Dark Zurich trainIds), 16-bit multi-channel PNGs through OpenCV (SYNTHIA; DAFormer notes that Pillow
cannot decode them) and polygon JSON files (read by :mod:`.polygon_labels`). Each error message names
the file and says how to fix it, ending in the dataset's own remedy (``fix``), which the dataset
modules build with :func:`download_fix`.
"""
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mtda.errors import DataError


def download_fix(data_root: Path, download: str) -> str:
    """The remedy for missing or broken data: regenerate the miniature copy or download the real one."""
    return f'run tools/make_synthetic_data.py or download {download} into {data_root}'


def require_dir(folder: Path, *, fix: str, what: str = 'folder') -> Path:
    """``folder`` as a Path; a DataError naming it (as ``what``) if it is not a directory."""
    if not Path(folder).is_dir():
        raise DataError(f'{what} {folder} not found; {fix}')
    return Path(folder)


def find_label_files(folder: Path, pattern: str, *, fix: str) -> list[Path]:
    """Sorted files under ``folder`` matching the glob ``pattern``; an empty match is an error."""
    files = sorted(p for p in require_dir(folder, fix=fix).glob(pattern) if p.is_file())
    if not files:
        raise DataError(f'no label files matching {pattern} in {folder}; {fix}')
    return files


def read_png_indices(path: Path, *, fix: str) -> np.ndarray:
    """The raw 8-bit values of a single-channel PNG: palette indices for 'P', grey levels for 'L'.

    Pillow's palette indices are what mmseg's ``LoadAnnotations`` (pillow backend, 'unchanged')
    sees too, so a P-mode label is read the same way the training pipeline would read it.
    """
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image) if mode in ('P', 'L') else None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow raises all three on corrupt PNGs
        raise DataError(f'cannot read label {path} ({exc}); {fix}') from None
    if array is None:
        raise DataError(f'label {path} is a {mode!r} image, expected an 8-bit single-channel PNG '
                        f'(mode P or L); {fix}')
    return array


def read_png_unchanged(path: Path, *, fix: str) -> np.ndarray:
    """All channels at their stored bit depth, in OpenCV's BGR order (``cv2.IMREAD_UNCHANGED``)."""
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:  # OpenCV signals unreadable files with None, not an exception
        raise DataError(f'cannot read label {path} (not a readable PNG); {fix}')
    return array


def image_size(path: Path, *, fix: str) -> tuple[int, int]:
    """(height, width) of an image, from its header only."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f'cannot read image {path} ({exc}); {fix}') from None
    return height, width


def check_image_size(label_path: Path, label_hw: tuple[int, int], image_path: Path, *, required: bool,
                     fix: str) -> None:
    """Raise if the label's (height, width) differs from its image's.

    Args:
        required: a missing image is an error (ACDC/Dark Zurich validation, where the pairing is
            what is checked) or skips the check (conversions, which only need the labels).
    """
    if not image_path.is_file():
        if required:
            raise DataError(f'label {label_path} has no image {image_path}; {fix}')
        return
    image_hw = image_size(image_path, fix=fix)
    if tuple(label_hw) != image_hw:
        raise DataError(f'label {label_path} is {label_hw[1]}x{label_hw[0]} but its image '
                        f'{image_path} is {image_hw[1]}x{image_hw[0]} (WxH); {fix}')
