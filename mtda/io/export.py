"""Turn an mmengine training checkpoint into a weights-only checkpoint."""
from pathlib import Path

from ..errors import CheckpointError
from .checkpoint import (atomic_save, clean_meta, load_checkpoint_file, provenance,
                         state_dict_of)


def export_weights(checkpoint, out, *, prefix: str = '', trust: bool = False) -> Path:
    """Write ``out`` = the state_dict (optionally under ``prefix``) + primitive meta.

    The input is read weights-only: mtda's own training checkpoints are plain data (see
    :class:`~mtda.training.plain_checkpoint_hook.PlainCheckpointHook`). A checkpoint written by
    plain mmengine pickles Python objects and needs ``trust=True`` (full unpickling: only for
    files whose origin the user vouches for).
    """
    if Path(out).resolve() == Path(checkpoint).resolve():
        raise CheckpointError(f'{out}: the output would overwrite the input; choose another path')
    obj = load_checkpoint_file(checkpoint, trust=trust)
    state = state_dict_of(obj, checkpoint, prefix=prefix)
    meta = dict(obj.get('meta', {})) if isinstance(obj, dict) else {}
    meta = dict(clean_meta(meta), **provenance([checkpoint], exported_from=str(checkpoint)))
    return atomic_save(dict(state_dict=state, meta=meta), out)
