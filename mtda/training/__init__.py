"""The hooks training runs with: weights-only exports, plain and atomic checkpoints, RNG state,
and DDP on CPU processes. Running a training is a runner-level step: :func:`mtda.apis.train_from_config`."""
from . import atomic_checkpoints  # noqa: F401  (registers the atomic file backend)
from .cpu_distributed import CPUDistributedDataParallel
from .export_weights_hook import ExportWeightsHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .random_state_hook import RandomStateHook

__all__ = ['CPUDistributedDataParallel', 'ExportWeightsHook', 'PlainCheckpointHook',
           'RandomStateHook']
