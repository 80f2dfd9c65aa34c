"""Checkpoint input/output: the one place where files are read and written as checkpoints."""
from .checkpoint import (atomic_save, checkpoint_label, clean_meta, load_checkpoint_file,
                         load_state_dict_file, provenance, sha256_file, state_dict_of)

__all__ = ['atomic_save', 'checkpoint_label', 'clean_meta', 'load_checkpoint_file', 'load_state_dict_file',
           'provenance', 'sha256_file', 'state_dict_of']
