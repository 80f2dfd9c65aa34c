"""The stage-one report: gap closed and own-target advantage by hand-computed numbers, read from a
work dir laid out as the main job writes it, summarised over seeds and rendered."""
import json
import math

import pytest

from experiments.layout import TARGETS, JobLayout
from experiments.stage_one_report import (gap_closed, own_target_advantage, render_markdown,
                                          stage_one_numbers, summarise)
from mtda.errors import MtdaError


def test_gap_closed_and_advantage_by_hand():
    assert gap_closed(10.0, 24.0, 30.0) == pytest.approx(0.7)
    assert gap_closed(10.0, 5.0, 30.0) == pytest.approx(-0.25)  # UDA below source-only
    assert gap_closed(30.0, 35.0, 30.0) is None  # no gap to close
    matrix = {'cityscapes': {'cityscapes': 40, 'idd': 20}, 'idd': {'cityscapes': 33, 'idd': 30},
              'acdc': {'cityscapes': 36, 'idd': 25}}
    assert own_target_advantage(matrix, 'cityscapes') == 4  # 40 - max(33, 36)
    assert own_target_advantage(matrix, 'idd') == 5  # 30 - max(20, 25)


def _write(folder, miou):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'results.json').write_text(json.dumps(
        {'name': folder.name, 'domains': {t: {'mIoU': v} for t, v in zip(TARGETS, miou)}}))


def _job(root, shift=0.0):
    layout = JobLayout(root)
    _write(layout.source_only_eval_dir, [20, 10, 10, 2])
    for i, t in enumerate(TARGETS):
        _write(layout.single_eval_dir(t), [25 + shift + (5 if j == i else 0) for j in range(4)])
    for t, v in (('cityscapes', 45), ('idd', 40), ('acdc', 40)):
        _write(layout.oracle_dir(t), [v] * 4)
    return layout


def test_report_from_work_dirs_over_two_seeds(tmp_path):
    runs = [stage_one_numbers(_job(tmp_path / 's0')), stage_one_numbers(_job(tmp_path / 's1', 2.0))]
    cs = runs[0]['per_target']['cityscapes']
    assert (cs['source_only'], cs['uda'], cs['oracle']) == (20, 30, 45)
    assert cs['gap_closed'] == pytest.approx(10 / 25) and cs['advantage'] == 5
    assert runs[0]['per_target']['dark_zurich']['oracle'] is None  # no train labels
    report = summarise(runs)
    idd = report['per_target']['idd']
    assert idd['uda']['mean'] == 31 and idd['uda']['std'] == pytest.approx(math.sqrt(2))
    # seed 0: (30 - 10) / 30; seed 1: (32 - 10) / 30
    assert idd['gap_closed']['mean'] == pytest.approx(21 / 30)
    assert report['checks']['gap_closed'] == {'cityscapes': True, 'idd': True, 'acdc': True}
    assert report['checks']['advantage'] == {'cityscapes': True, 'idd': True}
    assert report['checks']['uda'] == {t: True for t in TARGETS}
    text = render_markdown(report)
    assert '| cityscapes | 20.0 ± 0.0 | 31.0 ± 1.4 | 45.0 ± 0.0 | 44.0 ± 5.7 | 5.0 ± 0.0 |' in text
    assert '| dark_zurich | 2.0 ± 0.0 | 31.0 ± 1.4 | – | – | 5.0 ± 0.0 |' in text
    assert 'own-target advantage >= +3: cityscapes met, idd met' in text


def test_a_missing_single_names_the_main_job(tmp_path):
    layout = _job(tmp_path / 's0')
    (layout.single_eval_dir('acdc') / 'results.json').unlink()
    with pytest.raises(MtdaError, match=r'acdc/results\.json: missing; run the main job first'):
        stage_one_numbers(layout)
