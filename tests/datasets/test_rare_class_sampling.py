"""RCS class probabilities and the converter's statistics files."""
import json
import math

import pytest
import torch

from mtda.datasets.rare_class_sampling import load_rcs_statistics, rare_class_probabilities


def test_probabilities_by_hand():
    # f = 0.7, 0.2, 0.1 -> (1 - f) / 0.1 = 3, 8, 9
    classes, probs = rare_class_probabilities({2: 100, 0: 700, 1: 200, 5: 0}, temperature=0.1)
    assert classes == [0, 1, 2]      # ascending, class 5 without pixels left out
    total = math.exp(3) + math.exp(8) + math.exp(9)
    assert probs.tolist() == pytest.approx([math.exp(3) / total, math.exp(8) / total,
                                            math.exp(9) / total])
    assert probs.dtype == torch.float64 and probs.sum().item() == pytest.approx(1.0)


def test_temperature_limits():
    counts = {0: 700, 1: 200, 2: 100}
    _, hot = rare_class_probabilities(counts, temperature=1e6)
    assert hot.tolist() == pytest.approx([1 / 3] * 3, abs=1e-6)     # uniform
    _, cold = rare_class_probabilities(counts, temperature=1e-4)
    assert cold.tolist() == pytest.approx([0.0, 0.0, 1.0], abs=1e-12)  # the rarest class only
    _, default = rare_class_probabilities(counts)
    assert default[2] > default[1] > default[0]
    with pytest.raises(ValueError):
        rare_class_probabilities(counts, temperature=0)
    with pytest.raises(ValueError):
        rare_class_probabilities({0: 0})


def test_load_statistics_matches_by_basename_and_min_pixels(tmp_path):
    stats = [{'0': 5000, '3': 3000, 'file': 'data/x/labels/a_labelTrainIds.png'},
             {'0': 1000, '3': 3001, 'file': 'C:\\other\\root\\b_labelTrainIds.png'}]
    with_class = {'0': [['data/x/labels/a_labelTrainIds.png', 5000],
                        ['C:\\other\\root\\b_labelTrainIds.png', 1000]],
                  '3': [['data/x/labels/a_labelTrainIds.png', 3000],
                        ['C:\\other\\root\\b_labelTrainIds.png', 3001]]}
    (tmp_path / 'sample_class_stats.json').write_text(json.dumps(stats))
    (tmp_path / 'samples_with_class.json').write_text(json.dumps(with_class))
    loaded = load_rcs_statistics(tmp_path, min_pixels=3000)
    assert loaded.class_pixel_counts == {0: 6000, 3: 6001}
    # strictly more than min_pixels, basenames only
    assert loaded.files_with_class == {0: ['a_labelTrainIds.png'], 3: ['b_labelTrainIds.png']}
    assert load_rcs_statistics(tmp_path, min_pixels=10_000).files_with_class == {0: [], 3: []}


def test_missing_files_say_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match='convert_datasets'):
        load_rcs_statistics(tmp_path)
