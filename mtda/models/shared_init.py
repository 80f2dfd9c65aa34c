"""The shared init of an experiment: the one checkpoint every stage-one run starts from.

Merging works because all per-domain models are fine-tuned from the same weights (the paper's
linear-mode-connectivity argument), so the init is a file, written once, whose sha256 every
stage-one checkpoint records and stage two checks. It holds the segmentor of the experiment's
config with

* the pretrained backbone from a local file (:mod:`mtda.models.pretrained`) and the decode head
  initialised by mmseg's ``init_weights`` from a fixed seed, or
* a whole segmentor checkpoint (e.g. a short source-only pretraining where no ImageNet weights
  exist, as on the miniature synthetic setup).
"""
from pathlib import Path
from typing import Optional

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import set_random_seed
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from ..errors import CheckpointError
from ..io import atomic_save, load_state_dict_file, provenance, weights_sha256
from .efficientnet_lite import packaged_weights_path
from .pretrained import PACKAGED, load_backbone_weights
from .segmentor import load_state_strict, segmentor_config

ARCHITECTURE_FIX = 'pass the weights of the architecture the config builds'


def make_shared_init(cfg: Config, out, *, seed: int = 0, backbone_weights: Optional[str] = None,
                     backbone_format: str = 'auto', from_checkpoint: Optional[str] = None
                     ) -> str:
    """Build the config's segmentor, fill it, save it to ``out``; return its weights' sha256 (the
    ``init_sha256`` the runs from it record).

    Args:
        cfg: experiment config (a plain segmentor or a UDA wrapper around one).
        out: the init checkpoint to write (atomically).
        seed: seed for the randomly initialised parts (decode head).
        backbone_weights: local pretrained backbone file, or ``'packaged'``: the ImageNet file an
            installed package ships for the backbone's ``model_name`` (EfficientNet-Lite).
        backbone_format: naming of ``backbone_weights`` (see :mod:`mtda.models.pretrained`).
        from_checkpoint: a whole segmentor checkpoint to start from instead.
    """
    if backbone_weights and from_checkpoint:
        raise CheckpointError('--backbone-weights and --from-checkpoint exclude each other; '
                              'pass one')
    register_all_modules(init_default_scope=True)
    import mtda  # noqa: F401  (registers mtda's heads)
    seg_cfg = dict(segmentor_config(cfg))
    seg_cfg.pop('init_cfg', None)
    set_random_seed(seed)
    # mmengine logs every parameter's init at INFO; a tool printing its result needs none of it
    MMLogger.get_instance('mtda_shared_init', log_level='WARNING')
    model = MODELS.build(seg_cfg)
    # The backbone's own init_cfg names a pretrained file; weights come from here instead.
    model.backbone.init_cfg = None
    model.init_weights()
    inputs = []
    if backbone_weights == PACKAGED:
        backbone_weights = str(packaged_weights_path(seg_cfg['backbone'].get('model_name', '')))
    if backbone_weights:
        load_state_strict(model.backbone, load_backbone_weights(
            backbone_weights, backbone_format=backbone_format, backbone=model.backbone),
            backbone_weights, fix=ARCHITECTURE_FIX)
        inputs.append(backbone_weights)
    if from_checkpoint:
        load_state_strict(model, load_state_dict_file(from_checkpoint), from_checkpoint,
                          fix=ARCHITECTURE_FIX)
        inputs.append(from_checkpoint)
    meta = provenance(inputs, kind='shared_init', seed=seed,
                      config=Path(cfg.filename).name if cfg.filename else '')
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save(dict(state_dict=state, meta=meta), out)
    return weights_sha256(state)
