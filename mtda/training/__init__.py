"""Running training from a config (the logic behind ``tools/train.py``) and its hooks."""
from .export_weights_hook import ExportWeightsHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .random_state_hook import RandomStateHook
from .train import train_from_config

__all__ = ['ExportWeightsHook', 'PlainCheckpointHook', 'RandomStateHook', 'train_from_config']
