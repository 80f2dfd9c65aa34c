"""Evaluate one checkpoint on every target domain of a config (what ``tools/test.py`` runs)."""
import copy
from pathlib import Path
from typing import Mapping, Optional

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..datasets.data_check import check_datasets
from ..errors import CheckpointError, MtdaError
from ..io import load_state_dict_file
from .results import model_results


def load_weights_into(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor],
                      source: str) -> None:
    """``model.load_state_dict(state_dict)`` with a one-line error naming ``source``."""
    if is_model_wrapper(model):
        model = model.module
    model = getattr(model, 'student', model)  # a UDA wrapper is evaluated through its student
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    extra = sorted(set(state_dict) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f'{source}: does not fit the config\'s model ({len(missing)} missing keys, e.g. '
            f'{missing[:3]}; {len(extra)} unexpected, e.g. {extra[:3]}); evaluate it with the '
            'config it was trained with')
    for key, value in state_dict.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f'{source}: {key} has shape {tuple(value.shape)} but the config\'s model expects '
                f'{tuple(expected[key].shape)}; evaluate it with the config it was trained with')
    model.load_state_dict(state_dict, strict=True)


def require_multi_domain_test_cfg(cfg: Config, config_path: str) -> None:
    test_cfg = cfg.get('test_cfg') or {}
    if test_cfg.get('type') != 'MultiDomainTestLoop' or not test_cfg.get('domains'):
        raise MtdaError(f'{config_path}: test_cfg must be a MultiDomainTestLoop with target '
                        'domains; inherit configs/_base_/datasets/targets_val*.py')


def evaluate_checkpoint(cfg: Config, checkpoint, *, name: str = '', save_preds: Optional[str] = None,
                        trust: bool = False, state_dict_prefix: str = '') -> Optional[dict]:
    """Run the config's multi-domain test loop on ``checkpoint``; return its results record.

    Args:
        cfg: a loaded config whose ``test_cfg`` is a MultiDomainTestLoop.
        checkpoint: weights file (loaded weights-only unless ``trust``).
        name: row label in tables (default: the file's stem).
        save_preds: folder for prediction PNGs (trainIds), one sub-folder per domain.
        trust: allow full unpickling of ``checkpoint``.
        state_dict_prefix: take only keys under this prefix (e.g. ``'model.'``).

    Returns:
        The results record on the main process, ``None`` on the others.
    """
    require_multi_domain_test_cfg(cfg, cfg.filename or 'the config')
    cfg = copy.deepcopy(cfg)
    state_dict = load_state_dict_file(checkpoint, prefix=state_dict_prefix, trust=trust)
    cfg.load_from = None
    cfg.resume = False
    if save_preds:
        cfg.test_evaluator = dict(cfg.test_evaluator, output_dir=str(save_preds))
    check_datasets(cfg, parts=('test',))
    runner = Runner.from_cfg(cfg)
    load_weights_into(runner.model, state_dict, str(checkpoint))
    runner.test()
    if not is_main_process():
        return None
    return model_results(runner.test_loop.domain_metrics, checkpoint=str(checkpoint),
                         name=name or Path(checkpoint).stem,
                         classes=runner.test_loop.dataloader.dataset.metainfo['classes'],
                         source=cfg.get('source_domain'))
