"""Which segmentor a checkpoint holds: the student (default) or the EMA teacher of a UDA run.

Stage one leaves two kinds of files behind, and stage two reads either:

* **weights-only exports** (``<work_dir>/weights/final.pth``, written by
  :class:`~mtda.training.export_weights_hook.ExportWeightsHook`): one plain segmentor
  (``backbone.*``, ``decode_head.*``), which is the student;
* **full training checkpoints** of a UDA run (``iter_N.pth``): the wrapper's state dict, with the
  student under ``model.`` and the EMA teacher under ``teacher.`` (mtda's
  :class:`~mtda.models.uda.daformer_uda.DAFormerUDA`) or ``ema_model.`` (DAFormer's and the
  paper's code). The frozen ImageNet copy (``imnet_backbone.``/``imnet_model.``) is never picked.

The student is what DAFormer and the paper evaluate and merge, so it is the default everywhere.
"""
from typing import Any, Dict, Mapping, NamedTuple, Optional

import torch

from ..errors import CheckpointError
from .checkpoint import load_checkpoint_file, state_dict_of

# Prefixes of each role inside a UDA wrapper's state dict, tried in order.
SEGMENTOR_PREFIXES: Dict[str, tuple] = {
    'student': ('model.',),
    'teacher': ('teacher.', 'ema_model.'),
}
#: the ``--model`` choices
MODEL_ROLES = tuple(SEGMENTOR_PREFIXES)
# Top-level modules that mark a state dict as a UDA wrapper's rather than a plain segmentor's.
_WRAPPER_PREFIXES = ('model.', 'teacher.', 'ema_model.', 'imnet_backbone.', 'imnet_model.')


def check_model_role(model: str) -> None:
    """Raise CheckpointError unless ``model`` is a role of :data:`SEGMENTOR_PREFIXES` (``--model``)."""
    if model not in MODEL_ROLES:
        raise CheckpointError(f'unknown --model {model!r}: not a segmentor role; choose one of '
                              f'{", ".join(MODEL_ROLES)}')


def is_uda_wrapper_state(state: Mapping[str, Any]) -> bool:
    """True if ``state`` is a UDA wrapper's state dict (student/teacher under prefixes)."""
    return any(key.startswith(_WRAPPER_PREFIXES) for key in state)


def select_segmentor_state(checkpoint: Any, path, *, model: str = 'student'
                           ) -> Dict[str, torch.Tensor]:
    """The ``{key: tensor}`` of one segmentor in a loaded checkpoint, keys as a plain segmentor's.

    Args:
        checkpoint: what :func:`~mtda.io.checkpoint.load_checkpoint_file` returned.
        path: the file it came from (named in errors).
        model: ``'student'`` or ``'teacher'``.

    Raises:
        CheckpointError: an unknown role, not a checkpoint, a teacher asked of a file that holds a
            single segmentor, or a wrapper without weights under the role's prefixes.
    """
    check_model_role(model)
    state = state_dict_of(checkpoint, path)
    if not is_uda_wrapper_state(state):
        if model == 'teacher':
            raise CheckpointError(
                f'{path}: holds one segmentor (a weights-only export, which is the student), so '
                'there is no teacher to pick; pass the run\'s full checkpoint (iter_N.pth) or use '
                '--model student')
        return state
    for prefix in SEGMENTOR_PREFIXES[model]:
        selected = {key[len(prefix):]: value for key, value in state.items()
                    if key.startswith(prefix)}
        if selected:
            return selected
    tops = sorted({key.split('.', 1)[0] for key in state})
    raise CheckpointError(
        f'{path}: a UDA checkpoint without {model} weights (looked under '
        f'{", ".join(SEGMENTOR_PREFIXES[model])}; it has {tops}); pick another --model or file')


class SegmentorFile(NamedTuple):
    """What evaluating or predicting with a checkpoint file needs from it."""

    state: Dict[str, torch.Tensor]  #: the chosen segmentor's entries, plain segmentor keys
    meta: Mapping[str, Any]  #: the file's ``meta`` (``{}`` if none)
    domain_heads: Optional[Mapping[str, Mapping[str, torch.Tensor]]]  #: separate-heads merges


def read_segmentor_file(path, *, model: str = 'student', trust: bool = False) -> SegmentorFile:
    """Load ``path`` (weights-only unless ``trust``) and pick its ``model`` segmentor, its meta and
    its per-domain heads (``tools/merge.py --heads separate``), if any."""
    loaded = load_checkpoint_file(path, trust=trust)
    state = select_segmentor_state(loaded, str(path), model=model)
    extra = loaded if isinstance(loaded, Mapping) else {}
    meta = extra.get('meta')
    return SegmentorFile(state, meta if isinstance(meta, Mapping) else {},
                         extra.get('domain_heads') or None)
