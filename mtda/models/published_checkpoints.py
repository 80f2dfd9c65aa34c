"""Published DAFormer / HRDA / MIC checkpoints (mmseg 0.x) read into mtda's weights-only format.

DAFormer (``lhoyer/DAFormer``), HRDA and MIC release their UDA models as mmcv 1.x checkpoints of
the whole UDA wrapper: ``state_dict`` keys ``model.*`` (the student, what those papers and mtda
evaluate and merge), ``ema_model.*`` (the EMA teacher) and ``imnet_model.*`` (the frozen ImageNet
copy), in mmseg 0.x naming. What changes on the way to mtda (mmseg 1.x):

* **MiT backbones** use SegFormer's own layout (``patch_embed1.proj``, ``block1.0.attn.q`` /
  ``attn.kv``, ``mlp.fc1`` / ``mlp.dwconv.dwconv``, ``norm1`` ...). They are converted with mmseg's
  converter (:func:`mtda.models.pretrained.convert_official_mit`: ``q`` and ``kv`` concatenated
  into the attention's ``in_proj``, the linear layers of the Mix-FFN as 1x1 convs).
* **ResNet backbones** (ResNetV1c, DAFormer's DeepLabV2 and ResNet-101 runs) keep mmseg's names.
* **DAFormer's head** (``embed_layers.<i>.proj``, ``fuse_layer.aspp_modules``,
  ``fuse_layer.bottleneck``, ``conv_seg``) and **DeepLabV2's** (``aspp_modules.<i>``) have the
  names of mtda's heads (:mod:`mtda.models.heads`): kept.
* **HRDA** models (``decode_head.head.*``, ``decode_head.scale_attention.*``; also MIC's HRDA
  releases) have the names of :class:`mtda.models.hrda.HRDAHead`, whose two heads are DAFormer
  heads (the attention head's 1x1-conv fusion is ``fuse_layer.conv`` / ``fuse_layer.bn`` in both):
  kept, and loaded into the segmentor of an HRDA config (``configs/hrda/``).

The converted weights must fill the config's segmentor exactly (every key used once, shapes
equal); the output records the source file's sha256, which network was taken and, when given,
the sha256 of the ImageNet weights the release was fine-tuned from as ``init_sha256`` (all of
DAFormer's, HRDA's and MIC's MiT-B5 releases start from SegFormer's ``mit_b5.pth``), so that
``tools/merge.py`` checks the lineage of converted files as it does for mtda's own.
"""
from pathlib import Path
from typing import Dict, Mapping, Optional

import torch

from ..datasets.label_maps import CLASSES, PALETTE
from ..errors import CheckpointError
from ..io import atomic_save, load_checkpoint_file, load_state_dict_file, weights_sha256
from ..io.checkpoint import clean_meta, provenance, state_dict_of
from .pretrained import convert_official_mit
from .segmentor import load_state_strict

#: which network of a DAFormer / HRDA / MIC UDA checkpoint, by its state-dict prefix
NETWORK_PREFIXES = {'student': 'model.', 'teacher': 'ema_model.'}
_UDA_PREFIXES = ('model.', 'ema_model.', 'imnet_model.')


