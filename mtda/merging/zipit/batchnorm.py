"""BatchNorm statistics measured again on images, after the weights changed under them.

A zipped feature is a weighted mean of correlated features, so its variance is smaller than any
member's, and the pooled running statistics (:func:`~mtda.merging.zipit.fuse.zip_state_dicts`) no
longer describe what the BatchNorm receives. ZipIt! (Stoica et al., ICLR 2024, §4.3, "reset
BatchNorm") runs the merged model once over its images with every BatchNorm collecting statistics
again; so does this, with torch's cumulative average (``momentum=None``) so every batch counts
alike.
"""
from collections.abc import Callable, Iterable
from typing import Any, Optional, Sequence

import torch
from torch import nn

from mtda.merging.classify import BATCHNORM_TYPES

__all__ = ['recompute_batchnorm_statistics']


def recompute_batchnorm_statistics(model: nn.Module, batches: Iterable[Any],
                                   run: Callable[[nn.Module, Any], None], *,
                                   batchnorm_types: tuple = BATCHNORM_TYPES,
                                   norms: Optional[Sequence[nn.Module]] = None) -> int:
    """Reset every BatchNorm's running statistics of ``model`` and estimate them on ``batches``.

    Only the BatchNorms are put in training mode (dropout and the rest stay in eval mode); no
    gradient is taken and no parameter changes. The model is left in eval mode.

    Args:
        model: the merged model.
        batches: inputs, each handed to ``run`` once.
        run: ``run(model, batch)``: one forward pass.
        batchnorm_types: the classes that keep running statistics.
        norms: re-estimate only these BatchNorms of ``model`` (e.g. one width of a slimmable
            bank); the others keep their statistics. Default: every one of ``batchnorm_types``.

    Returns:
        How many BatchNorm layers were re-estimated.
    """
    if norms is None:
        norms = [m for m in model.modules() if isinstance(m, batchnorm_types)]
    norms = [m for m in norms if m.track_running_stats]
    momenta = [m.momentum for m in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    try:
        with torch.no_grad():
            for batch in batches:
                run(model, batch)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.eval()
    return len(norms)
