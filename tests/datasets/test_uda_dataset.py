"""UDADataset on the miniature synthetic data: pairing, collation, rare class sampling."""
import numpy as np
import pytest
import torch

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(64, 64)),
    dict(type='PackSegInputs'),
]
GTA = dict(type='GTADataset', data_root='data/gta',
           data_prefix=dict(img_path='images', seg_map_path='labels'), pipeline=PIPELINE)
CITYSCAPES = dict(type='CityscapesDataset', data_root='data/cityscapes',
                  data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                  pipeline=PIPELINE)


@pytest.fixture
def in_tiny_data(tiny_data_root, monkeypatch):
    from mmseg.utils import register_all_modules
    import mtda  # noqa: F401
    register_all_modules(init_default_scope=True)
    monkeypatch.chdir(tiny_data_root)
    return tiny_data_root


def _dataset(**kwargs):
    from mmseg.registry import DATASETS
    return DATASETS.build(dict(type='UDADataset', source=GTA, target=CITYSCAPES, **kwargs))


def test_pairs_source_with_unlabelled_target(in_tiny_data):
    dataset = _dataset()
    n_source, n_target = len(dataset.source), len(dataset.target)
    assert len(dataset) == n_source * n_target
    assert dataset.metainfo['classes'] == dataset.source.metainfo['classes']
    sample = dataset[n_target + 2]   # source 1, target 2 (DAFormer's index split)
    assert set(sample) == {'source', 'target'}
    assert sample['source']['inputs'].shape == (3, 64, 64)
    assert sample['source']['data_samples'].img_path == dataset.source.get_data_info(1)['img_path']
    assert sample['target']['data_samples'].img_path == dataset.target.get_data_info(2)['img_path']
    assert 'gt_sem_seg' in sample['source']['data_samples']
    assert 'gt_sem_seg' not in sample['target']['data_samples']
    kept = _dataset(keep_target_labels=True, length=7)
    assert len(kept) == 7 and 'gt_sem_seg' in kept[0]['target']['data_samples']
    short = _dataset(length='source')
    assert len(short) == n_source
    assert short[n_source + 3]['source']['data_samples'].img_path == \
        dataset.source.get_data_info(3)['img_path']
    with pytest.raises(ValueError):
        _dataset(length=0)


def test_batches_collate_per_half_and_preprocess(in_tiny_data):
    from mmengine.dataset import default_collate, pseudo_collate
    from mmseg.models import SegDataPreProcessor
    dataset = _dataset()
    items = [dataset[0], dataset[5]]
    batch = pseudo_collate(items)
    assert set(batch) == {'source', 'target'}
    for half in ('source', 'target'):
        assert set(batch[half]) == {'inputs', 'data_samples'}
        assert len(batch[half]['inputs']) == 2 and len(batch[half]['data_samples']) == 2
    stacked = default_collate([dataset[0], dataset[5]])
    assert stacked['source']['inputs'].shape == (2, 3, 64, 64)
    preprocessor = SegDataPreProcessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                                       bgr_to_rgb=True, size=(64, 64))
    for half in ('source', 'target'):
        out = preprocessor(batch[half], training=True)
        assert out['inputs'].shape == (2, 3, 64, 64) and out['inputs'].dtype == torch.float32


def test_rare_class_draw_follows_the_probabilities(in_tiny_data):
    dataset = _dataset(rare_class_sampling=dict(min_pixels=50))
    probs = dict(zip(dataset.rcs_classes, dataset.rcs_probabilities))
    assert sum(probs.values()) == pytest.approx(1.0)
    np.random.seed(0)
    draws = [dataset.rare_class_index() for _ in range(4000)]
    for c, p in probs.items():
        assert abs(sum(d[0] == c for d in draws) / len(draws) - p) < 0.025
    # every drawn file holds the class on more than min_pixels pixels of its stored label
    import mmcv
    for c, index in draws[:40]:
        label = mmcv.imread(dataset.source.get_data_info(index)['seg_map_path'], flag='unchanged')
        assert (label == c).sum() > 50


def test_rare_class_sampling_favours_the_rarest_class(in_tiny_data):
    rcs = _dataset(rare_class_sampling=dict(min_pixels=50))
    uniform = _dataset()
    favoured = rcs.rcs_classes[int(np.argmax(rcs.rcs_probabilities))]

    def mean_pixels(dataset):
        np.random.seed(1)
        total = 0
        for _ in range(150):
            sample = dataset[np.random.randint(len(dataset))]
            total += int((sample['source']['data_samples'].gt_sem_seg.data == favoured).sum())
        return total / 150

    assert mean_pixels(rcs) > 1.5 * mean_pixels(uniform)


def test_rare_class_sampling_is_reproducible_and_checks_its_input(in_tiny_data):
    dataset = _dataset(rare_class_sampling=dict(min_pixels=50))
    np.random.seed(3)
    first = [dataset[0] for _ in range(3)]
    np.random.seed(3)
    second = [dataset[0] for _ in range(3)]
    for a, b in zip(first, second):
        assert torch.equal(a['source']['inputs'], b['source']['inputs'])
        assert a['target']['data_samples'].img_path == b['target']['data_samples'].img_path
    with pytest.raises(ValueError, match='min_pixels'):
        _dataset(rare_class_sampling=dict(min_pixels=10**6))
    with pytest.raises(FileNotFoundError):
        _dataset(rare_class_sampling=dict(data_root='data/idd'))
    with pytest.raises(TypeError):
        _dataset(rare_class_sampling=dict(temperature=0.01))
