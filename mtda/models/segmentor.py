"""The segmentor inside a model, and weights into it: the helpers every runner-level step shares.

A runner's model is an mmseg segmentor, a UDA wrapper around one (mtda's
:class:`~mtda.models.uda.daformer_uda.DAFormerUDA`, whose ``student`` is what is exported, merged
and evaluated), or a DDP wrapper of either. Training exports, merging, evaluation and the LMC sweep
all need the same three things: that segmentor (:func:`segmentor_of`), the config that builds it
alone (:func:`segmentor_config`), and a strict load with a one-line error
(:func:`load_state_strict`). :func:`batchnorm_types` tells the merge core which modules keep
BatchNorm statistics.
"""
from typing import Mapping

import torch
from mmengine.model import is_model_wrapper

from ..errors import CheckpointError
from ..merging.classify import BATCHNORM_TYPES


def batchnorm_types() -> tuple:
    """torch's BatchNorm classes plus mmcv's ``SyncBatchNorm``, which keeps the same buffers."""
    try:
        from mmcv.ops import SyncBatchNorm
    except ImportError:  # mmcv built without ops
        return BATCHNORM_TYPES
    return BATCHNORM_TYPES + (SyncBatchNorm,)


def segmentor_of(model: torch.nn.Module) -> tuple:
    """The segmentor of ``model`` and its key prefix inside ``model``'s state dict.

    A UDA wrapper (a model with a ``student`` attribute) gives its student, which is what it
    exports and evaluates; a DDP wrapper is unwrapped first.

    Returns:
        ``(segmentor, prefix)``: ``prefix`` is ``''`` when ``model`` is the segmentor itself.
    """
    root = model.module if is_model_wrapper(model) else model
    segmentor = getattr(root, 'student', root)
    if segmentor is root:
        return root, ''
    name = next(name for name, module in root.named_modules() if module is segmentor)
    return segmentor, f'{name}.'


def segmentor_config(cfg) -> dict:
    """The plain segmentor of a config: ``cfg.model`` itself, or a UDA wrapper's ``segmentor``."""
    model = cfg.model
    return model.segmentor if 'segmentor' in model else model


def build_segmentor(cfg) -> torch.nn.Module:
    """The config's plain segmentor (a UDA wrapper's ``segmentor``), built in its default scope,
    with mmseg's initial weights."""
    import copy

    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return MODELS.build(copy.deepcopy(segmentor_config(cfg)))


def load_state_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str, *,
                      fix: str = 'use the config it was trained with') -> None:
    """``module.load_state_dict(state, strict=True)`` with a one-line error naming ``source``.

    Keys and shapes are compared first, so a mismatch names what is missing, unexpected or of
    another shape instead of torch's multi-line report.

    Args:
        module: the module to fill (a segmentor, or its backbone).
        state: ``{key: tensor}`` with the module's own key names.
        source: the file (or description) the weights came from, named in the error.
        fix: what the user should do instead, the end of the error line.

    Raises:
        CheckpointError: missing or unexpected keys, or a shape that differs.
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or bad_shape:
        shape = (f'; {bad_shape[0]} has shape {tuple(state[bad_shape[0]].shape)}, the model '
                 f'expects {tuple(own[bad_shape[0]].shape)} ({len(bad_shape)} such)'
                 if bad_shape else '')
        raise CheckpointError(
            f'{source}: does not fit the config\'s model ({len(missing)} missing keys, e.g. '
            f'{missing[:3]}; {len(extra)} unexpected, e.g. {extra[:3]}{shape}); {fix}')
    module.load_state_dict(state, strict=True)
