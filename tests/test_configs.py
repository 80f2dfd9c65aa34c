"""Every checked-in config loads; the tiny models build and run a forward pass."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from support import CONFIGS

# model/training configs; configs/mtda/ holds experiment configs (tests/test_main_job.py)
ALL_CONFIGS = sorted(p for p in CONFIGS.rglob('*.py') if not {'_base_', 'mtda'} & set(p.parts))


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_config_loads(path: Path):
    cfg = Config.fromfile(str(path))
    assert cfg.model.type
    assert cfg.custom_imports['imports'] == ['mtda']
    assert cfg.test_cfg.type == 'MultiDomainTestLoop'
    assert set(cfg.test_cfg.domains) <= {'cityscapes', 'idd', 'acdc', 'dark_zurich'}
    assert cfg.get('source_domain') in ('gta', 'synthia')


@pytest.mark.parametrize('name', ['gta_segformer_mit-b0_tiny.py', 'gta_timm-resnet18_tiny.py',
                                  'gta_daformer_efficientnet-lite0_tiny.py'])
def test_tiny_models_forward(name):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(CONFIGS / 'source_only' / name))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 19, 16, 16)  # SegFormer heads predict at stride 4


def test_timm_backbone_is_timm():
    import timm
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(CONFIGS / 'source_only' / 'gta_timm-resnet18_tiny.py'))
    backbone = MODELS.build(cfg.model.backbone)
    reference = timm.create_model('resnet18', features_only=True, pretrained=False,
                                  out_indices=(1, 2, 3, 4))
    assert backbone.timm_model.feature_info.channels() == reference.feature_info.channels() \
        == [64, 128, 256, 512]


TINY_UDA_CONFIGS = sorted(p for sub in ('daformer', 'hrda', 'mic')
                          for p in (CONFIGS / sub).glob('*_tiny.py'))


@pytest.mark.parametrize('path', TINY_UDA_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_tiny_rare_class_sampling_is_the_base_one_with_one_crop_share(path: Path):
    """Every tiny UDA config samples rare classes as its GTA base defines (docs/stage_one.md):
    the drawn class must cover the same share of the source crop, 50 of 64x64 pixels, at any crop
    size."""
    cfg = Config.fromfile(str(path))
    rcs = cfg.train_dataloader.dataset.rare_class_sampling
    assert rcs == cfg.gta_rare_class_sampling
    crop = next(t['crop_size'] for t in cfg.train_dataloader.dataset.source.pipeline
                if t['type'] == 'RandomCrop')
    share = rcs['min_pixels'] * rcs['min_crop_ratio'] / (crop[0] * crop[1])
    assert share == pytest.approx(50 / 4096)
