"""Route the frames of a new domain to one of several models (what ``tools/route.py`` runs).

    load_candidates(cfg, {name: file})        weights-only, strict; one class list for all; once
    route_frames(models, frames)               mtda.routing.scoring: bn, entropy, agreement, labels
    predict_routed(models, frames, picks)      each frame with its candidate: pred/ and overlay/
"""
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataError, MtdaError
from ..routing.scoring import RoutingScores, score_candidates
from .infer import load_segmentor, predict, read_frames, write_prediction

LABEL_SUFFIX = '.png'


def load_candidates(cfg, files: Mapping[str, str], *, device: str = 'cpu') -> dict:
    """``{name: segmentor}`` of every file, built from ``cfg``; all must predict the same classes.

    Raises:
        CheckpointError: a file that is not a segmentor of the config's model.
        MtdaError: fewer than two files, or files whose recorded class lists differ.
    """
    if len(files) < 2:
        raise MtdaError(f'{len(files)} candidate(s): routing needs at least two models')
    models = {name: load_segmentor(cfg, path, device=device) for name, path in files.items()}
    first_name, first = next(iter(models.items()))
    for name, model in models.items():
        if list(model.dataset_meta['classes']) != list(first.dataset_meta['classes']):
            classes = model.dataset_meta['classes'][:3]
            raise MtdaError(f'{files[name]}: predicts the classes {classes}..., '
                            f'{files[first_name]} predicts {first.dataset_meta["classes"][:3]}...; '
                            'route among models of one label set')
    return models


def label_reader(folder) -> Callable[[str], np.ndarray]:
    """``labels(frame name)``: the trainId PNG ``folder/<frame name>.png``."""
    import cv2
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f'--labels {folder}: no such folder')

    def read(name: str) -> np.ndarray:
        path = folder / f'{name}{LABEL_SUFFIX}'
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if label is None:
            raise DataError(f'{path}: no readable label for frame {name}; --labels needs a trainId '
                            'PNG per frame, named as the frame')
        if label.ndim != 2:
            raise DataError(f'{path}: a label must be a single-channel trainId PNG, got '
                            f'{label.shape[2]} channels')
        return label
    return read


def route_frames(models: Mapping[str, object], source, *, labels=None, bn: bool = True,
                 on_frame=None) -> RoutingScores:
    """Score every candidate (:func:`load_candidates`) on the frames of ``source`` (a folder, an
    image or a video).

    Args:
        models: ``{name: segmentor}``, at least two.
        source: the new domain's frames.
        labels: a folder of trainId PNGs named as the frames (scores the ``labels`` criterion).
        bn: score the BN-statistics criterion.
        on_frame: progress callback ``(index, name)``.
    """
    num_classes = len(next(iter(models.values())).dataset_meta['classes'])
    return score_candidates(models, read_frames(source),
                            labels=label_reader(labels) if labels else None,
                            num_classes=num_classes, bn=bn, on_frame=on_frame)


def predict_routed(models: Mapping[str, object], source, picks: Mapping[str, str], out_dir, *,
                   opacity: float = 0.5, on_frame=None) -> int:
    """Predict every frame of ``source`` with the candidate ``picks[frame]`` names (the models
    scored, not loaded again); write ``out_dir/pred/<frame>.png`` and
    ``out_dir/overlay/<frame>.jpg``; ``on_frame(index, name)`` after each (progress). Returns
    the frame count."""
    count = 0
    for frame, image in read_frames(source):
        model = models[picks[frame]]
        write_prediction(out_dir, frame, image, predict(model, image),
                         model.dataset_meta['palette'], opacity=opacity)
        if on_frame is not None:
            on_frame(count, frame)
        count += 1
    return count
