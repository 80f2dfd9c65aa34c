"""Evaluate one checkpoint on every target domain of a config (what ``tools/test.py`` runs).

The three runner-level steps that evaluate (this one, :func:`mtda.apis.merge_checkpoints` and
:func:`mtda.apis.lmc_sweep`) build their runner with :func:`build_test_runner` and read its
per-domain numbers with :func:`test_results`.
"""
import copy
import logging
from collections.abc import Mapping
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..datasets.data_check import check_datasets
from ..evaluation import model_results, require_multi_domain_test_cfg
from ..io import checkpoint_label
from ..io.atomic import check_output_path
from ..io.segmentor_state import read_segmentor_file
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
                        trust: bool = False, model: str = 'student') -> Optional[dict]:
    """Run the config's multi-domain test loop on ``checkpoint``; return its results record.

    Args:
        cfg: a loaded config whose ``test_cfg`` is a MultiDomainTestLoop.
        checkpoint: a weights-only export, a merged file, or a run's full checkpoint
            (``iter_N.pth``), loaded weights-only unless ``trust``.
        name: row label in tables (default: :func:`~mtda.io.checkpoint_label`).
        save_preds: folder for prediction PNGs (trainIds), one sub-folder per domain.
        trust: allow full unpickling of ``checkpoint``.
        model: ``'student'`` or ``'teacher'``, read from a full UDA checkpoint.

    A merged file with per-domain heads (``tools/merge.py --heads separate``) is evaluated as
    ``merge.py`` evaluates it: each domain with its own head, the merged head for a domain that
    has none (with a warning).

    Returns:
        The results record on the main process, ``None`` on the others.
    """
    check_output_path(cfg.work_dir, option='--work-dir', folder=True)
    if save_preds:
        check_output_path(save_preds, option='--save-preds', folder=True)
    state_dict, meta, domain_heads = read_segmentor_file(checkpoint, model=model, trust=trust)
    if save_preds:
        cfg = copy.deepcopy(cfg)
        cfg.test_evaluator = dict(cfg.test_evaluator, output_dir=str(save_preds))
    runner = build_test_runner(cfg)
    segmentor, prefix = segmentor_of(runner.model)
    load_state_strict(segmentor, state_dict, str(checkpoint),
                      fix='evaluate it with the config of the model it holds (a stage-one or '
                          'experiment config of the same model family)')
    if domain_heads:
        runner.test_loop.domain_state_overrides = _domain_head_overrides(
            domain_heads, list(runner.test_loop.dataloaders), prefix, str(checkpoint))
    runner.test()
    if not is_main_process():
        return None
    return test_results(runner, checkpoint=str(checkpoint),
                        name=name or checkpoint_label(checkpoint, meta))


def _domain_head_overrides(domain_heads: Mapping, domains: list, prefix: str, source: str) -> dict:
    """``{domain: {runner key: tensor}}`` for the loop, from a file's ``domain_heads``."""
    missing = [d for d in domains if d not in domain_heads]
    unused = [d for d in domain_heads if d not in domains]
    if missing:
        print_log(f'{source}: no head of its own for {", ".join(missing)}; evaluated with the '
                  'merged head', logger='current', level=logging.WARNING)
    if unused:
        print_log(f'{source}: heads for {", ".join(unused)} are not evaluated (not a domain of '
                  'the config)', logger='current', level=logging.WARNING)
    return {domain: {prefix + key: value for key, value in domain_heads[domain].items()}
            for domain in domains if domain in domain_heads}
