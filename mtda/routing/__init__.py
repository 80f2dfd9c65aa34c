"""Routing a new domain to the right model without labels (``docs/routing.md``).

``criteria`` holds the pure scores (BN-statistics KL, entropy, agreement); ``scoring`` runs the
candidates over frames and keeps every score per frame, so per-domain and per-frame routing are
judged from one pass; ``report`` turns scores into tables. ``tools/route.py`` is the entry point.
"""
from .criteria import (ChannelMoments, bn_statistics_distance, gaussian_kl, kl_to_anchor,
                       normalised_entropy)
from .scoring import CRITERIA, BNInputRecorder, RoutingScores, score_candidates

__all__ = ['BNInputRecorder', 'CRITERIA', 'ChannelMoments', 'RoutingScores',
           'bn_statistics_distance', 'gaussian_kl', 'kl_to_anchor', 'normalised_entropy',
           'score_candidates']
