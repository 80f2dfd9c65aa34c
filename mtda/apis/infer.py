"""Predict frames with a single, merged or separate-heads checkpoint (what ``tools/infer.py`` runs).

    init_model(config, checkpoint, device, domain=...)       mmseg's init_model, plus a domain's head
    load_segmentor(cfg, checkpoint, domain=..., model=...)   weights-only, strict, head by domain
    read_frames(source)                                      a folder of images, one image, a video
    inference_model (mmseg) per frame -> trainId map
    colourise / overlay                                      the palette over the frame
    write_prediction                                         <out>/pred/*.png, <out>/overlay/*.jpg

A merged file from ``tools/merge.py --heads separate`` carries one decode head per target domain:
``domain`` picks which one predicts (without it, the merged head does, as in the file's
``state_dict``).
"""
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..datasets.label_maps import CLASSES, PALETTE
from ..errors import CheckpointError, DataError
from ..io.atomic import atomic_output
from ..io.segmentor_state import read_segmentor_file
from ..models.segmentor import build_segmentor, load_state_strict

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv')


def load_segmentor(cfg, checkpoint, *, domain: Optional[str] = None, model: str = 'student',
                   device: str = 'cpu') -> torch.nn.Module:
    """The config's plain segmentor with the checkpoint's weights, in eval mode; the file's
    meta is kept as its ``checkpoint_meta``.

    Args:
        cfg: a loaded config (a stage-one, experiment or source-only config of the model).
        checkpoint: a weights-only export, a merged file or a run's full checkpoint.
        domain: the target domain whose own head predicts (separate-heads merges only).
        model: ``'student'`` or ``'teacher'`` of a full UDA checkpoint.
        device: where the model runs.

    Raises:
        CheckpointError: weights that do not fit the config's model, or ``domain`` asked of a file
            without per-domain heads, or of a domain it has no head for.
    """
    state, meta, heads = read_segmentor_file(checkpoint, model=model)
    if domain is not None:
        if not heads:
            raise CheckpointError(f'{checkpoint}: has no per-domain heads, so domain {domain!r} '
                                  'picks nothing; leave the domain out, or merge with --heads '
                                  'separate')
        if domain not in heads:
            raise CheckpointError(f'{checkpoint}: no head for domain {domain!r}; it has heads for '
                                  f'{", ".join(heads)}')
        state = {**state, **heads[domain]}
    segmentor = build_segmentor(cfg)
    load_state_strict(segmentor, state, str(checkpoint),
                      fix='predict with the config of the model it holds')
    segmentor.cfg = cfg  # mmseg's inference_model reads the test pipeline from it
    classes = meta.get('classes') or (meta.get('dataset_meta') or {}).get('classes')
    palette = meta.get('palette') or (meta.get('dataset_meta') or {}).get('palette')
    segmentor.dataset_meta = _dataset_meta(classes, palette)
    segmentor.checkpoint_meta = meta  # tools that write a derived file keep its lineage
    return segmentor.to(device).eval()


def _dataset_meta(classes=None, palette=None) -> dict:
    """The file's class names and palette, else the 19 Cityscapes classes every mtda model has."""
    return dict(classes=list(classes or CLASSES), palette=[list(c) for c in palette or PALETTE])


