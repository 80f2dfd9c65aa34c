"""Runner-level steps, one short function each, that the tools call (as ``mmseg.apis`` is for mmseg).

* :func:`train_from_config` -- ``tools/train.py``: stage one (or any mmseg-style training);
* :func:`evaluate_checkpoint` -- ``tools/test.py``: one checkpoint on every target domain;
* :func:`merge_checkpoints` -- ``tools/merge.py``: stage two through ``MergeHook``, then evaluation;
* :func:`lmc_sweep` -- ``tools/analyze_lmc.py``: per-domain mIoU along θ(λ);
* :func:`init_model` -- ``mmseg.apis.init_model`` that also picks a domain's own head
  (``tools/infer.py`` predicts with it).
"""
from .evaluate import evaluate_checkpoint
from .infer import init_model
from .lmc import lmc_sweep
from .merge import merge_checkpoints
from .train import train_from_config

__all__ = ['evaluate_checkpoint', 'init_model', 'lmc_sweep', 'merge_checkpoints', 'train_from_config']
