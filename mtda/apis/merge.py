"""Merge checkpoint files with :class:`~mtda.merging.hook.MergeHook` and evaluate the result
(what ``tools/merge.py`` runs)."""
from pathlib import Path

from mmengine.dist import is_main_process

from ..io.atomic import check_output_path
from ..merging.files import MergeSpec
from ..merging.hook import MergeHook
from ..models.segmentor import build_segmentor
from .evaluate import build_test_runner, test_results


def merge_checkpoints(cfg, spec: MergeSpec, *, evaluate: bool = True, name: str = '',
                      progress: bool = True, full_terminal_log: bool = False) -> tuple:
    """Merge ``spec``'s checkpoints into ``cfg``'s model; evaluate it on every target domain.

    Args:
        cfg: a loaded config; with ``evaluate`` its ``test_cfg`` must be a MultiDomainTestLoop.
        spec: the checked inputs and options.
        evaluate: run the test loop (merging happens in the hook before it); without it the
            segmentor is built from the config's model alone (no data needed) and merged into.
        name: the results row label (default: the output file's stem).
        progress: a progress bar over the checkpoints.
        full_terminal_log: see :func:`~mtda.apis.evaluate.build_test_runner`.

    Returns:
        ``(hook, results)``: the hook (merge, saved paths) and the results record (``None``
        without ``evaluate`` and on processes other than the main one).
    """
    hook = MergeHook.from_spec(spec, progress=progress)
    config_name = Path(cfg.filename).name if cfg.filename else None
    if not evaluate:
        model = build_segmentor(cfg)
        domains = list((cfg.get('test_cfg') or {}).get('domains') or {})
        hook.merge_into(model, config_domains=domains, config=config_name, cfg=cfg)
        return hook, None
    check_output_path(cfg.work_dir, option='--work-dir', folder=True)
    runner = build_test_runner(cfg, full_terminal_log=full_terminal_log)
    runner.register_hook(hook)  # the spec is checked already: the hook is not built again
    runner.test()
    if not is_main_process():
        return hook, None
    checkpoint = spec.out or 'merged'
    return hook, test_results(runner, checkpoint=checkpoint, name=name or Path(checkpoint).stem)
