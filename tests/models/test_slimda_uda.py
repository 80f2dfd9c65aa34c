"""SlimDA's bank training (mtda.models.uda.SlimDAUDA) on the tiny synthetic data: the sandwich
widths all train, SEED reaches only the auxiliary classifier, a plain shared init fills the bank."""
import copy

import pytest
import torch
from mmengine.config import Config

from support import CONFIGS, run_tool

SLIMDA_TINY = CONFIGS / 'slimda' / 'gta2cityscapes_slimda_efficientnet-lite0_tiny.py'
DAFORMER_TINY = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_efficientnet-lite0_tiny.py'


def _plain_shared_init(root):
    """The DAFormer miniature's shared init (plain layout), as tools/make_shared_init.py writes."""
    out = root / 'work_dirs' / 'shared_init' / 'daformer_efficientnet-lite0_tiny.pth'
    if not out.exists():
        run_tool('make_shared_init.py', DAFORMER_TINY, '--out', out, '--seed', '4', cwd=root)
    return out


def _build(root, monkeypatch, config=SLIMDA_TINY, **changes):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mtda  # noqa: F401
    monkeypatch.chdir(root)
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(config))
    cfg.model.init_checkpoint = str(_plain_shared_init(root))
    cfg.model.update(changes)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_a_plain_shared_init_fills_every_width_and_the_widest_is_the_plain_model(
        tiny_data_root, monkeypatch):
    _, bank = _build(tiny_data_root, monkeypatch)
    _, plain = _build(tiny_data_root, monkeypatch, DAFORMER_TINY)
    x = torch.randn(2, 3, 64, 64)
    bank.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(bank.student._forward(x), plain.student._forward(x),
                                   rtol=0, atol=0)
        bank.student.set_width(0)
        assert bank.student._forward(x).shape == (2, 19, 16, 16)


def test_one_iteration_trains_the_sandwich_widths_and_seed(tiny_data_root, monkeypatch):
    from mmengine.dataset import pseudo_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmseg.registry import DATASETS
    cfg, model = _build(tiny_data_root, monkeypatch)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    MessageHub.get_current_instance().update_info('iter', 3)
    model.train()
    before = {k: v.detach().clone() for k, v in model.student.named_parameters()}
    optim = OptimWrapper(torch.optim.SGD(model.student.parameters(), lr=1e-2))
    torch.manual_seed(1)
    log = model.train_step(batch, optim)
    # widest (with the feature distance) and narrowest always, each with source and mixed losses
    assert {'w1.src.loss_ce', 'w1.src.loss_imnet_fd', 'w1.mix.loss_ce', 'w0.25.src.loss_ce',
            'w0.25.mix.loss_ce', 'w0.25.seed.loss'} <= set(log)
    assert 'w1.seed.loss' not in log  # the widest width is not distilled
    assert all(torch.isfinite(v).all() for v in log.values())
    assert model.student.width == 1.0  # left at the widest: exports and evaluation use it
    moved = {k for k, v in model.student.named_parameters() if not torch.equal(v, before[k])}
    assert 'seed_classifier.weight' in moved and 'decode_head.conv_seg.weight' in moved
    # the narrowest width's own BatchNorm trained too
    assert any('.bn.0.' in k for k in moved)


def test_a_width_alone_trains_only_its_own_channels_and_norms_without_seed(
        tiny_data_root, monkeypatch):
    from mmengine.dataset import pseudo_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmseg.registry import DATASETS
    segmentor = dict(copy.deepcopy(Config.fromfile(str(SLIMDA_TINY)).model.segmentor),
                     inference_width=0.5)
    cfg, model = _build(tiny_data_root, monkeypatch, sandwich=False, segmentor=segmentor)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    MessageHub.get_current_instance().update_info('iter', 3)
    model.train()
    student = model.student
    before = {k: v.detach().clone() for k, v in student.named_parameters()}
    optim = OptimWrapper(torch.optim.SGD(student.parameters(), lr=1e-2))
    log = model.train_step(batch, optim)
    assert set(log) >= {'w0.5.src.loss_ce', 'w0.5.src.loss_imnet_fd', 'w0.5.mix.loss_ce'}
    assert not [k for k in log if k.startswith('w') and not k.startswith('w0.5.')]
    assert student.width == 0.5 and model.teacher.width == 0.5
    moved = {k for k, v in student.named_parameters() if not torch.equal(v, before[k])}
    assert any('.bn.1.' in k for k in moved)  # width 0.5 is index 1: its own norms train
    assert not any(f'.bn.{i}.' in k for k in moved for i in (0, 2, 3))
    assert 'seed_classifier.weight' not in moved
    stem = student.backbone.timm_model.conv_stem  # 32 output channels, 16 at width 0.5
    kept = stem.out_channels_list[1]
    assert kept < stem.weight.shape[0]
    assert not torch.equal(stem.weight[:kept], before['backbone.timm_model.conv_stem.weight'][:kept])
    assert torch.equal(stem.weight[kept:], before['backbone.timm_model.conv_stem.weight'][kept:])


def test_seed_reaches_only_its_classifier_and_the_segmentation_loss_never_does(
        tiny_data_root, monkeypatch):
    from mtda.models.slimmable import seed_loss
    _, model = _build(tiny_data_root, monkeypatch)
    student = model.student.train()
    student.set_width(0)
    x = torch.randn(2, 3, 64, 64)
    logits, seed_logits = student.logits_and_seed_logits(x)
    target = torch.softmax(torch.randn_like(seed_logits), dim=1)
    seed_loss(target, seed_logits).backward()
    assert student.decode_head.conv_seg.weight.grad is None
    assert student.seed_classifier.weight.grad.abs().sum() > 0
    assert student.backbone.timm_model.conv_stem.weight.grad.abs().sum() > 0  # and the trunk
    student.zero_grad(set_to_none=True)
    logits, _ = student.logits_and_seed_logits(x)
    torch.nn.functional.cross_entropy(logits, torch.zeros(2, 16, 16, dtype=torch.long)).backward()
    assert student.seed_classifier.weight.grad is None
    assert student.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_a_bank_without_a_seed_classifier_is_refused(tiny_data_root, monkeypatch):
    with pytest.raises(ValueError, match="seed_classifier=True"):
        _build(tiny_data_root, monkeypatch, segmentor=dict(
            copy.deepcopy(Config.fromfile(str(SLIMDA_TINY)).model.segmentor),
            seed_classifier=False))