def init_model(config, checkpoint=None, device: str = 'cuda:0', cfg_options: Optional[dict] = None,
               *, domain: Optional[str] = None, model: str = 'student') -> torch.nn.Module:
    """``mmseg.apis.init_model`` for mtda's files: the same arguments, plus ``domain`` and ``model``.

    mmseg's own ``init_model(config, checkpoint)`` loads mtda's exports and merges (``.pth`` and,
    after ``import mtda``, ``.safetensors``); with a stage-one config it builds the UDA wrapper.
    This one always returns the plain segmentor, loads strictly (a file that does not fit the
    config is a one-line error, not a warning), and reads what mmseg's cannot:

    Args:
        config: a config path or :class:`mmengine.Config` of the model family (a stage-one,
            experiment or source-only config).
        checkpoint: a weights-only export, a merged file (``.pth`` or ``.safetensors``) or a run's
            full checkpoint (``iter_N.pth``); ``None`` for mmseg's initial weights.
        device: where the model runs.
        cfg_options: overrides merged into the config, as for mmseg.
        domain: the target domain whose own decode head to load from a ``--heads separate`` merge
            (its ``domain_heads``); without it, the merged head of the file's ``state_dict``.
        model: ``'student'`` or ``'teacher'`` of a full UDA checkpoint.

    Returns:
        The segmentor in eval mode, with ``cfg`` and ``dataset_meta`` set as mmseg's are, so
        ``mmseg.apis.inference_model`` takes it.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(str(config)) if not isinstance(config, Config) else config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if checkpoint is not None:
        return load_segmentor(cfg, checkpoint, domain=domain, model=model, device=device)
    if domain is not None:
        raise CheckpointError(f'domain {domain!r} given without a checkpoint to read its head from')
    segmentor = build_segmentor(cfg)
    segmentor.cfg = cfg
    segmentor.dataset_meta = _dataset_meta()
    return segmentor.to(device).eval()


def read_frames(source) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, BGR uint8 image)`` of every frame: a folder's images (sorted), one image, or a
    video's frames (``<video stem>_<index>``).

    Raises:
        DataError: nothing to read, or a file that is neither an image nor a video.
    """
    import cv2
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f'{source}: no images ({", ".join(IMAGE_SUFFIXES)}) in the folder')
        for path in files:
            yield str(path.relative_to(source).with_suffix('')), _read_image(path)
    elif source.suffix.lower() in IMAGE_SUFFIXES:
        yield source.stem, _read_image(source)
    elif source.suffix.lower() in VIDEO_SUFFIXES:
        if not source.is_file():
            raise DataError(f'{source}: no such video')
        video = cv2.VideoCapture(str(source))
        index = 0
        try:
            while True:
                ok, frame = video.read()
                if not ok:
                    break
                yield f'{source.stem}_{index:06d}', frame
                index += 1
        finally:
            video.release()
        if index == 0:
            raise DataError(f'{source}: no frame could be decoded; is it a video OpenCV reads?')
    else:
        raise DataError(f'{source}: not a folder, an image ({", ".join(IMAGE_SUFFIXES)}) or a '
                        f'video ({", ".join(VIDEO_SUFFIXES)})')


def _read_image(path: Path) -> np.ndarray:
    import cv2
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f'{path}: not a readable image')
    return image


def colourise(prediction: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """An RGB image of a ``(H, W)`` trainId map; ids outside the palette are black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:len(palette)] = np.asarray(palette, dtype=np.uint8)
    return table[prediction.astype(np.uint8)]


def overlay(image_bgr: np.ndarray, colours_rgb: np.ndarray, opacity: float) -> np.ndarray:
    """The frame blended with the colourised prediction (BGR, uint8): ``(1−a)·frame + a·colours``."""
    blended = ((1.0 - opacity) * image_bgr.astype(np.float32)
               + opacity * colours_rgb[..., ::-1].astype(np.float32))
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def predict(segmentor, image_bgr: np.ndarray) -> np.ndarray:
    """The ``(H, W)`` trainId prediction of one frame, at the frame's size."""
    from mmseg.apis import inference_model
    with torch.no_grad():
        result = inference_model(segmentor, image_bgr)
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def write_prediction(out_dir, name: str, image_bgr: np.ndarray, prediction: np.ndarray,
                     palette: Sequence[Sequence[int]], *, opacity: float = 0.5) -> None:
    """``out_dir/pred/<name>.png`` (trainIds) and ``out_dir/overlay/<name>.jpg``, each atomically."""
    import cv2
    out_dir = Path(out_dir)
    for path, array in ((out_dir / 'pred' / f'{name}.png', prediction),
                        (out_dir / 'overlay' / f'{name}.jpg',
                         overlay(image_bgr, colourise(prediction, palette), opacity))):
        with atomic_output(path) as tmp:
            ok, encoded = cv2.imencode(path.suffix, array)
            if not ok:
                raise DataError(f'{path}: could not be encoded')
            tmp.write_bytes(encoded.tobytes())
