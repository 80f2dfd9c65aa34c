"""Turn an mmengine training checkpoint into a weights-only checkpoint."""
from pathlib import Path

import torch

from ..errors import CheckpointError
from .checkpoint import (atomic_save, clean_meta, load_checkpoint_file, provenance,
                         resume_safe_globals, state_dict_of)


def export_weights(checkpoint, out, *, prefix: str = '') -> Path:
    """Write ``out`` = the state_dict (optionally under ``prefix``) + primitive meta.

    The input is read with ``weights_only=True`` plus :func:`resume_safe_globals` (mmengine's
    HistoryBuffer and numpy arrays): enough for mmengine checkpoints, never code execution.
    """
    if Path(out).resolve() == Path(checkpoint).resolve():
        raise CheckpointError(f'{out}: the output would overwrite the input; choose another path')
    with torch.serialization.safe_globals(resume_safe_globals()):
        obj = load_checkpoint_file(checkpoint)
    state = state_dict_of(obj, checkpoint, prefix=prefix)
    meta = dict(obj.get('meta', {})) if isinstance(obj, dict) else {}
    meta.pop('message_hub', None)
    meta = dict(clean_meta(meta), **provenance([checkpoint], exported_from=str(checkpoint)))
    return atomic_save(dict(state_dict=state, meta=meta), out)
