"""Checkpoint input/output: the one place where files are read and written as checkpoints."""
from .checkpoint import (atomic_save, checkpoint_label, clean_meta, load_checkpoint_file,
                         load_state_dict_file, provenance, sha256_file, state_dict_of,
                         weights_sha256)
from .safetensors_file import register_mmengine_loader

register_mmengine_loader()  # mmseg.apis.init_model(config, 'merged.safetensors')

__all__ = ['atomic_save', 'checkpoint_label', 'clean_meta', 'load_checkpoint_file', 'load_state_dict_file',
           'provenance', 'sha256_file', 'state_dict_of', 'weights_sha256']