def published_segmentor_state(state: Mapping[str, torch.Tensor], source: str, *,
                              network: str = 'student') -> Dict[str, torch.Tensor]:
    """One network of a published (mmseg 0.x) checkpoint's ``state_dict``, in mtda's key names.

    Args:
        state: the checkpoint's ``state_dict``: a UDA wrapper's (``model.*``, ``ema_model.*``,
            ``imnet_model.*``) or a plain segmentor's (``backbone.*``, ``decode_head.*``).
        source: the file, for error messages.
        network: ``student`` or ``teacher`` (a UDA checkpoint's EMA model).

    Raises:
        CheckpointError: an unknown network, a teacher asked of a file without one.
    """
    if network not in NETWORK_PREFIXES:
        raise CheckpointError(f'{source}: unknown network {network!r}; choose one of '
                              f'{sorted(NETWORK_PREFIXES)}')
    is_uda = any(key.startswith(_UDA_PREFIXES) for key in state)
    if is_uda:
        prefix = NETWORK_PREFIXES[network]
        picked = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not picked:
            raise CheckpointError(f'{source}: no {network} weights (no "{prefix}*" keys); pick '
                                  f'the other network')
    elif network == 'teacher':
        raise CheckpointError(f'{source}: a plain segmentor checkpoint has no EMA teacher; '
                              'convert it as the student')
    else:
        picked = dict(state)
    backbone = {k[len('backbone.'):]: v for k, v in picked.items() if k.startswith('backbone.')}
    if 'patch_embed1.proj.weight' in backbone:  # SegFormer's MiT layout
        backbone = convert_official_mit(backbone)
    converted = {f'backbone.{k}': v for k, v in backbone.items()}
    converted.update({k: v for k, v in picked.items() if not k.startswith('backbone.')})
    return converted


def convert_published_checkpoint(checkpoint, segmentor: torch.nn.Module, out, *,
                                 network: str = 'student', init: Optional[str] = None,
                                 config_name: str = '', trust: bool = False) -> Path:
    """Write ``out``: ``checkpoint``'s ``network`` as an mtda weights-only segmentor file.

    Args:
        checkpoint: the published file (DAFormer / HRDA / MIC release, mmseg 0.x).
        segmentor: the plain segmentor the weights must fill (from the matching mtda config);
            it is loaded strictly and left holding them.
        out: the output file (written atomically).
        network: ``student`` (default: what DAFormer, HRDA, MIC and the paper evaluate) or
            ``teacher``.
        init: the pretrained file the release was fine-tuned from (e.g. ``mit_b5.pth``); the
            sha256 of its weights (:func:`~mtda.io.weights_sha256`) becomes the output's
            ``init_sha256``.
        config_name: recorded in the output's meta.
        trust: unpickle fully (for a file that is not plain data; only when you trust it).

    Raises:
        CheckpointError: unreadable file, keys or shapes that do not fit the config.
    """
    checkpoint = Path(checkpoint)
    if Path(out).resolve() == checkpoint.resolve():
        raise CheckpointError(f'{out}: the output would overwrite the input; choose another path')
    obj = load_checkpoint_file(checkpoint, trust=trust)
    converted = published_segmentor_state(state_dict_of(obj, checkpoint), str(checkpoint),
                                          network=network)
    load_state_strict(segmentor, converted, str(checkpoint),
                      fix='pass the mtda config of the release\'s architecture (e.g. '
                          'configs/daformer/gta2cityscapes_daformer_mitb5.py for MiT-B5 + '
                          'DAFormer head, configs/hrda/gta2cityscapes_hrda_mitb5.py for HRDA '
                          'and MIC releases)')
    meta = dict(obj.get('meta') or {}) if isinstance(obj, Mapping) else {}
    classes = tuple(meta.get('CLASSES') or CLASSES)
    palette = [list(c) for c in (meta.get('PALETTE') or PALETTE)]
    if len(classes) != len(CLASSES):
        raise CheckpointError(f'{checkpoint}: {len(classes)} classes ({classes[:3]} ...); mtda '
                              f'evaluates the {len(CLASSES)} Cityscapes classes')
    record = provenance([checkpoint], converted_from=str(checkpoint), network=network,
                        source_format='mmseg 0.x UDA checkpoint (DAFormer/MIC)',
                        config=config_name, iter=meta.get('iter'))
    if init is not None:
        if not Path(init).is_file():
            raise CheckpointError(f'{init}: no such file (--init names the pretrained file the '
                                  'release was fine-tuned from, e.g. pretrained/mit_b5.pth)')
        record['init_sha256'] = weights_sha256(load_state_dict_file(init, trust=trust))
        record['init_file'] = str(init)
    record.update(classes=list(classes), palette=palette,
                  dataset_meta=dict(classes=list(classes), palette=palette))
    return atomic_save(dict(state_dict=segmentor.state_dict(), meta=clean_meta(record)), out)
