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


class ShortTerminalLogRunner(Runner):
    """mmengine's Runner with a short terminal: warnings and errors only.

    The log file (``<work_dir>/<timestamp>/<timestamp>.log``) keeps mmengine's full record (the
    environment, the config, every iteration); the tools print their table and say where the
    file is (:func:`mtda.cli.current_log_file`).
    """

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):  # the terminal's stream handler
                handler.setLevel(max(handler.level, logging.WARNING))
        return logger


def build_test_runner(cfg: Config, *, full_terminal_log: bool = False) -> Runner:
    """A runner for the config's multi-domain test loop, its datasets checked first.

    ``load_from`` and ``resume`` are cleared: the caller puts the weights in.

    Args:
        cfg: the loaded config.
        full_terminal_log: print mmengine's whole log to the terminal too (default: warnings and
            errors there, everything in the log file; :class:`ShortTerminalLogRunner`).

    Raises:
        MtdaError: ``test_cfg`` is not a MultiDomainTestLoop, or a dataset is missing or empty.
    """
    require_multi_domain_test_cfg(cfg, cfg.filename or 'the config')
    cfg = copy.deepcopy(cfg)
    cfg.load_from, cfg.resume = None, False
    check_datasets(cfg, parts=('test',))
    return (Runner if full_terminal_log else ShortTerminalLogRunner).from_cfg(cfg)


def test_results(runner: Runner, *, name: str, checkpoint: Optional[str] = None) -> dict:
    """The results record (:func:`~mtda.evaluation.model_results`) of the runner's last test."""
    loop = runner.test_loop
    return model_results(loop.domain_metrics, checkpoint=checkpoint, name=name,
                         classes=loop.dataloader.dataset.metainfo['classes'],
                         source=runner.cfg.get('source_domain'))


def evaluate_checkpoint(cfg: Config, checkpoint, *, name: str = '', save_preds: Optional[str] = None,
                        show_dir: Optional[str] = None, trust: bool = False,
                        model: str = 'student', full_terminal_log: bool = False) -> Optional[dict]:
    """Run the config's multi-domain test loop on ``checkpoint``; return its results record.

    Args:
        cfg: a loaded config whose ``test_cfg`` is a MultiDomainTestLoop.
        checkpoint: a weights-only export, a merged file, or a run's full checkpoint
            (``iter_N.pth``), loaded weights-only unless ``trust``.
        name: row label in tables (default: :func:`~mtda.io.checkpoint_label`).
        save_preds: folder for prediction PNGs (trainIds), one sub-folder per domain.
        show_dir: folder for drawings of every prediction (label beside prediction, over the
            image), one sub-folder per domain (:class:`~mtda.evaluation.DomainShowDirHook`).
        trust: allow full unpickling of ``checkpoint``.
        model: ``'student'`` or ``'teacher'``, read from a full UDA checkpoint.
        full_terminal_log: see :func:`build_test_runner`.

    A merged file with per-domain heads (``tools/merge.py --heads separate``) is evaluated as
    ``merge.py`` evaluates it: each domain with its own head, the merged head for a domain that
    has none (with a warning).

    Returns:
        The results record on the main process, ``None`` on the others.
    """
    check_output_path(cfg.work_dir, option='--work-dir', folder=True)
    for folder, option in ((save_preds, '--out'), (show_dir, '--show-dir')):
        if folder:
            check_output_path(folder, option=option, folder=True)
    state_dict, meta, domain_heads = read_segmentor_file(checkpoint, model=model, trust=trust)
    cfg = copy.deepcopy(cfg)
    if save_preds:
        cfg.test_evaluator = dict(cfg.test_evaluator, output_dir=str(save_preds))
    if show_dir:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='DomainShowDirHook', show_dir=str(show_dir))]
    runner = build_test_runner(cfg, full_terminal_log=full_terminal_log)
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
