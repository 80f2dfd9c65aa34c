"""HRDA's pseudo-label margins, marked on the image before cropping and packed with the sample."""
import numpy as np
import pytest
import torch

import mtda  # noqa: F401  (registers the transforms)


def _pipeline(margins, crop):
    from mmengine.dataset import Compose
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return Compose([dict(type='PseudoLabelMargins', margins=margins),
                    dict(type='RandomCrop', crop_size=crop),
                    dict(type='RandomFlip', prob=0.5),
                    dict(type='PackTargetInputs')])


def test_the_margins_follow_the_crop_and_the_flip():
    height, width = 40, 60
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing='ij')
    image = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.uint8)  # pixel = place
    full = np.zeros((height, width), dtype=bool)  # the margins, written independently
    full[3:height - 10, 2:width - 4] = True
    pipeline = _pipeline((3, 10, 2, 4), (16, 24))
    seen_margin = False
    for seed in range(20):
        np.random.seed(seed)
        packed = pipeline(dict(img=image.copy(), img_shape=(height, width),
                               ori_shape=(height, width), seg_fields=[]))
        places = packed['inputs'].numpy()  # (3, 16, 24): where each packed pixel came from
        trusted = packed['data_samples'].pseudo_trusted.data[0].numpy()
        assert trusted.shape == (16, 24) and trusted.dtype == bool
        np.testing.assert_array_equal(trusted, full[places[0], places[1]])
        seen_margin |= not trusted.all()
    assert seen_margin


def test_bad_margins_are_refused():
    from mtda.datasets import PseudoLabelMargins
    with pytest.raises(ValueError, match='four non-negative margins'):
        PseudoLabelMargins(margins=(1, 2, 3))


def test_the_uda_wrapper_zeroes_the_weight_of_untrusted_pixels(monkeypatch):
    """DAFormerUDA multiplies the pseudo-label weight by the samples' ``pseudo_trusted``."""
    import copy

    from mmengine.config import Config
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from support import CONFIGS
    cfg = Config.fromfile(str(CONFIGS / 'daformer' /
                              'gta2cityscapes_daformer_efficientnet-lite0_tiny.py'))
    model = MODELS.build(copy.deepcopy(dict(cfg.model, init_checkpoint=None,
                                            pseudo_margins=(0, 0, 0, 0),
                                            pseudo_threshold=0.0)))  # weight 1 where trusted
    model.init_weights()
    model.train()
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64)))
        trusted = torch.rand(1, 64, 64, generator=generator) > 0.3
        sample.set_field(PixelData(data=trusted), 'pseudo_trusted')
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 64, 64), generator=generator))
        samples.append(sample)
    source = dict(inputs=torch.randn(2, 3, 64, 64), data_samples=samples)
    target = dict(inputs=torch.randn(2, 3, 64, 64), data_samples=samples)
    _, (pseudo_label, weight) = model._mixed_losses(source, target, torch.stack(
        [s.gt_sem_seg.data for s in samples]))
    trusted = torch.stack([s.pseudo_trusted.data[0] for s in samples])
    assert (weight[~trusted] == 0).all() and (weight[trusted] == 1).all()
