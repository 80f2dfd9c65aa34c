"""Slimmable layers, the sandwich rule, SEED and UPEM: the properties SlimDA's parts must have."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mtda.models.slimmable import (SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d,
                                   ensemble_probabilities, prediction_distance, sandwich_widths,
                                   seed_loss, set_width_, sharpen, upem, width_count)


def test_a_slimmable_conv_is_the_sliced_conv_at_every_width():
    torch.manual_seed(0)
    conv = SlimmableConv2d([2, 4, 6], [3, 5, 8], 3, padding=1)
    for index, (in_c, out_c) in enumerate(zip([2, 4, 6], [3, 5, 8])):
        conv.width_index = index
        x = torch.randn(2, in_c, 7, 7)
        expected = F.conv2d(x, conv.weight[:out_c, :in_c], conv.bias[:out_c], padding=1)
        torch.testing.assert_close(conv(x), expected, rtol=0, atol=0)
    depthwise = SlimmableConv2d([4, 8], [4, 8], 3, padding=1, depthwise=True)
    depthwise.width_index = 0
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(depthwise(x), F.conv2d(x, depthwise.weight[:4],
                                                      depthwise.bias[:4], padding=1, groups=4))
    with pytest.raises(ValueError, match='expects 4 input channels'):
        depthwise(torch.randn(1, 8, 5, 5))


def test_a_slimmable_linear_is_the_sliced_linear():
    layer = SlimmableLinear([3, 6], [2, 4])
    layer.width_index = 0
    x = torch.randn(5, 3)
    torch.testing.assert_close(layer(x), x @ layer.weight[:2, :3].T + layer.bias[:2])


def test_training_one_width_moves_only_its_own_batchnorm():
    bn = SwitchableBatchNorm2d([2, 4]).train()
    before = [(b.running_mean.clone(), b.running_var.clone()) for b in bn.bn]
    set_width_(nn.Sequential(bn), 0)
    bn(torch.randn(8, 2, 3, 3) * 3 + 1)
    assert not torch.equal(bn.bn[0].running_mean, before[0][0])
    assert torch.equal(bn.bn[1].running_mean, before[1][0])
    assert torch.equal(bn.bn[1].running_var, before[1][1])


def test_set_width_switches_every_layer_and_checks_the_bank():
    model = nn.Sequential(SlimmableConv2d([3, 3], [4, 8], 1), SwitchableBatchNorm2d([4, 8]))
    assert width_count(model) == 2
    set_width_(model, 0)
    assert model(torch.randn(1, 3, 2, 2)).shape == (1, 4, 2, 2)
    set_width_(model, -1)
    assert [m.width_index for m in model] == [1, 1]
    with pytest.raises(IndexError, match='out of range for 2 widths'):
        set_width_(model, 2)
    with pytest.raises(ValueError, match='disagree'):
        width_count(nn.Sequential(SlimmableLinear([1, 2], [1, 2]), SwitchableBatchNorm2d([1])))


def test_the_sandwich_takes_the_bounds_then_random_widths_reproducibly():
    assert sandwich_widths(4, 2) == [3, 0]
    draws = sandwich_widths(4, 6, generator=torch.Generator().manual_seed(1))
    assert draws[:2] == [3, 0] and len(draws) == 6 and all(0 <= w < 4 for w in draws)
    assert draws == sandwich_widths(4, 6, generator=torch.Generator().manual_seed(1))
    assert sandwich_widths(1, 3) == [0, 0, 0]
    with pytest.raises(ValueError, match='samples must be >= 2'):
        sandwich_widths(4, 1)


def test_seed_ensemble_sharpening_and_its_gradient_reaches_the_student_only():
    torch.manual_seed(2)
    members = [torch.randn(2, 5, 3, 3) for _ in range(3)]
    ensemble = ensemble_probabilities(members)
    torch.testing.assert_close(ensemble.sum(dim=1), torch.ones(2, 3, 3))
    torch.testing.assert_close(sharpen(ensemble, 1.0), ensemble)
    sharp = sharpen(ensemble, 0.5)
    assert torch.equal(sharp.argmax(dim=1), ensemble.argmax(dim=1))
    assert (sharp.amax(dim=1) >= ensemble.amax(dim=1)).all()  # sharper: the top class gains
    one_hot = F.one_hot(ensemble.argmax(dim=1), 5).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(sharpen(ensemble, 1e-6), one_hot, atol=1e-3, rtol=0)
    # the target is detached: the members that formed it get no gradient from the loss
    teacher = torch.randn(2, 5, 3, 3, requires_grad=True)
    student = torch.randn(2, 5, 3, 3, requires_grad=True)
    loss = seed_loss(sharpen(ensemble_probabilities([teacher]), 0.5), student)
    loss.backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    # by hand, one valid pixel of two
    target = torch.tensor([0.25, 0.75]).view(1, 2, 1, 1).expand(1, 2, 1, 2)
    logits = torch.zeros(1, 2, 1, 2)
    valid = torch.tensor([[[True, False]]])
    assert seed_loss(target, logits, valid).item() == pytest.approx(-torch.log(torch.tensor(0.5)))


def test_upem_is_zero_for_the_anchor_nonnegative_and_image_order_free():
    torch.manual_seed(3)
    anchor = [torch.randn(2, 4, 5, 5), torch.randn(1, 4, 5, 5)]
    candidate = [a + 0.5 * torch.randn_like(a) for a in anchor]
    for distance in ('kl', 'js', 'l1'):
        assert upem(anchor, anchor, distance=distance) == pytest.approx(0.0, abs=1e-6)
        score = upem(anchor, candidate, distance=distance)
        assert score > 0
        # one batch of the three images in another order: the same score
        order = [2, 0, 1]
        joined_a, joined_c = torch.cat(anchor), torch.cat(candidate)
        assert upem([joined_a[order]], [joined_c[order]], distance=distance) == \
            pytest.approx(score, rel=1e-5)
    # KL by hand on one pixel: anchor (0.5, 0.5), candidate (0.25, 0.75)
    a = torch.log(torch.tensor([0.5, 0.5])).view(1, 2, 1, 1)
    c = torch.log(torch.tensor([0.25, 0.75])).view(1, 2, 1, 1)
    expected = 0.5 * torch.log(torch.tensor(2.0)) + 0.5 * torch.log(torch.tensor(2 / 3))
    assert prediction_distance(a, c).item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match='unknown distance'):
        upem(anchor, anchor, distance='cosine')


# --- the bank: a built network made slimmable ---------------------------------------------------
def test_channels_of_a_width_follow_the_slimmable_rounding():
    from mtda.models.slimmable import slim_channels
    # C * w to a multiple of 8, at least 8, not more than 10 % below C * w, never above C
    assert [slim_channels(64, w) for w in (0.25, 0.5, 0.75, 1.0)] == [16, 32, 48, 64]
    assert slim_channels(24, 0.25) == 8 and slim_channels(40, 0.25) == 16  # 10 -> 8 is > 10 % off
    assert slim_channels(320, 0.75) == 240 and slim_channels(4, 0.5) == 4
    # equal parts concatenate to the width of the whole (DAFormer's embeddings, ASPP branches)
    assert all(4 * slim_channels(64, w) == slim_channels(256, w) for w in (0.25, 0.5, 0.75))


def test_same_padding_matches_timms_conv2d_same():
    from timm.layers import Conv2dSame
    torch.manual_seed(0)
    reference = Conv2dSame(3, 8, 3, stride=2)
    slim = SlimmableConv2d([3, 3], [4, 8], 3, stride=2, same_padding=True)
    slim.load_state_dict(reference.state_dict())
    for size in ((17, 23), (16, 16)):
        x = torch.randn(1, 3, *size)
        torch.testing.assert_close(slim(x), reference(x), rtol=0, atol=1e-6)


def _width_stages():
    from mmengine.config import Config
    from support import CONFIGS
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'uda' / 'slimda_efficientnet-lite0.py'))
    return cfg.slimda.segmentor.width_stages


def _tiny_segmentors(**slimmable):
    import copy

    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    from support import CONFIGS
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'models' /
                              'daformer_efficientnet-lite0_tiny.py'))
    seg = copy.deepcopy(cfg.segmentor)
    seg.pop('data_preprocessor')
    torch.manual_seed(0)
    plain = MODELS.build(seg)
    plain.init_weights()
    plain.train()
    with torch.no_grad():  # BatchNorm statistics of their own
        plain._forward(torch.randn(4, 3, 64, 64))
    slim = MODELS.build(dict(seg, type='SlimmableEncoderDecoder', **slimmable))
    return plain.eval(), slim.eval()


def test_the_widest_width_is_the_plain_network_and_a_plain_state_loads():
    plain, slim = _tiny_segmentors()
    slim.load_state_dict(plain.state_dict())  # plain BatchNorm keys fill every width
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(slim._forward(x), plain._forward(x), rtol=0, atol=0)
    bn = slim.backbone.timm_model.blocks[1][0].bn1
    assert isinstance(bn, SwitchableBatchNorm2d) and bn.num_features_list[0] < 96
    for index, channels in enumerate(bn.num_features_list):
        torch.testing.assert_close(
            bn.bn[index].running_mean,
            plain.backbone.timm_model.blocks[1][0].bn1.running_mean[:channels])


def test_a_narrow_width_uses_only_the_first_channels_of_the_shared_weights():
    _, slim = _tiny_segmentors()
    x = torch.randn(2, 3, 64, 64)
    slim.set_width(0)
    assert slim.width == 0.25
    with torch.no_grad():
        narrow = slim._forward(x)
        # everything outside the narrowest slices, and the other widths' norms, set to garbage
        for module in slim.modules():
            if isinstance(module, (SlimmableConv2d, SlimmableLinear)):
                ins = getattr(module, 'in_channels_list', None) or module.in_features_list
                outs = getattr(module, 'out_channels_list', None) or module.out_features_list
                module.weight[outs[0]:] = 7.0
                if not getattr(module, 'depthwise', False):
                    module.weight[:, ins[0]:] = 7.0
            elif isinstance(module, SwitchableBatchNorm2d):
                for other in module.bn[1:]:
                    other.weight.fill_(7.0)
                    other.running_mean.fill_(7.0)
        torch.testing.assert_close(slim._forward(x), narrow, rtol=0, atol=0)
        assert narrow.shape == (2, 19, 16, 16)  # the classes never shrink
        slim.set_width(-1)
        assert not torch.allclose(slim._forward(x), narrow)


def test_a_per_stage_subnet_runs_each_stage_at_its_width_on_its_own_slices():
    _, slim = _tiny_segmentors(width_stages=_width_stages())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        uniform = slim.set_width(2)._forward(x)
        torch.testing.assert_close(slim.set_subnet((2,) * 5)._forward(x), uniform, rtol=0, atol=0)
        assert slim.subnet is None and slim.stage_widths == (0.75,) * 5
        subnet = (0, 3, 1, 2, 0)  # stride 4 narrowest, stride 8 widest, ..., head narrowest
        slim.set_subnet(subnet)
        assert slim.stage_widths == (0.25, 1.0, 0.5, 0.75, 0.25)
        blocks = slim.backbone.timm_model.blocks
        assert blocks[1][0].conv_pw.width_index == 0 and blocks[2][0].conv_pw.width_index == 3
        assert blocks[2][0].conv_pw.weight.shape[1] == 24  # reads stride 4's 8 of 24 channels:
        assert blocks[2][0].conv_pw(torch.zeros(1, 8, 4, 4)).shape[1] == 144  # its whole output
        mixed = slim._forward(x)
        # rows a layer does not emit at its stage's width, and other widths' norms, to garbage
        for module in slim.modules():
            if isinstance(module, (SlimmableConv2d, SlimmableLinear)):
                outs = getattr(module, 'out_channels_list', None) or module.out_features_list
                module.weight[outs[module.width_index]:] = 7.0
            elif isinstance(module, SwitchableBatchNorm2d):
                for index, other in enumerate(module.bn):
                    if index != module.width_index:
                        other.running_mean.fill_(7.0)
        torch.testing.assert_close(slim._forward(x), mixed, rtol=0, atol=0)
        assert mixed.shape == (2, 19, 16, 16)


def test_width_stages_must_hold_every_layer_and_whole_channel_groups():
    from mtda.models.slimmable.layers import stage_of
    assert stage_of('blocks.10.0', [('blocks.1',), ('blocks.10',)]) == 1
    assert stage_of('blocks.1.0', [('blocks.1',), ('blocks.10',)]) == 0
    assert stage_of('a.b.c', [('a',), ('a.b',)]) == 1  # the longest prefix
    stages = _width_stages()
    with pytest.raises(ValueError, match=r'^decode_head\.\S+: no width stage holds this '):
        _tiny_segmentors(width_stages=stages[:-1])
    # the stem apart from the first block, whose depthwise conv reads the stem's channels
    split = [(stages[0][0], stages[0][1]), stages[0][2:], *stages[1:]]
    _, slim = _tiny_segmentors(width_stages=split)
    slim.set_subnet((3, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="a depthwise conv at width 0 expects 8 input channels, "
                                         "got 32: it must run at its input's width"):
        slim._forward(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match='6 width indices for 5 stages'):
        _tiny_segmentors(width_stages=stages)[1].set_subnet((0, 1) * 3)


def test_layers_without_a_slimmable_counterpart_are_refused_by_name():
    from mtda.models.slimmable import make_slimmable_
    with pytest.raises(ValueError, match=r'1: LayerNorm has no slimmable counterpart'):
        make_slimmable_(nn.Sequential(nn.Conv2d(3, 8, 1), nn.LayerNorm(8)), [0.5, 1.0])
    with pytest.raises(ValueError, match=r'0: a grouped conv \(2 groups\)'):
        make_slimmable_(nn.Sequential(nn.Conv2d(4, 8, 1, groups=2)), [0.5, 1.0])
    with pytest.raises(ValueError, match='end at 1.0'):
        make_slimmable_(nn.Sequential(nn.Conv2d(4, 8, 1)), [0.5, 0.75])


def test_merging_two_banks_pools_every_widths_statistics_on_their_own():
    """Stage two on banks: each width's BatchNorm is its own layer, so its statistics are pooled
    with the same width's of the other bank (the mixture of the two Gaussians), width by width."""
    from mtda.merging import EntryKind, classify_state_dict_entries, merge_state_dicts
    _, bank = _tiny_segmentors()
    kinds = classify_state_dict_entries(bank)
    layer = 'backbone.timm_model.bn1.bn'
    for index in range(4):
        assert kinds[f'{layer}.{index}.running_mean'] is EntryKind.BN_MEAN
        assert kinds[f'{layer}.{index}.running_var'] is EntryKind.BN_VAR
    states = []
    for seed, (mean, count) in enumerate(((0.0, 100), (4.0, 300))):
        state = {k: v.clone() for k, v in bank.state_dict().items()}
        for key in state:  # every width of every layer saw this bank's training batches
            if key.endswith('num_batches_tracked'):
                state[key].fill_(count)
        for index in range(4):  # width i of bank b: mean (b's mean + i), variance 1
            state[f'{layer}.{index}.running_mean'].fill_(mean + index)
            state[f'{layer}.{index}.running_var'].fill_(1.0)
        states.append(state)
    merged = merge_state_dicts([(f'bank{i}.pth', (lambda s=s: s)) for i, s in enumerate(states)],
                               kinds=kinds).state_dict
    for index in range(4):
        # 1/4 at mean i, 3/4 at mean 4 + i, variance 1: the mixture's mean 3 + i, variance 4
        torch.testing.assert_close(merged[f'{layer}.{index}.running_mean'],
                                   torch.full_like(merged[f'{layer}.{index}.running_mean'],
                                                   3.0 + index))
        torch.testing.assert_close(merged[f'{layer}.{index}.running_var'],
                                   torch.full_like(merged[f'{layer}.{index}.running_var'], 4.0))


