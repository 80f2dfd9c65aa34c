"""Runner-level steps, one short function each, that the tools call (as ``mmseg.apis`` is for mmseg).

* :func:`train_from_config` -- ``tools/train.py``: stage one (or any mmseg-style training);
* :func:`evaluate_checkpoint` -- ``tools/test.py``: one checkpoint on every target domain;
* :func:`merge_checkpoints` -- ``tools/merge.py``: stage two through ``MergeHook``, then evaluation;
* :func:`lmc_sweep` -- ``tools/analyze_lmc.py``: per-domain mIoU along θ(λ).
"""
from .evaluate import evaluate_checkpoint
from .lmc import lmc_sweep
from .merge import merge_checkpoints
from .train import train_from_config

__all__ = ['evaluate_checkpoint', 'lmc_sweep', 'merge_checkpoints', 'train_from_config']
