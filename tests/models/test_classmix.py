"""ClassMix: half of the classes (rounded up), drawn per image or from the whole batch."""
import torch

from mtda.models.uda.classmix import class_mix_masks, mix


def _labels():
    a = torch.tensor([[0, 0, 1], [1, 2, 2]])            # classes {0, 1, 2}
    b = torch.tensor([[3, 3, 3], [4, 4, 4]])            # classes {3, 4}
    return torch.stack([a, b])


def _pasted_classes(labels, masks):
    return [set(label[mask].tolist()) for label, mask in zip(labels, masks)]


def test_per_sample_pastes_exactly_half_rounded_up_of_whole_classes():
    labels = _labels()
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        masks = class_mix_masks(labels, generator=generator, per_sample=True)
        assert masks.shape == labels.shape and masks.dtype == torch.bool
        first, second = _pasted_classes(labels, masks)
        assert len(first) == 2 and len(second) == 1     # ceil(3/2), ceil(2/2)
        for label, mask, pasted in zip(labels, masks, (first, second)):
            # whole classes: every pixel of a pasted class is pasted
            assert torch.equal(mask, torch.isin(label, torch.tensor(sorted(pasted))))


def test_odd_count_rounds_up_like_daformer():
    labels = torch.arange(5).view(1, 1, 5)              # 5 classes -> 3, not round(2.5) == 2
    masks = class_mix_masks(labels, generator=torch.Generator().manual_seed(1), per_sample=True)
    assert int(masks.sum()) == 3


def test_batch_wide_draw_can_miss_an_images_classes():
    # DAFormer draws ceil(5/2) = 3 of the batch's 5 classes for each image; image 2 only has
    # {3, 4}, so it pastes nothing when the draw is {0, 1, 2} (1 in C(5, 3) = 10)
    labels = _labels()
    generator = torch.Generator().manual_seed(0)
    pasted_counts = []
    for _ in range(300):
        masks = class_mix_masks(labels, generator=generator)
        first, second = _pasted_classes(labels, masks)
        assert 1 <= len(first) <= 3 and len(second) <= 2
        pasted_counts.append(len(second))
    assert 0 in pasted_counts and 2 in pasted_counts
    assert 0.05 < pasted_counts.count(0) / 300 < 0.17


def test_the_draw_is_uniform_over_the_subsets_of_half_the_classes():
    # 4 classes (one of them 255, DAFormer's ignore value, drawn like any class): each of the
    # C(4, 2) = 6 pairs should come up 1/6 of the time
    labels = torch.tensor([[0, 3, 7, 255]]).view(1, 1, 4)
    generator = torch.Generator().manual_seed(3)
    counts = {}
    draws = 3000
    for _ in range(draws):
        pasted = tuple(labels[class_mix_masks(labels, generator=generator)].tolist())
        counts[pasted] = counts.get(pasted, 0) + 1
    assert len(counts) == 6 and all(len(pair) == 2 for pair in counts)
    expected = draws / 6
    chi_square = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi_square < 20.5  # the 0.001 quantile of chi-square with 5 degrees of freedom


def test_ignore_index_and_channel_dim_and_reproducibility():
    labels = torch.tensor([[[255, 255, 0, 1]]]).unsqueeze(1)   # (1, 1, 1, 4)
    for seed in range(10):
        masks = class_mix_masks(labels, generator=torch.Generator().manual_seed(seed),
                                ignore_index=255)
        assert masks.shape == labels.shape
        assert not masks[..., :2].any() and int(masks.sum()) == 1
    a = class_mix_masks(_labels(), generator=torch.Generator().manual_seed(7))
    b = class_mix_masks(_labels(), generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_mix_images_labels_and_weights():
    mask = torch.tensor([[[True, False], [False, True]]])
    source = torch.ones(1, 3, 2, 2)
    target = torch.zeros(1, 3, 2, 2)
    mixed = mix(mask, source, target)
    assert torch.equal(mixed, mask.unsqueeze(1).expand(1, 3, 2, 2).float())
    labels = mix(mask.unsqueeze(1), torch.full((1, 1, 2, 2), 7), torch.full((1, 1, 2, 2), 2))
    assert labels.tolist() == [[[[7, 2], [2, 7]]]]
    weights = mix(mask, torch.ones(1, 2, 2), torch.full((1, 2, 2), 0.25))
    assert weights.tolist() == [[[1.0, 0.25], [0.25, 1.0]]]
