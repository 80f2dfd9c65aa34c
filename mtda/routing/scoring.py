"""Score candidate segmentors on the frames of a new domain, per frame and for the whole domain.

    score_candidates({name: segmentor}, frames, labels=...)
      for each frame, for each candidate (all loaded at once, one frame in memory):
        mmseg inference_model -> class probabilities at the frame's size
        BNInputRecorder: the moments of every BatchNorm layer's input on this frame
      per frame and pooled over the frames:
        bn         KL(new ‖ running) of the BN inputs                 lower is better
        entropy    mean normalised prediction entropy                  lower is better
        agreement  mean KL(ensemble mean ‖ candidate)                  lower is better
        labels     mIoU on the frame's label (when labels are given)   higher is better

:class:`RoutingScores` keeps the per-frame numbers and the per-frame confusion matrices (with
labels), so that routing per domain, per frame, or always to one candidate can all be scored
afterwards from one pass (``docs/routing.md``).
"""
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch

from ..errors import MtdaError
from ..evaluation.scores import scores_from_confusion
from ..models.segmentor import batchnorm_types
from .criteria import (ChannelMoments, bn_statistics_distance, kl_to_anchor,
                       normalised_entropy)

#: the criteria, and whether a lower score is better
CRITERIA = {'bn': True, 'entropy': True, 'agreement': True, 'labels': False}
IGNORE_INDEX = 255


class BNInputRecorder:
    """Forward pre-hooks on every BatchNorm layer with running statistics: the moments of the
    inputs of the current frame (:meth:`take_frame`) and of all frames so far (:attr:`pooled`)."""

    def __init__(self, segmentor: torch.nn.Module, name: str = 'the model') -> None:
        self.layers = {layer: module for layer, module in segmentor.named_modules()
                       if isinstance(module, batchnorm_types())
                       and getattr(module, 'running_var', None) is not None}
        if not self.layers:
            raise MtdaError(f'{name}: has no BatchNorm layer with running statistics, so the '
                            'bn criterion cannot score it; use --criterion entropy or agreement')
        self.frame: Dict[str, ChannelMoments] = {}
        self.pooled = {layer: ChannelMoments() for layer in self.layers}
        self._handles: list = []

    @contextlib.contextmanager
    def recording(self):
        def hook(layer):
            def record(module, inputs):
                self.frame.setdefault(layer, ChannelMoments()).update(inputs[0])
            return record
        self._handles = [module.register_forward_pre_hook(hook(layer))
                         for layer, module in self.layers.items()]
        try:
            yield self
        finally:
            for handle in self._handles:
                handle.remove()
            self._handles = []

    def running(self) -> dict:
        return {layer: (m.running_mean.detach(), m.running_var.detach())
                for layer, m in self.layers.items()}

    def eps(self) -> dict:
        return {layer: float(m.eps) for layer, m in self.layers.items()}

    def distance(self, moments: Mapping[str, ChannelMoments]) -> float:
        return bn_statistics_distance({layer: moments[layer].mean_var() for layer in self.layers},
                                      self.running(), eps=self.eps())

    def take_frame(self) -> float:
        """The bn distance of the frame just run; its moments join :attr:`pooled`."""
        missing = sorted(set(self.layers) - set(self.frame))
        if missing:
            raise MtdaError(f'BatchNorm layers {missing[:3]} saw no input (not on the inference '
                            'path?); use --criterion entropy or agreement')
        frame, self.frame = self.frame, {}
        for layer, moments in frame.items():
            self.pooled[layer].merge(moments)
        return self.distance(frame)


@dataclass
class RoutingScores:
    """Every candidate's scores on every frame, and pooled over the frames.

    Attributes:
        candidates: candidate names, in the order of the score columns.
        frames: frame names, in the order of the score rows.
        per_frame: ``{criterion: (frames, candidates) array}``.
        domain: ``{criterion: (candidates,) array}``, pooled over all frames (the bn distance of
            the pooled moments, entropy and agreement over all pixels, mIoU of the summed
            confusion).
        confusion: ``(frames, candidates, C, C)`` int64 confusion matrices, rows = labels, or
            ``None`` without labels.
    """
    candidates: List[str]
    frames: List[str] = field(default_factory=list)
    per_frame: Dict[str, np.ndarray] = field(default_factory=dict)
    domain: Dict[str, np.ndarray] = field(default_factory=dict)
    confusion: Optional[np.ndarray] = None

    def choose(self, criterion: str) -> int:
        """The index of the candidate the criterion picks for the whole domain (ties: the first)."""
        return _best(self.domain[criterion], CRITERIA[criterion])

    def choose_per_frame(self, criterion: str) -> np.ndarray:
        """The index each frame is routed to by the criterion on that frame alone."""
        scores = self.per_frame[criterion]
        return np.array([_best(row, CRITERIA[criterion]) for row in scores], dtype=np.int64)

    def miou(self, picks: np.ndarray) -> float:
        """mIoU (%) over all frames of predicting frame ``i`` with candidate ``picks[i]``."""
        if self.confusion is None:
            raise MtdaError('mIoU needs labels')
        picks = np.broadcast_to(np.asarray(picks), (len(self.frames),))
        total = self.confusion[np.arange(len(self.frames)), picks].sum(axis=0)
        return float(scores_from_confusion(total)['mIoU'])


