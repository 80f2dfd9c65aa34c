"""Read a ``.safetensors`` checkpoint as the ``{'state_dict', 'meta', 'domain_heads'}`` of a ``.pth``.

``tools/merge.py --safetensors`` writes the merged tensors beside the ``.pth``
(:func:`mtda.merging.files.save_merged`): the segmentor's entries under their own keys, the
per-domain heads of a ``--heads separate`` merge as ``domain_heads.<domain>.<key>``, and every
``meta`` field as a JSON string in the file's header. :func:`read_safetensors_checkpoint` undoes
that layout, so every reader of checkpoints (``tools/test.py``, ``tools/infer.py``, merge inputs,
LMC ends) takes either form, and :func:`register_mmengine_loader` teaches mmengine's
``CheckpointLoader`` the suffix, so ``mmseg.apis.init_model(config, 'merged.safetensors')`` loads
it as it loads the ``.pth`` (``import mtda`` registers it).

A safetensors file holds tensors and strings only: reading one runs no code, like a weights-only
``torch.load``.
"""
import json
from pathlib import Path
from typing import Any, Dict

import torch

from ..errors import CheckpointError

SUFFIX = '.safetensors'
DOMAIN_HEADS_PREFIX = 'domain_heads.'
# mmengine's CheckpointLoader matches schemes with re.match in reverse-sorted order; a path with a
# URL scheme (s3://, http://) is left to that scheme's loader.
_MMENGINE_SCHEME = r'(?![\w-]+://).*\.safetensors$'


def is_safetensors_path(path) -> bool:
    """True if ``path`` names a safetensors file (by its suffix)."""
    return Path(path).suffix == SUFFIX


def read_safetensors_checkpoint(path, map_location='cpu') -> Dict[str, Any]:
    """``{'state_dict': ..., 'meta': ..., ['domain_heads': {domain: {key: tensor}}]}`` of ``path``.

    Header values that are JSON (all that mtda writes) are decoded; others stay strings.

    Raises:
        CheckpointError: missing, empty, truncated or not a safetensors file.
    """
    from safetensors import SafetensorError, safe_open
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file; check the path')
    device = str(map_location) if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        with safe_open(str(path), framework='pt', device=device) as f:
            header = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f'{path}: not a readable safetensors file ({first}); re-create it '
                              'with tools/merge.py --safetensors or re-download it') from None
    state, heads = {}, {}
    for key, value in tensors.items():
        if key.startswith(DOMAIN_HEADS_PREFIX) and key.count('.') >= 2:
            domain, entry = key[len(DOMAIN_HEADS_PREFIX):].split('.', 1)
            heads.setdefault(domain, {})[entry] = value
        else:
            state[key] = value
    checkpoint: Dict[str, Any] = dict(state_dict=state,
                                      meta={key: _decode(value) for key, value in header.items()})
    if heads:
        checkpoint['domain_heads'] = heads
    return checkpoint


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _mmengine_loader(filename: str, map_location=None) -> Dict[str, Any]:
    return read_safetensors_checkpoint(filename, map_location or 'cpu')


def register_mmengine_loader() -> None:
    """Let mmengine's ``load_checkpoint`` (and so ``mmseg.apis.init_model``) read ``.safetensors``."""
    from mmengine.runner import CheckpointLoader
    CheckpointLoader.register_scheme(_MMENGINE_SCHEME, _mmengine_loader, force=True)
