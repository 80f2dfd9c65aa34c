"""Checkpoint IO: safe load, atomic save, provenance.

Two kinds of files are read here, and they are trusted differently:

* **Files exchanged between users** (pretrained weights, shared init, stage-one exports, merge
  inputs, merged outputs) are *data*. They are loaded with ``torch.load(weights_only=True)`` and no
  extra allow-list: tensors, numbers, strings, lists and dicts only. A file that needs more (a full
  pickle with Python objects) is refused with a one-line error that says how to export its weights,
  or how to pass an explicit trust flag if the user vouches for its origin.
* **The run's own work dir** (resuming training). mmengine 0.10.7 pickles ``HistoryBuffer``
  objects into its checkpoints (their pickle names ``builtins.getattr``) and loads them with a plain
  ``torch.load``, which torch >= 2.6 treats as ``weights_only=True``. Rather than allow-listing
  ``getattr`` or falling back to full unpickling, mtda's
  :class:`~mtda.training.plain_checkpoint_hook.PlainCheckpointHook` (in every config's runtime)
  writes those buffers as plain lists and rebuilds them on load, so resume works with the default
  weights-only load and no allow-list at all.

Saves go to a temporary file in the destination folder and are renamed into place with
:func:`os.replace`, so a killed process or a full disk never leaves a torn checkpoint behind.
"""
import datetime
import hashlib
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional

import torch

from ..errors import CheckpointError, MtdaError
from ..version import __version__
from .atomic import atomic_write
from .safetensors_file import is_safetensors_path, read_safetensors_checkpoint

_EXPORT_HINT = ('export its weights with `python tools/export_weights.py CKPT OUT.pth` '
                '(plain state_dict + primitive meta), or pass --trust-checkpoint if you trust '
                'where the file came from')


def sha256_file(path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Hex sha256 of a state dict's weights: every name, dtype, shape and value, in name order.

    Unlike :func:`sha256_file` it ignores how the weights were stored (creation time and paths in
    the meta, ``.pth`` or ``.safetensors``), so an init built twice the same way, on one machine or
    two, has one hash. Training records it as the lineage ``init_sha256`` (docs/merging.md).
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f'{name}|{tensor.dtype}|{tuple(state[name].shape)}\n'.encode())
        digest.update(tensor.view(torch.uint8).numpy())
    return digest.hexdigest()


def load_checkpoint_file(path, *, trust: bool = False, map_location='cpu',
                         mmap: bool = False) -> Any:
    """Load a checkpoint file as data (``weights_only=True``), with one-line errors.

    A ``.safetensors`` file is read as the ``.pth`` it mirrors
    (:func:`~mtda.io.safetensors_file.read_safetensors_checkpoint`).

    Args:
        path: the file.
        trust: load with full unpickling. Only for files whose origin the user vouches for; this
            runs whatever code the pickle names.
        map_location: as for :func:`torch.load`.
        mmap: map the tensors from the file instead of copying them into memory
            (``torch.load(mmap=True)``, private copy-on-write pages): pages are read when touched
            and given back when the tensors are freed, which makes one pass over a large file
            cheaper. Files in torch's legacy (non-zip) format are read normally.

    Raises:
        CheckpointError: missing, empty, truncated or corrupt file; a pickle with Python objects
            (unless ``trust``).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file; check the path')
    if is_safetensors_path(path):
        return read_safetensors_checkpoint(path, map_location)
    if path.stat().st_size == 0:
        raise CheckpointError(f'{path}: empty file (an interrupted copy or save?); re-create or '
                              're-download it')
    try:
        return torch.load(path, map_location=map_location, weights_only=not trust,
                          mmap=mmap and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        refused = re.search(r'GLOBAL (\S+) was not an allowed global', str(exc))
        if refused is None:
            raise CheckpointError(f'{path}: not a readable torch checkpoint (corrupt pickle '
                                  'stream); re-create or re-download it') from None
        raise CheckpointError(f'{path}: holds pickled Python objects that a weights-only load '
                              f'refuses (it names {refused.group(1)}); {_EXPORT_HINT}') from None
    except Exception as exc:  # noqa: BLE001 - a weights-only load runs no code: any failure is a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        if not isinstance(exc, (RuntimeError, OSError)):  # e.g. KeyError: 101 from the unpickler
            first = f'{type(exc).__name__}: {first}' if first else type(exc).__name__
        raise CheckpointError(f'{path}: not a readable torch checkpoint (truncated or corrupt: '
                              f'{first}); re-create or re-download it') from None


def load_state_dict_file(path, *, prefix: str = '', trust: bool = False
                         ) -> Dict[str, torch.Tensor]:
    """The ``{name: tensor}`` mapping of a checkpoint (``state_dict`` entry or a bare mapping).

    Args:
        path: the checkpoint file.
        prefix: keep only keys starting with it, with the prefix removed (e.g. ``'model.'`` to
            pick the student of a UDA checkpoint).
        trust: see :func:`load_checkpoint_file`.
    """
    return state_dict_of(load_checkpoint_file(path, trust=trust), path, prefix=prefix)


def state_dict_of(obj: Any, path, *, prefix: str = '') -> Dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint ``obj`` (read from ``path``, named in errors)."""
    state = obj.get('state_dict', obj) if isinstance(obj, Mapping) else None
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: not a checkpoint (expected a state_dict of tensors); '
                              'pass a file saved by tools/train.py or tools/merge.py')
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f'{path}: no weights under "{prefix}"; is this the right kind '
                                  'of checkpoint?')
    return dict(state)


