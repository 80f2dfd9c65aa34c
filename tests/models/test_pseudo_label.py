"""Pseudo labels, confidence weight and crop margins on hand-made probability maps."""
import pytest
import torch

from mtda.models.uda.pseudo_label import crop_margin_mask, pseudo_labels_and_weight


def _logits(prob_class0):
    """Two-class logits whose softmax gives class 0 the probabilities ``prob_class0``."""
    p = torch.tensor(prob_class0, dtype=torch.float64)
    return torch.stack([p, 1 - p], dim=1).log()


def test_labels_and_batch_weight_of_a_2x2_map():
    # max probs 0.99, 0.6 / 0.97, 0.8: two of four pixels reach 0.968
    labels, weight = pseudo_labels_and_weight(_logits([[[0.99, 0.6], [0.97, 0.2]]]))
    assert labels.tolist() == [[[0, 0], [0, 1]]]
    assert labels.dtype == torch.int64
    assert weight.shape == () and weight.dtype == torch.float32
    assert weight.item() == 0.5


def test_one_scalar_over_the_batch_or_one_per_image():
    logits = _logits([[[0.99, 0.6], [0.97, 0.2]],      # 2 of 4 confident
                      [[0.99, 0.01], [0.98, 0.975]]])  # 4 of 4 confident
    _, batch = pseudo_labels_and_weight(logits)
    assert batch.item() == 0.75
    _, per_image = pseudo_labels_and_weight(logits, per_image=True)
    assert per_image.tolist() == [0.5, 1.0]
    _, strict = pseudo_labels_and_weight(logits, threshold=0.985)
    assert strict.item() == 3 / 8   # 0.99, 0.99 and 0.99 (= 1 - 0.01)


def test_ignored_pixels_leave_the_share():
    top_row = torch.tensor([[True, True], [False, False]])
    # counted pixels 0.97 (confident) and 0.8: share 1/2; per image 1/2 and 2/2
    logits = _logits([[[0.99, 0.6], [0.97, 0.2]], [[0.99, 0.01], [0.98, 0.975]]])
    _, batch = pseudo_labels_and_weight(logits, ignore_mask=top_row)
    assert batch.item() == 0.75
    _, per_image = pseudo_labels_and_weight(logits, ignore_mask=top_row, per_image=True)
    assert per_image.tolist() == [0.5, 1.0]
    everything = torch.ones(2, 2, 2, dtype=torch.bool)
    _, none_counted = pseudo_labels_and_weight(logits, ignore_mask=everything, per_image=True)
    assert none_counted.tolist() == [0.0, 0.0]


def test_weight_map_with_crop_margins():
    labels, weight = pseudo_labels_and_weight(_logits([[[0.99, 0.6], [0.97, 0.2]]]))
    weight_map = weight.view(-1, 1, 1) * ~crop_margin_mask(labels.shape, margins=(1, 0, 0, 0))
    assert weight_map.tolist() == [[[0.0, 0.0], [0.5, 0.5]]]


def test_half_precision_logits():
    labels, weight = pseudo_labels_and_weight(_logits([[[0.99, 0.6], [0.97, 0.2]]]).half())
    assert labels.tolist() == [[[0, 0], [0, 1]]] and weight.item() == 0.5


def test_crop_margins():
    mask = crop_margin_mask((6, 5), margins=(1, 2, 0, 1))
    expected = torch.zeros(6, 5, dtype=torch.bool)
    expected[0] = expected[4:] = True
    expected[:, 4] = True
    assert torch.equal(mask, expected)
    assert not crop_margin_mask((3, 3), margins=(0, 0, 0, 0)).any()
    assert crop_margin_mask((2, 8, 4), margins=(15, 120, 0, 0)).all()  # larger than the image
    daformer = crop_margin_mask((512, 512), margins=(15, 120, 0, 0))
    assert daformer.sum() == (15 + 120) * 512
    with pytest.raises(ValueError):
        crop_margin_mask((4, 4), margins=(1, 2))
