"""Every dataset class reads its synthetic copy through an mmseg pipeline, as training does."""
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mtda  # noqa: F401  (registers the datasets)
from support import CONFIGS

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]
VALID = set(range(19)) | {255}


def _datasets():
    """(name, dataset config) for both sources (train) and the four targets (val)."""
    init_default_scope('mmseg')
    base = CONFIGS / '_base_' / 'datasets'
    targets = Config.fromfile(str(base / 'targets_val_tiny.py')).target_domains
    return [('gta', Config.fromfile(str(base / 'gta_tiny.py')).gta_train),
            ('synthia', Config.fromfile(str(base / 'synthia_tiny.py')).synthia_train),
            *targets.items()]


@pytest.mark.parametrize('name,cfg', _datasets(), ids=lambda v: v if isinstance(v, str) else '')
def test_dataset_loads_synthetic_copy(name, cfg, tiny_data_root, monkeypatch):
    monkeypatch.chdir(tiny_data_root)
    dataset = DATASETS.build(dict(cfg, pipeline=PIPELINE))
    assert len(dataset) > 0
    assert dataset.metainfo['classes'][0] == 'road' and len(dataset.metainfo['classes']) == 19
    seen = set()
    for i in range(len(dataset)):
        sample = dataset[i]
        img = sample['inputs']
        label = sample['data_samples'].gt_sem_seg.data
        assert img.shape[1:] == label.shape[1:], dataset.get_data_info(i)['img_path']
        values = set(np.unique(label.numpy()).tolist())
        assert values <= VALID
        seen |= values
    assert len(seen - {255}) >= 8, f'{name}: only classes {sorted(seen)} in the copy'


def test_acdc_reads_all_four_conditions_and_skips_ref_folders(tiny_data_root, monkeypatch):
    monkeypatch.chdir(tiny_data_root)
    val = dict(_datasets())['acdc']
    dataset = DATASETS.build(dict(val, pipeline=PIPELINE))
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    assert {p.split('/rgb_anon/')[1].split('/')[0] for p in paths} == {'fog', 'night', 'rain',
                                                                       'snow'}
    assert not any('_ref' in p for p in paths)
    fog = DATASETS.build(dict(val, pipeline=PIPELINE, conditions=['fog']))
    assert 0 < len(fog) < len(dataset)