def _best(scores: np.ndarray, lower_is_better: bool) -> int:
    scores = np.asarray(scores, dtype=np.float64)
    scores = np.where(np.isnan(scores), np.inf if lower_is_better else -np.inf, scores)
    return int(np.argmin(scores) if lower_is_better else np.argmax(scores))


def score_candidates(candidates: Mapping[str, torch.nn.Module], frames: Iterable, *,
                     labels: Optional[Callable[[str], np.ndarray]] = None,
                     num_classes: int = 19, bn: bool = True,
                     on_frame: Optional[Callable[[int, str], None]] = None) -> RoutingScores:
    """Run every candidate on every frame and score them (see the module docstring).

    Args:
        candidates: ``{name: segmentor}`` in eval mode, ready for ``mmseg.apis.inference_model``
            (``cfg`` set, as :func:`mtda.apis.infer.load_segmentor` leaves them).
        frames: ``(name, BGR uint8 image)`` pairs (:func:`mtda.apis.infer.read_frames`).
        labels: ``labels(frame name)`` -> ``(H, W)`` trainIds (255 ignored) of the frame's size.
        num_classes: classes of the labels and predictions.
        bn: score the bn criterion (needs BatchNorm layers in every candidate).
        on_frame: called with the frame's index and name once it is scored (progress).
    """
    from mmseg.apis import inference_model
    names = list(candidates)
    recorders = {name: BNInputRecorder(model, name) for name, model in candidates.items()} \
        if bn else {}
    rows: Dict[str, list] = {criterion: [] for criterion in CRITERIA}
    sums = dict(entropy=np.zeros(len(names)), agreement=np.zeros(len(names)))
    pixels = 0
    confusions, frame_names = [], []
    with contextlib.ExitStack() as stack:
        for recorder in recorders.values():
            stack.enter_context(recorder.recording())
        for index, (frame, image) in enumerate(frames):
            probs, distances = [], []
            for name in names:
                with torch.no_grad():
                    result = inference_model(candidates[name], image)
                probs.append(torch.softmax(result.seg_logits.data.float(), dim=0).cpu())
                if bn:
                    distances.append(recorders[name].take_frame())
            anchor = torch.stack(probs).mean(dim=0)
            entropy = [float(normalised_entropy(p).sum()) for p in probs]
            agreement = [float(kl_to_anchor(anchor, p).sum()) for p in probs]
            count = anchor[0].numel()
            pixels += count
            sums['entropy'] += entropy
            sums['agreement'] += agreement
            rows['entropy'].append([v / count for v in entropy])
            rows['agreement'].append([v / count for v in agreement])
            rows['bn'].append(distances or [np.nan] * len(names))
            if labels is not None:
                label = np.asarray(labels(frame))
                if label.shape != tuple(anchor.shape[1:]):
                    raise MtdaError(f'{frame}: label of size {label.shape[::-1]} for a frame of '
                                    f'size {tuple(anchor.shape[1:])[::-1]}; give the label of '
                                    'this frame')
                matrices = [_confusion(label, p.argmax(dim=0).numpy(), num_classes)
                            for p in probs]
                confusions.append(matrices)
                rows['labels'].append([scores_from_confusion(m)['mIoU'] for m in matrices])
            frame_names.append(frame)
            if on_frame is not None:
                on_frame(index, frame)
    if not frame_names:
        raise MtdaError('no frames to score')
    scores = RoutingScores(names, frame_names)
    scores.per_frame = {c: np.asarray(v, dtype=np.float64) for c, v in rows.items() if v}
    scores.domain['entropy'] = sums['entropy'] / pixels
    scores.domain['agreement'] = sums['agreement'] / pixels
    if bn:
        scores.domain['bn'] = np.array([recorders[n].distance(recorders[n].pooled)
                                        for n in names])
    else:
        scores.per_frame.pop('bn', None)
    if confusions:
        scores.confusion = np.asarray(confusions, dtype=np.int64)
        scores.domain['labels'] = np.array([scores.miou(np.full(len(frame_names), k))
                                            for k in range(len(names))])
    return scores


def _confusion(label: np.ndarray, prediction: np.ndarray, num_classes: int) -> np.ndarray:
    valid = label != IGNORE_INDEX
    if np.any(label[valid] >= num_classes):
        bad = sorted(set(np.unique(label[valid]).tolist()) - set(range(num_classes)))
        raise MtdaError(f'label values {bad[:5]} are not trainIds 0-{num_classes - 1} or '
                        f'{IGNORE_INDEX}')
    index = label[valid].astype(np.int64) * num_classes + prediction[valid].astype(np.int64)
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes,
                                                                          num_classes)
