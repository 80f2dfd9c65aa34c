"""UPEM, an unsupervised performance estimate: how far a candidate's predictions on unlabelled
target images are from the anchor's (the bank's widest model). Lower is better.

SlimDA (Meng et al., CVPR 2022) selects the sub-network of a bank by such a metric without
target labels; its exact formula is not public. mtda's definition: the mean over images of the
per-pixel ``KL(anchor || candidate)`` of the class probabilities (or Jensen-Shannon, or the L1
distance of the probabilities), each image weighing the same.

Torch only: no mmseg / mmengine import.
"""
import torch
import torch.nn.functional as F

DISTANCES = ('kl', 'js', 'l1')


def _kl(p_log: torch.Tensor, q_log: torch.Tensor) -> torch.Tensor:
    return (p_log.exp() * (p_log - q_log)).sum(dim=1)


def prediction_distance(anchor_logits: torch.Tensor, candidate_logits: torch.Tensor, *,
                        distance: str = 'kl') -> torch.Tensor:
    """Per-image distances (``(N,)``) between two ``(N, C, H, W)`` logits, averaged over pixels."""
    if distance not in DISTANCES:
        raise ValueError(f'unknown distance {distance!r}; choose one of {DISTANCES}')
    if anchor_logits.shape != candidate_logits.shape:
        raise ValueError(f'anchor {tuple(anchor_logits.shape)} and candidate '
                         f'{tuple(candidate_logits.shape)} differ')
    p_log = F.log_softmax(anchor_logits.float(), dim=1)
    q_log = F.log_softmax(candidate_logits.float(), dim=1)
    if distance == 'kl':
        per_pixel = _kl(p_log, q_log)
    elif distance == 'js':
        m_log = torch.log((p_log.exp() + q_log.exp()) / 2)
        per_pixel = (_kl(p_log, m_log) + _kl(q_log, m_log)) / 2
    else:
        per_pixel = (p_log.exp() - q_log.exp()).abs().sum(dim=1)
    return per_pixel.clamp_min(0.0).flatten(1).mean(dim=1)


def upem(anchor_logits, candidate_logits, *, distance: str = 'kl') -> float:
    """UPEM of a candidate: the mean per-image distance to the anchor over all images.

    Args:
        anchor_logits / candidate_logits: sequences of ``(N, C, H, W)`` logits, batch by batch,
            the same images in the same order for both.
        distance: ``kl`` (``KL(anchor || candidate)``), ``js`` or ``l1``.
    """
    total, count = 0.0, 0
    for anchor, candidate in zip(anchor_logits, candidate_logits, strict=True):
        values = prediction_distance(anchor, candidate, distance=distance)
        total += float(values.sum())
        count += values.numel()
    if count == 0:
        raise ValueError('UPEM needs at least one image')
    return total / count
