"""ImageNet feature distance and the majority-vote label downscaling."""
import pytest
import torch

from mtda.datasets.label_maps import THING_CLASSES
from mtda.models.uda.feature_distance import downscale_label_ratio, feature_distance_loss

LABEL = torch.tensor([[1, 1, 2, 2],
                      [1, 1, 2, 3],
                      [255, 255, 6, 6],
                      [255, 0, 7, 7]]).view(1, 1, 4, 4)


def test_downscale_label_ratio_by_hand():
    # blocks: {1 x4} -> 1; {2 x3, 3} -> 2 at 0.75; {255 x3, 0} -> ignore wins;
    # {6, 6, 7, 7} -> a tie at 0.5, below min_ratio
    out = downscale_label_ratio(LABEL, scale_factor=2, min_ratio=0.75, num_classes=19)
    assert out.tolist() == [[[[1, 2], [255, 255]]]]
    stricter = downscale_label_ratio(LABEL, scale_factor=2, min_ratio=0.8, num_classes=19)
    assert stricter.tolist() == [[[[1, 255], [255, 255]]]]
    flat = downscale_label_ratio(LABEL[:, 0], scale_factor=2, min_ratio=0.75, num_classes=19)
    assert flat.shape == (1, 2, 2) and flat.dtype == torch.int64
    # one block: class 1 wins with 4 of 16 pixels (ignore has 3)
    whole = downscale_label_ratio(LABEL, scale_factor=4, min_ratio=0.25, num_classes=19)
    assert whole.tolist() == [[[[1]]]]
    assert downscale_label_ratio(LABEL, scale_factor=4, min_ratio=0.3,
                                 num_classes=19).tolist() == [[[[255]]]]
    assert LABEL[0, 0, 2, 0] == 255  # the input is not modified
    with pytest.raises(ValueError):
        downscale_label_ratio(torch.full((1, 1, 2, 2), 40), scale_factor=2, min_ratio=0.5,
                              num_classes=19)


def _labels_for(reduced):
    """A full-resolution label whose 2x2 blocks are uniform with the values of ``reduced``."""
    return torch.tensor(reduced).repeat_interleave(2, 0).repeat_interleave(2, 1).view(1, 1, 4, 4)


def test_zero_for_identical_features():
    feat = torch.randn(1, 8, 2, 2)
    loss = feature_distance_loss(feat, feat.clone(), _labels_for([[13, 13], [13, 13]]),
                                 thing_classes=THING_CLASSES)
    assert loss.item() == 0.0


def test_only_thing_pixels_count_by_hand():
    frozen = torch.zeros(1, 2, 2, 2)
    student = torch.zeros(1, 2, 2, 2)
    student[0, :, 0, 0] = torch.tensor([3.0, 4.0])    # car (13), distance 5
    student[0, :, 0, 1] = torch.tensor([30.0, 40.0])  # road (0): not a thing, ignored
    student[0, :, 1, 0] = torch.tensor([6.0, 8.0])    # ignore (255): ignored
    labels = _labels_for([[13, 0], [255, 11]])        # person (11) at (1, 1), distance 0
    loss = feature_distance_loss(student, frozen, labels, thing_classes=THING_CLASSES)
    assert loss.item() == pytest.approx(0.005 * (5 + 0) / 2)
    unmasked = feature_distance_loss(student, frozen, None, thing_classes=None, lambda_=1.0)
    assert unmasked.item() == pytest.approx((5 + 50 + 10 + 0) / 4)


def test_no_thing_pixel_gives_an_attached_zero():
    student = torch.randn(1, 4, 2, 2, requires_grad=True)
    loss = feature_distance_loss(student, torch.randn(1, 4, 2, 2), _labels_for([[0, 1], [2, 255]]),
                                 thing_classes=THING_CLASSES)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(student.grad, torch.zeros_like(student))


def test_gradient_flows_to_the_student_only():
    student = torch.randn(1, 4, 2, 2, requires_grad=True)
    frozen = torch.randn(1, 4, 2, 2, requires_grad=True)
    feature_distance_loss(student, frozen, _labels_for([[13, 13], [13, 13]]),
                          thing_classes=THING_CLASSES).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert frozen.grad is None
