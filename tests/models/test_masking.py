"""MIC's block masks: whole blocks kept or masked, the masked share, and the masked image."""
import pytest
import torch

from mtda.models.uda.masking import block_mask, mask_images


def test_blocks_are_whole_and_the_masked_share_is_the_ratio():
    generator = torch.Generator().manual_seed(0)
    mask = block_mask((200, 3, 64, 96), ratio=0.7, block_size=8, generator=generator)
    assert mask.shape == (200, 1, 64, 96) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    blocks = mask.view(200, 1, 8, 8, 12, 8)  # (N, 1, rows, 8, columns, 8)
    assert torch.equal(blocks.amin(dim=(3, 5)), blocks.amax(dim=(3, 5)))  # constant per block
    # 200 x 8 x 12 = 19 200 blocks: the masked share is 0.7 within a few standard errors
    assert abs((1 - mask.mean().item()) - 0.7) < 4 * (0.7 * 0.3 / 19200) ** 0.5


def test_grid_rounds_like_mic_and_never_vanishes():
    # round(20 / 8) = 2 blocks a side (MIC's grid), resized by nearest neighbour to 20 pixels
    mask = block_mask((1, 3, 20, 20), ratio=0.5, block_size=8,
                      generator=torch.Generator().manual_seed(1))
    assert mask.shape == (1, 1, 20, 20)
    assert torch.equal(mask[..., :10, :10], mask[..., :1, :1].expand(1, 1, 10, 10))
    # a block larger than the image: one block, kept or masked as a whole
    whole = block_mask((4, 3, 16, 16), ratio=0.5, block_size=64,
                       generator=torch.Generator().manual_seed(2))
    assert torch.equal(whole.amin(dim=(2, 3)), whole.amax(dim=(2, 3)))


def test_mask_images_zeroes_the_masked_pixels_only():
    images = torch.randn(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1.0
    masked = mask_images(images, mask)
    assert torch.equal(masked[:, :, :2], images[:, :, :2])
    assert torch.equal(masked[:, :, 2:], torch.zeros(2, 3, 2, 4))
    with pytest.raises(ValueError, match='does not fit'):
        mask_images(images, torch.ones(2, 1, 2, 2))


def test_bad_ratio_and_block_size_are_refused():
    with pytest.raises(ValueError, match='mask ratio'):
        block_mask((1, 3, 8, 8), ratio=1.0)
    with pytest.raises(ValueError, match='block size'):
        block_mask((1, 3, 8, 8), block_size=0)
