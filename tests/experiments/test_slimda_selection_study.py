"""The SlimDA selection study: picks within budgets (hand-computed), the rank correlation's sign,
and one run on a tiny bank whose table is written and read back."""
import json

import pytest

from experiments.slimda_selection_study import budget_picks, spearman
from support import CONFIGS, run_tool

SLIMDA = CONFIGS / 'slimda' / 'gta2cityscapes_slimda_efficientnet-lite0_tiny.py'


def test_upem_and_oracle_pick_within_each_budget():
    flops = [10, 30, 60, 100, 40, 70]
    upem = [0.9, 0.5, 0.2, 0.0, 0.3, 0.1]
    miou = [10.0, 20.0, 25.0, 30.0, 26.0, 24.0]
    rows = budget_picks(flops, upem, miou, fractions=(0.3, 0.5, 0.7))
    assert [r['fitting'] for r in rows] == [2, 3, 5]
    assert [(r['upem_pick'], r['oracle_pick']) for r in rows] == [(1, 1), (4, 4), (5, 4)]
    assert rows[2]['regret'] == pytest.approx(2.0) and rows[0]['regret'] == 0.0
    assert spearman([0.1, 0.2, 0.3, 0.4], [40, 30, 20, 10]) == pytest.approx(-1.0)


def test_the_study_scores_candidates_on_held_out_labels(tiny_data_root, tmp_path):
    bank = tmp_path / 'bank.pth'
    run_tool('make_shared_init.py', SLIMDA, '--out', bank, '--seed', '1', cwd=tiny_data_root)
    out = tmp_path / 'study'
    run_tool('slimda_selection_study.py', SLIMDA, bank, '--out', out, '--per-stage', '2',
             '--frames', '4', cwd=tiny_data_root)
    record = json.loads((out / 'selection.json').read_text())
    rows = record['candidates']
    assert [r['widths'] for r in rows[:4]] == [[w] * 5 for w in (0.25, 0.5, 0.75, 1.0)]
    assert len(rows) == 6 and all(len(set(r['widths'])) > 1 for r in rows[4:])
    assert rows[3]['upem'] == 0.0 and all(r['upem'] >= 0 for r in rows)
    assert all(0 <= r['miou'] <= 100 for r in rows) and record['frames'] == 4
    assert [b['fraction'] for b in record['budgets']] == [0.3, 0.5, 0.7]
    table = (out / 'selection.md').read_text()
    assert f'{record["spearman"]:.2f}' in table and '| 1 | ' in table