def checkpoint_label(path, meta: Optional[Mapping] = None) -> str:
    """A short name for a checkpoint in tables and plots.

    The file's stem, unless the stem names only the point of a run (``final``, ``iter_N``): then
    the run's domains from ``meta`` lead, e.g. ``gta→cityscapes (final)``.
    """
    stem = Path(path).stem
    if not re.fullmatch(r'final|iter_\d+', stem):
        return stem
    meta = meta if isinstance(meta, Mapping) else {}
    source, target = meta.get('source_domain'), meta.get('target_domain')
    if target:
        return f'{source or "source"}→{target} ({stem})'
    return f'{source} ({stem})' if source else stem


def _torch_save(obj: Any, file) -> None:
    """``torch.save``, with a failed write raised as the OSError it is.

    torch's zip writer meets the OSError of a full disk, then fails again closing the archive and
    raises that second failure, a RuntimeError ("unexpected pos ..."), with the OSError as context.
    """
    try:
        torch.save(obj, file)
    except RuntimeError as exc:
        if isinstance(exc.__context__, OSError):
            raise exc.__context__ from None
        raise


def atomic_save(obj: Any, path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename into place.

    Either the old file (or nothing) or the complete new file exists at ``path`` at any instant.
    Raises CheckpointError (and removes the temporary file) when the write fails, e.g. on a full
    disk.
    """
    try:
        return atomic_write(path, lambda f: _torch_save(obj, f), fsync=True)
    except MtdaError as exc:
        raise CheckpointError(str(exc)) from None


def provenance(inputs: Iterable = (), **fields) -> Dict[str, Any]:
    """Primitive provenance record for a checkpoint's ``meta``: inputs with sha256, mtda/torch
    versions, UTC time, plus any keyword fields (weights, policies, config name ...)."""
    record: Dict[str, Any] = dict(
        mtda_version=__version__,
        torch_version=str(torch.__version__),
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    inputs = [Path(p) for p in inputs]
    if inputs:
        record['inputs'] = [dict(path=str(p), sha256=sha256_file(p)) for p in inputs]
    record.update(fields)
    return primitive(record)


def primitive(value: Any) -> Any:
    """Recursively convert ``value`` to str/int/float/bool/None/list/dict, for weights-only meta."""
    if value is None or type(value) in (str, bool, int, float):
        return value
    for kind in (bool, str, int, float):  # subclasses (torch's TorchVersion is a str) unpickle
        if isinstance(value, kind):       # as classes, which a weights-only load refuses
            return kind(value)
    if isinstance(value, Mapping):
        return {str(k): primitive(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [primitive(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):  # numpy / torch scalars
        return value.item()
    return str(value)


def clean_meta(meta: Optional[Mapping]) -> Dict[str, Any]:
    """``meta`` reduced to primitives, so that the file loads with ``weights_only=True``."""
    return primitive(dict(meta or {}))
