"""DAFormer and DeepLabV2 heads built from the model configs."""
import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from mtda.merging.classify import EntryKind, classify_state_dict_entries
from support import CONFIGS

MODELS_DIR = CONFIGS / '_base_' / 'models'
ALL_MODEL_CONFIGS = ['daformer_mitb5.py', 'daformer_r101.py', 'dlv2_r101.py',
                     'daformer_mit-b0_tiny.py', 'daformer_r18_tiny.py', 'dlv2_r18_tiny.py']


def _build(name):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401  (registers the heads)
    register_all_modules(init_default_scope=True)
    return MODELS.build(Config.fromfile(str(MODELS_DIR / name)).segmentor)


@pytest.mark.parametrize('name', ALL_MODEL_CONFIGS)
def test_model_configs_load(name):
    cfg = Config.fromfile(str(MODELS_DIR / name))
    assert cfg.segmentor.type == 'EncoderDecoder' and 'model' not in cfg
    assert cfg.segmentor.decode_head.type in ('DAFormerHead', 'DLV2Head')
    pretrained = cfg.segmentor.backbone.get('init_cfg')
    if 'tiny' in name:
        assert pretrained is None
    else:  # a local file, never a download
        assert pretrained.type == 'Pretrained' and pretrained.checkpoint.startswith('pretrained/')
    if cfg.segmentor.backbone.type == 'ResNetV1c':
        assert cfg.segmentor.backbone.norm_eval is False
        assert cfg.segmentor.backbone.norm_cfg.type == 'BN'


@pytest.mark.parametrize('name,stride', [('daformer_mit-b0_tiny.py', 4),
                                         ('daformer_r18_tiny.py', 4),
                                         ('dlv2_r18_tiny.py', 8)])
def test_tiny_models_predict_19_classes(name, stride):
    model = _build(name)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
    # DAFormer predicts at the first level (stride 4); DeepLabV2 at the dilated ResNet's stride 8
    assert logits.shape == (2, 19, 64 // stride, 64 // stride)


def test_daformer_head_structure_and_bn_buffers():
    head = _build('daformer_r18_tiny.py').decode_head
    keys = head.state_dict().keys()
    # DAFormer's parameter names (its checkpoints map one to one)
    for key in ('embed_layers.0.proj.weight', 'embed_layers.3.proj.weight',
                'fuse_layer.aspp_modules.0.conv.weight',
                'fuse_layer.aspp_modules.1.depthwise_conv.conv.weight',
                'fuse_layer.aspp_modules.3.pointwise_conv.bn.running_var',
                'fuse_layer.bottleneck.conv.weight', 'conv_seg.weight'):
        assert key in keys, key
    assert len(head.fuse_layer.aspp_modules) == 4
    assert head.embed_layers['0'].proj.out_features == 64
    # 1x1 branch: 1 BN; three separable branches: 2 each; bottleneck: 1
    assert sum(isinstance(m, _BatchNorm) for m in head.modules()) == 8
    kinds = classify_state_dict_entries(head)
    assert sum(k is EntryKind.BN_MEAN for k in kinds.values()) == 8
    assert sum(k is EntryKind.BN_COUNTER for k in kinds.values()) == 8


def test_dlv2_head_has_no_bn_and_sums_branches():
    head = _build('dlv2_r18_tiny.py').decode_head
    assert not any(isinstance(m, _BatchNorm) for m in head.modules())
    assert set(classify_state_dict_entries(head).values()) == {EntryKind.PARAMETER}
    assert sorted(head.state_dict()) == ['aspp_modules.0.conv.bias', 'aspp_modules.0.conv.weight',
                                         'aspp_modules.1.conv.bias', 'aspp_modules.1.conv.weight']
    assert [m.conv.dilation for m in head.aspp_modules] == [(6, 6), (12, 12)]
    features = [torch.randn(1, c, 8, 8) for c in (64, 128, 256, 512)]
    expected = sum(branch(features[3]) for branch in head.aspp_modules)
    assert torch.allclose(head(features), expected)


def test_dlv2_head_init_and_fixed_arguments():
    from mtda.models.heads import DLV2Head
    head = DLV2Head(in_channels=32, dilations=(6, 12, 18, 24), num_classes=19)
    head.init_weights()
    weights = torch.cat([m.conv.weight.flatten() for m in head.aspp_modules])
    assert len(head.aspp_modules) == 4 and 0.005 < weights.std().item() < 0.02
    with pytest.raises(TypeError):
        DLV2Head(in_channels=32, num_classes=19, channels=256)


def test_daformer_tiny_trains_one_step():
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    model = _build('daformer_mit-b0_tiny.py')
    model.train()
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                             pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 64, 64)))
        samples.append(sample)
    losses = model(torch.randn(2, 3, 64, 64), samples, mode='loss')
    losses['decode.loss_ce'].backward()
    assert model.decode_head.fuse_layer.bottleneck.conv.weight.grad is not None
