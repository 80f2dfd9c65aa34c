"""HRDA: crop and window geometry, the scale-attention fusion, the weighted losses, and the UDA
wrapper training an HRDA segmentor (mtda.models.hrda)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from support import CONFIGS

HRDA_TINY = CONFIGS / 'hrda' / 'gta2cityscapes_hrda_efficientnet-lite0_tiny.py'


def test_detail_crop_box_is_inside_on_the_grid_and_reaches_every_position():
    from mtda.models.hrda import random_crop_box
    generator = torch.Generator().manual_seed(0)
    corners = set()
    for _ in range(300):
        y1, y2, x1, x2 = random_crop_box(24, 40, (8, 16), divisible=8, generator=generator)
        assert (y2 - y1, x2 - x1) == (8, 16) and y2 <= 24 and x2 <= 40
        corners.add((y1, x1))
    assert corners == {(y, x) for y in (0, 8, 16) for x in (0, 8, 16, 24)}


def test_a_detail_crop_larger_than_the_image_is_refused():
    from mtda.models.hrda import random_crop_box
    with pytest.raises(ValueError, match='detail crop 64x64 is larger than the 32x128 image'):
        random_crop_box(32, 128, (64, 64))


def test_slide_windows_step_by_the_stride_and_end_at_the_border():
    from mtda.models.hrda import slide_boxes
    boxes = slide_boxes(144, 256, (64, 64), (32, 32))
    assert sorted({b[0] for b in boxes}) == [0, 32, 64, 80]  # the last row moved back to 144-64
    assert sorted({b[2] for b in boxes}) == [0, 32, 64, 96, 128, 160, 192]
    assert len(boxes) == 4 * 7 and all(b[1] - b[0] == 64 and b[3] - b[2] == 64 for b in boxes)
    assert slide_boxes(32, 48, (64, 64), (32, 32)) == [(0, 32, 0, 48)]  # cut to a small image


def test_stitching_averages_the_windows_covering_each_cell():
    from mtda.models.hrda import slide_boxes, stitch
    boxes = slide_boxes(6, 10, (4, 4), (2, 3))
    batch = 2
    values = torch.arange(len(boxes) * batch, dtype=torch.float)
    windows = values.view(-1, 1, 1, 1).expand(-1, 3, 4, 4)
    out = stitch(windows, boxes, batch)
    assert out.shape == (batch, 3, 6, 10)
    for b in range(batch):
        for y in range(6):
            for x in range(10):
                covering = [values[i * batch + b] for i, (y1, y2, x1, x2) in enumerate(boxes)
                            if y1 <= y < y2 and x1 <= x < x2]
                assert out[b, 0, y, x] == pytest.approx(float(sum(covering) / len(covering)))


def _head(**kwargs):
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    from mmseg.registry import MODELS
    register_all_modules(init_default_scope=False)
    single = dict(type='DAFormerHead', in_channels=[4, 8], in_index=[0, 1], channels=8,
                  embed_dims=8, dilations=(1, 2), num_classes=5, align_corners=False,
                  loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    torch.manual_seed(0)
    head = MODELS.build(dict(type='HRDAHead', single_scale_head=single, scales=(0.5, 1.0),
                             attention_embed_dims=8, **kwargs))
    head.init_weights()
    return head.eval()


def _features(batch, size, seed):
    generator = torch.Generator().manual_seed(seed)
    h, w = size
    return [torch.randn(batch, 4, h, w, generator=generator),
            torch.randn(batch, 8, h // 2, w // 2, generator=generator)]


def _set_attention_(head, bias):
    """Attention logits = ``bias`` everywhere: sigmoid ~ 1 (20) or ~ 0 (-20)."""
    with torch.no_grad():
        head.scale_attention.conv_seg.weight.zero_()
        head.scale_attention.conv_seg.bias.fill_(bias)


def test_fusion_takes_the_detail_inside_its_crop_and_the_context_elsewhere():
    head = _head()
    _set_attention_(head, 20.0)  # the attention wants the detail everywhere
    context = _features(2, (8, 8), 0)  # a 64x64 context image at stride 8 -> 8x8 logits (os 4)
    detail = _features(2, (8, 8), 1)   # the 32x32 detail crop -> 8x8 logits
    box = (16, 48, 8, 40)  # detail pixels; on the 16x16 fused grid: rows 4:12, cols 2:10
    with torch.no_grad():
        fused, lr_seg, hr_seg = head((context, detail), hr_box=box)
        plain_context = head.head(context)
    assert fused.shape == (2, 5, 16, 16) and hr_seg.shape == (2, 5, 8, 8)
    torch.testing.assert_close(fused[..., 5:11, 3:9], hr_seg[..., 1:7, 1:7], atol=1e-6, rtol=0)
    # outside the crop the attention is masked to 0: the upsampled, unattenuated context
    up = F.interpolate(plain_context, size=(16, 16), mode='bilinear', align_corners=False)
    torch.testing.assert_close(fused[..., :3, :], up[..., :3, :], atol=1e-6, rtol=0)
    torch.testing.assert_close(fused[..., :, 12:], up[..., :, 12:], atol=1e-6, rtol=0)


def test_fusion_without_a_crop_is_the_attention_weighted_blend():
    head = _head()
    context, detail = _features(1, (8, 8), 2), _features(1, (16, 16), 3)
    with torch.no_grad():
        fused = head((context, detail))[0]
        a = torch.sigmoid(head.scale_attention(context))
        lr, hr = head.head(context), head.head(detail)

    def up(x):
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
    torch.testing.assert_close(fused, up(a) * hr + up((1 - a) * lr), atol=1e-5, rtol=1e-5)
    _set_attention_(head, -20.0)  # the attention keeps the context
    with torch.no_grad():
        torch.testing.assert_close(head((context, detail))[0], up(lr), atol=1e-6, rtol=0)


def test_losses_weight_the_fused_and_detail_cross_entropies_by_hrdas_lambda():
    head = _head(hr_loss_weight=0.1)
    context, detail = _features(2, (8, 8), 4), _features(2, (8, 8), 5)
    box = (0, 32, 32, 64)
    generator = torch.Generator().manual_seed(6)
    label = torch.randint(0, 5, (2, 64, 64), generator=generator)
    label[0, :4] = 255  # ignored pixels count in the mean with zero loss (mmseg 0.x)
    weight = torch.rand(2, 64, 64, generator=generator)
    with torch.no_grad():
        logits = head((context, detail), hr_box=box)
        losses = head.loss_by_logits(logits, label, weight, hr_box=box)

    def weighted_ce(x, y, w):
        x = F.interpolate(x, size=y.shape[-2:], mode='bilinear', align_corners=False)
        return (F.cross_entropy(x, y, reduction='none', ignore_index=255) * w).mean()
    fused, _, hr_seg = logits
    assert losses['loss_ce'] == pytest.approx(0.9 * float(weighted_ce(fused, label, weight)),
                                              rel=1e-5)
    assert losses['hr.loss_ce'] == pytest.approx(
        0.1 * float(weighted_ce(hr_seg, label[:, :32, 32:], weight[:, :32, 32:])), rel=1e-5)
    assert 'acc_seg' in losses and 'hr.acc_seg' not in losses


def test_bad_settings_are_refused_with_the_reason():
    from mmseg.registry import MODELS
    with pytest.raises(ValueError, match='sum < 1'):
        _head(hr_loss_weight=0.6, lr_loss_weight=0.4)
    cfg = Config.fromfile(str(HRDA_TINY)).model.segmentor
    with pytest.raises(ValueError, match='the detail scale 1'):
        MODELS.build(dict(copy.deepcopy(cfg), scales=[0.5, 0.25]))
    with pytest.raises(NotImplementedError, match='pixel_weighted_loss'):
        _head().loss(None, None, None)


def _segmentor(**overrides):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    register_all_modules(init_default_scope=False)
    cfg = copy.deepcopy(Config.fromfile(str(HRDA_TINY)).model.segmentor)
    cfg.pop('data_preprocessor')
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def test_slide_detail_features_with_one_window_equal_the_whole_image():
    x = torch.randn(1, 3, 64, 64)
    sliding = _segmentor(hr_crop_size=(64, 64))
    whole = _segmentor(hr_crop_size=(64, 64), hr_slide_inference=False)
    with torch.no_grad():
        a = sliding.encode_decode(x, [dict(img_shape=(64, 64))])
        b = whole.encode_decode(x, [dict(img_shape=(64, 64))])
    torch.testing.assert_close(a, b)
    assert a.shape == (1, 19, 64, 64)


def test_images_of_any_size_are_padded_onto_one_grid_and_cropped_back():
    model = _segmentor()
    x = torch.randn(1, 3, 70, 128)  # 70 rows: not a multiple of 8
    with torch.no_grad():
        logits = model.encode_decode(x, [dict(img_shape=(70, 128))])
        padded = torch.cat([x, torch.zeros(1, 3, 2, 128)], dim=2)
        expected = F.interpolate(model._forward(padded), size=(72, 128), mode='bilinear',
                                 align_corners=False)[..., :70, :]
    assert model.size_multiple == 8
    torch.testing.assert_close(logits, expected)


def test_inference_covers_images_that_are_not_a_multiple_of_the_window():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = _segmentor()  # test_cfg: slide 128 windows, detail windows 64 inside each
    sample = SegDataSample(metainfo=dict(img_shape=(144, 256), ori_shape=(72, 128),
                                         pad_shape=(144, 256), padding_size=[0, 0, 0, 0]))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 72, 128, dtype=torch.long))
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 144, 256), [sample])[0]
    assert out.pred_sem_seg.data.shape == (1, 72, 128)  # back at label resolution


def test_the_uda_wrapper_trains_hrda_with_its_detail_losses(tiny_data_root, monkeypatch):
    from mmengine.dataset import pseudo_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS
    import mtda  # noqa: F401
    monkeypatch.chdir(tiny_data_root)
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(HRDA_TINY))
    cfg.model.init_checkpoint = None
    cfg.model.mask_weight = 1.0  # MIC on top of HRDA
    cfg.model.mask_block_size = 8
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert model.is_hrda
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    assert batch['source']['inputs'][0].shape[-2:] == (128, 128)
    assert batch['target']['data_samples'][0].pseudo_trusted.data.shape == (1, 128, 128)
    MessageHub.get_current_instance().update_info('iter', 3)
    model.train()
    before = {k: v.detach().clone() for k, v in model.student.named_parameters()}
    optim = OptimWrapper(torch.optim.SGD(model.student.parameters(), lr=1e-3))
    log = model.train_step(batch, optim)
    assert {'src.loss_ce', 'src.hr.loss_ce', 'src.loss_imnet_fd', 'mix.loss_ce',
            'mix.hr.loss_ce', 'masked.loss_ce', 'masked.hr.loss_ce'} <= set(log)
    assert all(torch.isfinite(v).all() for v in log.values())
    moved = [k for k, v in model.student.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith('decode_head.scale_attention.') for k in moved)
    assert any(k.startswith('decode_head.head.') for k in moved)
    assert any(k.startswith('backbone.') for k in moved)


# the paper's own per-target HRDA settings (AIR-DISCOVER/Model-Merging-MTDA,
# configs/hrda/gtaHR2{cs,idd,acdc,darkzurich}HR_hrda{,_r101}.py): EMA alpha, training crop,
# test window
PAPER_SETTINGS = {
    ('cityscapes', 'mitb5'): (0.999, 1024, 1024), ('idd', 'mitb5'): (0.999, 1024, 512),
    ('acdc', 'mitb5'): (0.999, 512, 512), ('dark_zurich', 'mitb5'): (0.999, 1024, 1024),
    ('cityscapes', 'r101'): (0.0, 1024, 1024), ('idd', 'r101'): (0.0, 1024, 512),
    ('acdc', 'r101'): (0.999, 512, 512), ('dark_zurich', 'r101'): (0.999, 512, 512),
}


@pytest.mark.parametrize('target,backbone', sorted(PAPER_SETTINGS))
def test_the_hrda_configs_carry_the_papers_per_target_settings(target, backbone):
    alpha, crop, window = PAPER_SETTINGS[target, backbone]
    cfg = Config.fromfile(str(CONFIGS / 'hrda' / f'gta2{target}_hrda_{backbone}.py'))
    segmentor = cfg.model.segmentor
    assert cfg.model.ema_alpha == alpha and cfg.target_domain == target
    assert segmentor.type == 'HRDAEncoderDecoder' and segmentor.scales == [1, 0.5]
    assert tuple(segmentor.hr_crop_size) == (512, 512) and segmentor.crop_coord_divisible == 8
    assert segmentor.decode_head.hr_loss_weight == 0.1
    dataset = cfg.train_dataloader.dataset
    crops = {t['crop_size'] for d in (dataset.source, dataset.target) for t in d.pipeline
             if t['type'] == 'RandomCrop'}
    assert crops == {(crop, crop)} and tuple(segmentor.data_preprocessor.size) == (crop, crop)
    assert tuple(segmentor.test_cfg.crop_size) == (window, window)
    assert tuple(segmentor.test_cfg.stride) == (512, 512)
    assert dataset.rare_class_sampling.min_crop_ratio == 2.0
    assert tuple(cfg.model.pseudo_margins) == (0, 0, 0, 0)  # marked before cropping instead:
    margins = [t for t in dataset.target.pipeline if t["type"] == "PseudoLabelMargins"]
    assert [tuple(t["margins"]) for t in margins] == [(30, 240, 30, 30)]
    assert dataset.target.pipeline[-1]["type"] == "PackTargetInputs"
