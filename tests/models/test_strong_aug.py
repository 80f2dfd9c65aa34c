"""Strong augmentation: DAFormer's probabilities, value range and blur kernel."""
import pytest
import torch

from mtda.models.uda import strong_aug
from mtda.models.uda.strong_aug import (_scale_saturation, blur_kernel_size, color_jitter,
                                        gaussian_blur, strong_augment)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def test_jitter_runs_80_percent_of_the_time(monkeypatch):
    # only the decision is counted here; the jitter itself is tested below
    monkeypatch.setattr(strong_aug, '_jitter_one', lambda image, strength, generator: image + 0)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    applied = sum(color_jitter(images, generator=generator) is not images for _ in range(4000))
    assert 0.78 < applied / 4000 < 0.82


def test_blur_runs_half_of_the_time(monkeypatch):
    monkeypatch.setattr(strong_aug.TF, 'gaussian_blur', lambda image, kernel_size, sigma: image + 0)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, 2, 2)
    applied = sum(gaussian_blur(images, generator=generator) is not images for _ in range(4000))
    assert 0.48 < applied / 4000 < 0.52


def test_jitter_stays_in_unit_range_and_is_reproducible():
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    out = color_jitter(images, generator=torch.Generator().manual_seed(5), probability=0.0)
    again = color_jitter(images, generator=torch.Generator().manual_seed(5), probability=0.0)
    assert torch.equal(out, again)
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out[0], images[0])
    # per-image factors: two identical images are jittered differently
    twins = images[:1].repeat(2, 1, 1, 1)
    jittered = color_jitter(twins, generator=torch.Generator().manual_seed(5), probability=0.0)
    assert not torch.allclose(jittered[0], jittered[1])


def test_saturation_scales_hsv_saturation_by_hand():
    pixel = torch.tensor([0.8, 0.4, 0.2]).view(3, 1, 1)  # v 0.8, s 0.75, hue 20 degrees
    half = _scale_saturation(pixel, 0.5).flatten()
    assert half.tolist() == pytest.approx([0.8, 0.6, 0.5])  # s 0.375, same v and hue
    double = _scale_saturation(pixel, 2.0).flatten()      # s capped at 1
    assert double.tolist() == pytest.approx([0.8, 0.8 - 0.4 * 0.8 / 0.6, 0.0])
    grey = torch.full((3, 1, 1), 0.3)
    assert torch.equal(_scale_saturation(grey, 1.2), grey)


@pytest.mark.parametrize('length,size', [(512, 51), (1024, 103), (64, 7), (70, 7), (20, 1),
                                         (5, 1)])
def test_blur_kernel_is_the_largest_odd_size_within_ten_percent(length, size):
    assert blur_kernel_size(length) == size


def test_blur_keeps_constant_images_and_the_mean():
    constant = torch.full((2, 3, 32, 32), 0.4)
    blurred = gaussian_blur(constant, generator=torch.Generator().manual_seed(0), probability=0.0)
    assert torch.allclose(blurred, constant, atol=1e-6)
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    blurred = gaussian_blur(images, generator=torch.Generator().manual_seed(0), probability=0.0)
    assert not torch.allclose(blurred, images)
    assert torch.allclose(blurred.mean(dim=(2, 3)), images.mean(dim=(2, 3)), atol=5e-3)
    assert blurred.std() < images.std()


def test_strong_augment_round_trips_normalised_images():
    unit = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    normalised = (unit * 255 - mean) / std
    # probability 1: the jitter never runs; blur off: only the de/re-normalisation remains
    same = strong_augment(normalised, mean=MEAN, std=STD, color_jitter_probability=1.0, blur=False,
                          generator=torch.Generator().manual_seed(0))
    assert torch.allclose(same, normalised, atol=1e-5)
    changed = strong_augment(normalised, mean=torch.tensor(MEAN).view(3, 1, 1),
                             std=torch.tensor(STD).view(3, 1, 1), color_jitter_probability=0.0,
                             generator=torch.Generator().manual_seed(0))
    back = changed * std + mean
    assert back.min() >= -1e-3 and back.max() <= 255 + 1e-3
    assert not torch.allclose(changed, normalised)


def test_strong_augment_is_finite_for_black_pixels():
    """Black pixels de-normalise to tiny negative values (float rounding); hue must not NaN."""
    from mtda.models.uda.strong_aug import strong_augment
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    black = torch.zeros(2, 3, 16, 16)
    black[1, :, :8] = 255.0
    normalised = (black - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    for seed in range(20):
        out = strong_augment(normalised, mean=mean, std=std,
                             generator=torch.Generator().manual_seed(seed),
                             color_jitter_probability=0.0)
        assert torch.isfinite(out).all(), seed