def test_the_real_size_r101_bank_config_is_the_plain_r101_at_its_widest():
    """``configs/slimda/*_r101.py``: ResNetV1c-101 + DAFormer head as a bank, built from the
    config users train on GPUs; a plain DAFormer-R101 state (its shared init) fills every width."""
    import copy

    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    from support import CONFIGS
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(CONFIGS / 'slimda' / 'gta2cityscapes_slimda_r101.py'))
    assert cfg.model.type == 'SlimDAUDA'
    assert cfg.model.init_checkpoint == 'pretrained/shared_init_daformer_r101.pth'
    assert cfg.train_cfg.max_iters == 40000 and cfg.train_dataloader.dataset.target.type
    slim_cfg = copy.deepcopy(cfg.model.segmentor)
    plain_cfg = Config.fromfile(str(CONFIGS / '_base_' / 'models' / 'daformer_r101.py')).segmentor
    for seg in (slim_cfg, plain_cfg):
        seg.pop('data_preprocessor')
        seg.backbone.pop('init_cfg')  # ImageNet weights are a local file users provide
    torch.manual_seed(0)
    plain = MODELS.build(plain_cfg).eval()
    slim = MODELS.build(slim_cfg).eval()
    missing, unexpected = slim.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ['seed_classifier.bias', 'seed_classifier.weight'] and not unexpected
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(slim._forward(x), plain._forward(x), rtol=0, atol=0)
        assert slim.backbone.layer4[0].conv1.out_channels_list == [128, 256, 384, 512]
        slim.set_subnet((0, 3, 1, 2, 0))
        assert slim.stage_widths == (0.25, 1.0, 0.5, 0.75, 0.25)
        assert slim._forward(x).shape == (1, 19, 16, 16)
