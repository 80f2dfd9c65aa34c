"""The images ``--method zipit`` reads, and one forward pass of a segmentor over them (mmseg).

ZipIt! is not data-free: it correlates the models' features on a few images. ``--zip-images
source`` (the default) takes them from the config's labelled *source* dataset, which every site
already has, so no target image leaves its site; ``--zip-images DIR`` takes a folder a site may
share. Either way a seeded sample of ``--zip-count`` images is read, in batches, through the
config's test pipeline (:func:`mmseg.apis.inference_model`).
"""
import random
from pathlib import Path

import numpy as np
import torch

from mtda.errors import DataError, MergeError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
#: images per forward pass: enough positions per BatchNorm batch, little memory at real size
BATCH_SIZE = 8
__all__ = ['BATCH_SIZE', 'image_batches', 'run_segmentor', 'sample_images', 'source_image_folder']


def source_image_folder(cfg) -> Path:
    """The image folder of the config's source dataset (a UDA config's ``source``, else its
    training set).

    Raises:
        MergeError: the config has no training set, or one without an image folder.
    """
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    dataset = dataset.get('source') or dataset
    prefix = (dataset.get('data_prefix') or {}).get('img_path')
    if not dataset or prefix is None:
        raise MergeError('--zip-images source: the config names no source training set with an '
                         'image folder; pass --zip-images DIR, or merge with a stage-one config')
    return Path(dataset.get('data_root') or '') / prefix


def sample_images(folder, count: int, *, seed: int = 0) -> list[Path]:
    """A seeded sample of ``count`` images of ``folder`` (all of them if it holds fewer), sorted.

    Raises:
        DataError: no such folder, or no image in it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f'{folder}: no such image folder for ZipIt; generate or convert the '
                        'dataset, or pass --zip-images DIR')
    files = sorted(p for p in folder.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f'{folder}: no images ({", ".join(IMAGE_SUFFIXES)}) for ZipIt')
    return sorted(random.Random(seed).sample(files, min(count, len(files))))


def image_batches(files, *, batch_size: int = BATCH_SIZE) -> list[list[np.ndarray]]:
    """The images (BGR uint8) in batches of at most ``batch_size`` images of one size (mmseg stacks
    a test batch without padding), read once and kept for every pass."""
    import cv2
    by_size: dict[tuple, list[np.ndarray]] = {}
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DataError(f'{path}: not a readable image')
        by_size.setdefault(image.shape, []).append(image)
    return [images[i:i + batch_size] for images in by_size.values()
            for i in range(0, len(images), batch_size)]


def run_segmentor(model: torch.nn.Module, batch: list, *, cfg) -> None:
    """One forward pass of ``model`` over ``batch`` through ``cfg``'s test pipeline."""
    from mmseg.apis import inference_model
    model.cfg = cfg  # inference_model builds the pipeline from it
    with torch.no_grad():
        inference_model(model, batch)

