import csv
import json
import math

import pytest

from mtda.datasets.label_maps import CLASSES, SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES
from mtda.evaluation.results import model_results, read_results, write_results


def _domain(miou, absent=()):
    iou = {c: (float('nan') if c in absent else float(i)) for i, c in enumerate(CLASSES)}
    return dict(mIoU=miou, aAcc=90.0, mAcc=70.0, num_images=3, IoU=iou)


def test_results_files_follow_the_spec(tmp_path):
    rec = model_results({'cityscapes': _domain(60.0), 'idd': _domain(40.0, absent=('train',))},
                        checkpoint='a/final.pth')
    paths = write_results([rec], tmp_path)
    data = json.loads(paths['json'].read_text())
    assert data['checkpoint'] == 'a/final.pth'
    assert data['classes'] == list(CLASSES)
    assert data['domains']['idd']['IoU']['train'] is None           # NaN -> null
    assert data['domains']['cityscapes']['IoU']['road'] == 0.0
    assert data['hmean'] == pytest.approx(48.0) and data['mean'] == pytest.approx(50.0)
    md = paths['md'].read_text()
    assert '| final | 60.0 | 40.0 | **48.0** | 50.0 |' in md
    # per-class IoU per domain below the harmonic means: IoU(class i) = i here, 'train' absent
    idd = md[md.index('Per-class IoU, idd'):].splitlines()
    assert idd[2].startswith('| model | road | sidewalk |')
    row = idd[4].split(' | ')
    assert row[0] == '| final' and row[1:4] == ['0.0', '1.0', '2.0']
    assert row[1 + CLASSES.index('train')] == '–'
    assert 'Per-class IoU, cityscapes' in md
    rows = list(csv.DictReader(paths['csv'].open()))
    assert [r['domain'] for r in rows] == ['cityscapes', 'idd', 'hmean']
    assert float(rows[1]['sidewalk']) == 1.0 and rows[1]['train'] == ''
    assert read_results(paths['json'])[0]['hmean'] == pytest.approx(48.0)


def test_synthia_source_adds_mIoU16_and_mIoU13():
    rec = model_results({'cityscapes': _domain(50.0)}, checkpoint='s.pth', source='synthia')
    dom = rec['domains']['cityscapes']
    assert dom['mIoU16'] == pytest.approx(sum(SYNTHIA_16_CLASSES) / 16)
    assert dom['mIoU13'] == pytest.approx(sum(SYNTHIA_13_CLASSES) / 13)


def test_several_models_go_into_one_table(tmp_path):
    a = model_results({'cityscapes': _domain(60.0)}, checkpoint='a.pth', name='A')
    b = model_results({'cityscapes': _domain(30.0)}, checkpoint='b.pth', name='B')
    paths = write_results([a, b], tmp_path)
    data = json.loads(paths['json'].read_text())
    assert [m['name'] for m in data['models']] == ['A', 'B']
    assert not math.isnan(data['models'][1]['hmean'])
    assert len(read_results(paths['json'])) == 2
