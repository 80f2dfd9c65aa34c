"""Evaluate one checkpoint on every target domain of a config (what ``tools/test.py`` runs).

The three runner-level steps that evaluate (this one, :func:`mtda.apis.merge_checkpoints` and
:func:`mtda.apis.lmc_sweep`) build their runner with :func:`build_test_runner` and read its
per-domain numbers with :func:`test_results`.
"""
import copy
from pathlib import Path
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from ..datasets.data_check import check_datasets
from ..evaluation import model_results, require_multi_domain_test_cfg
from ..io import load_state_dict_file
from ..models.segmentor import load_state_strict, segmentor_of


def build_test_runner(cfg: Config) -> Runner:
    """A runner for the config's multi-domain test loop, its datasets checked first.

    ``load_from`` and ``resume`` are cleared: the caller puts the weights in.

    Raises:
        MtdaError: ``test_cfg`` is not a MultiDomainTestLoop, or a dataset is missing or empty.
    """
    require_multi_domain_test_cfg(cfg, cfg.filename or 'the config')
    cfg = copy.deepcopy(cfg)
    cfg.load_from, cfg.resume = None, False
    check_datasets(cfg, parts=('test',))
    return Runner.from_cfg(cfg)


def test_results(runner: Runner, *, name: str, checkpoint: Optional[str] = None) -> dict:
    """The results record (:func:`~mtda.evaluation.model_results`) of the runner's last test."""
    loop = runner.test_loop
    return model_results(loop.domain_metrics, checkpoint=checkpoint, name=name,
                         classes=loop.dataloader.dataset.metainfo['classes'],
                         source=runner.cfg.get('source_domain'))


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
    state_dict = load_state_dict_file(checkpoint, prefix=state_dict_prefix, trust=trust)
    if save_preds:
        cfg = copy.deepcopy(cfg)
        cfg.test_evaluator = dict(cfg.test_evaluator, output_dir=str(save_preds))
    runner = build_test_runner(cfg)
    load_state_strict(segmentor_of(runner.model)[0], state_dict, str(checkpoint),
                      fix='evaluate it with the config it was trained with')
    runner.test()
    if not is_main_process():
        return None
    return test_results(runner, checkpoint=str(checkpoint), name=name or Path(checkpoint).stem)
