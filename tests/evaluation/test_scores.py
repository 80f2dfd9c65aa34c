import math

import numpy as np
import pytest

from mtda.evaluation.scores import (confusion_matrix, harmonic_mean, scores_from_areas,
                                    scores_from_confusion)


def test_scores_match_a_hand_computed_confusion_matrix():
    # 3 classes; ground truth rows, prediction columns (computed by hand below)
    gt = np.array([[0, 0, 1, 1], [2, 2, 255, 0]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 0]])
    matrix = confusion_matrix(pred, gt, num_classes=3)
    # pixels (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) ignored (0,0)
    assert matrix.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 1]]
    scores = scores_from_confusion(matrix)
    # IoU_c = tp / (row + col - tp): 0: 2/(3+3-2)=0.5, 1: 2/(2+3-2)=2/3, 2: 1/(2+1-1)=0.5
    assert scores['IoU'] == pytest.approx([50.0, 200 / 3, 50.0])
    assert scores['mIoU'] == pytest.approx((50 + 200 / 3 + 50) / 3)
    assert scores['aAcc'] == pytest.approx(5 / 7 * 100)
    assert scores['mAcc'] == pytest.approx((2 / 3 + 1 + 0.5) / 3 * 100)


def test_absent_class_is_nan_and_left_out_of_the_mean():
    scores = scores_from_areas(intersect=[5, 0, 0], union=[10, 0, 4], label_area=[6, 0, 2])
    assert math.isnan(scores['IoU'][1])
    assert scores['mIoU'] == pytest.approx((50 + 0) / 2)


def test_harmonic_mean():
    assert harmonic_mean([60.0, 40.0]) == pytest.approx(48.0)
    assert harmonic_mean([58.8, 54.0]) == pytest.approx(56.3, abs=0.05)  # the paper's R101 row
    assert harmonic_mean([50.0, 0.0, 30.0]) == 0.0
    assert math.isnan(harmonic_mean([]))
