"""Pretrained backbone weights from local files, with published key names mapped to mmseg's.

Nothing is downloaded: users place the files under ``pretrained/``.

* ``segformer``: the official SegFormer ImageNet checkpoints (``mit_b0.pth`` ... ``mit_b5.pth``,
  keys ``patch_embed1.*``, ``block1.0.attn.q.*`` ...). Converted with mmseg's own converter,
  ``tools/model_converters/mit2mmseg.py``, which ships inside the mmsegmentation package.
* ``mmseg``: files already in mmseg's naming, e.g. mmcv's ``resnet101_v1c-e67eebb6.pth`` for
  ResNetV1c or the output of the converter above.
* ``auto``: ``segformer`` if any key starts with ``patch_embed1.``, else ``mmseg``.

Checkpoints are read weights-only (:mod:`mtda.io.checkpoint`).
"""
import importlib.util
import os.path as osp
from functools import lru_cache
from typing import Dict

import torch

from ..errors import CheckpointError
from ..io import load_state_dict_file

BACKBONE_FORMATS = ('auto', 'segformer', 'mmseg')


@lru_cache(maxsize=None)
def _mmseg_mit_converter():
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'model_converters',
                    'mit2mmseg.py')
    spec = importlib.util.spec_from_file_location('mmseg_mit2mmseg', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert_mit


def convert_official_mit(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official SegFormer MiT keys -> mmseg ``MixVisionTransformer`` keys (classifier dropped)."""
    return dict(_mmseg_mit_converter()(state_dict))


def load_backbone_weights(path, *, backbone_format: str = 'auto') -> Dict[str, torch.Tensor]:
    """A backbone state dict in mmseg's naming, read from ``path``.

    Args:
        path: local checkpoint file (a bare state dict, or one under ``state_dict``/``model``).
        backbone_format: one of :data:`BACKBONE_FORMATS`.
    """
    if backbone_format not in BACKBONE_FORMATS:
        raise CheckpointError(f'--backbone-format {backbone_format}: choose one of '
                              f'{", ".join(BACKBONE_FORMATS)}')
    state = load_state_dict_file(path)
    if backbone_format == 'auto':
        backbone_format = 'segformer' if any(k.startswith('patch_embed1.') for k in state) \
            else 'mmseg'
    if backbone_format == 'segformer':
        state = convert_official_mit(state)
    # files saved from a whole segmentor keep only the backbone part
    if any(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    return state
