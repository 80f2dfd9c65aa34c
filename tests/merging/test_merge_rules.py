"""The merge rules against values computed independently (closed forms, data unions, exact fractions)."""
import math
from fractions import Fraction

import pytest
import torch

from mtda.errors import MergeError
from mtda.merging import (MomentPool, normalize_merge_weights, pool_bn_statistics, weighted_counter,
                          weighted_mean)


def test_two_gaussians_pool_to_the_mixture_exactly():
    # N(0, 1) x 100 and N(4, 1) x 300: mean 0.25*0 + 0.75*4 = 3; variance 1 + 0.25*9 + 0.75*1 = 4.
    pooled = pool_bn_statistics([torch.zeros(3), torch.full((3,), 4.0)], [torch.ones(3), torch.ones(3)],
                                [100, 300])
    assert torch.equal(pooled.mean, torch.full((3,), 3.0, dtype=torch.float64))
    assert torch.equal(pooled.var, torch.full((3,), 4.0, dtype=torch.float64))
    assert pooled.num_batches_tracked == 400


def test_pooled_statistics_are_those_of_the_union_of_the_data():
    generator = torch.Generator().manual_seed(0)
    first = torch.randn(100, 8, generator=generator, dtype=torch.float64) * 2 + 1
    second = torch.randn(300, 8, generator=generator, dtype=torch.float64) * 0.5 - 3
    pooled = pool_bn_statistics(
        [first.mean(0), second.mean(0)], [first.var(0, unbiased=False), second.var(0, unbiased=False)],
        [len(first), len(second)])
    union = torch.cat([first, second])
    torch.testing.assert_close(pooled.mean, union.mean(0), rtol=0, atol=1e-12)
    torch.testing.assert_close(pooled.var, union.var(0, unbiased=False), rtol=1e-12, atol=0)


def test_pooling_is_accurate_when_the_mean_dwarfs_the_spread():
    # |mu| / sigma ~ 1e5: E[x^2] - mu^2 would lose ~10 digits here; compare with exact rational arithmetic.
    means = [torch.tensor([1e4 + 1e-3], dtype=torch.float64), torch.tensor([1e4 - 2e-3], dtype=torch.float64),
             torch.tensor([1e4], dtype=torch.float64)]
    variances = [torch.tensor([1e-2], dtype=torch.float64), torch.tensor([4e-2], dtype=torch.float64),
                 torch.tensor([1e-3], dtype=torch.float64)]
    counts = [7, 11, 13]
    total = sum(counts)
    exact_mean = sum(Fraction(n, total) * Fraction(float(m)) for n, m in zip(counts, means))
    exact_var = sum(Fraction(n, total) * (Fraction(float(v)) + (Fraction(float(m)) - exact_mean) ** 2)
                    for n, m, v in zip(counts, means, variances))
    pooled = pool_bn_statistics(means, variances, counts)
    assert abs(Fraction(float(pooled.var)) - exact_var) / exact_var < 1e-12
    assert abs(Fraction(float(pooled.mean)) - exact_mean) / exact_mean < 1e-14


def test_counts_weight_the_statistics_and_zero_counts_drop_out():
    pooled = pool_bn_statistics([torch.tensor([1.0]), torch.tensor([50.0])],
                                [torch.tensor([2.0]), torch.tensor([9.0])], [10, 0])
    assert pooled.mean.item() == 1.0 and pooled.var.item() == 2.0 and pooled.num_batches_tracked == 10


def test_all_zero_counts_name_the_layer_and_the_fix():
    with pytest.raises(MergeError, match=r"'decode_head\.bn'.*--buffers mean"):
        pool_bn_statistics([torch.zeros(2)] * 2, [torch.ones(2)] * 2, [0, 0], layer='decode_head.bn')


def test_counters_sum_exactly_beyond_float_precision():
    counts = [torch.tensor(2**40 + 1), torch.tensor(2**60 + 3)]
    pooled = pool_bn_statistics([torch.zeros(1)] * 2, [torch.ones(1)] * 2, counts)
    assert pooled.num_batches_tracked == 2**40 + 2**60 + 4


def test_moment_pool_rejects_negative_weights():
    with pytest.raises(ValueError):
        MomentPool().add(torch.zeros(1), torch.ones(1), -1)


def test_weighted_mean_matches_the_definition_within_float32_rounding():
    tensors = [torch.randn(64, 64, generator=torch.Generator().manual_seed(i)) for i in range(16)]
    weights = [float(i + 1) for i in range(16)]
    expected = sum(w * t.double() for w, t in zip(weights, tensors)) / sum(weights)
    result = weighted_mean(tensors, weights)
    assert result.dtype == torch.float32
    # a running mean of 16 float32 inputs: within a few float32 ulps of the exact value
    torch.testing.assert_close(result.double(), expected, rtol=0, atol=8 * 2**-23 * 4)
    half = weighted_mean([t.half() for t in tensors[:2]], [1.0, 1.0])
    assert half.dtype == torch.float32  # half-precision inputs accumulate in float32


def test_weighted_mean_of_identical_tensors_is_exact():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(weighted_mean([x, x, x], [1 / 3, 1 / 3, 1 / 3]), x)


def test_list_rules_refuse_lists_of_different_lengths():
    with pytest.raises(ValueError):
        weighted_mean([torch.zeros(1)] * 3, [0.5, 0.5])


def test_weighted_counter_rounds_and_is_exact_at_one_hot_weights():
    assert weighted_counter([100, 301], [0.5, 0.5]) == 200  # 200.5 rounds half to even
    assert weighted_counter([2**40 + 1, 7], [1.0, 0.0]) == 2**40 + 1


@pytest.mark.parametrize('weights, expected', [
    (None, [1 / 3] * 3), ([1, 1, 2], [0.25, 0.25, 0.5]), ([0.2, 0.2, 0.6], [0.2, 0.2, 0.6]),
    ([1e308, 1e308, 1e308], [1 / 3] * 3),  # each finite, their sum is not
    ([5e-324, 5e-324, 1e-323], [0.25, 0.25, 0.5])])  # the smallest subnormals
def test_weights_are_normalised(weights, expected):
    assert normalize_merge_weights(weights, 3) == pytest.approx(expected, abs=1e-15)
    assert math.fsum(normalize_merge_weights(weights, 3)) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize('weights, fragment', [
    ([1.0, -1.0], "-1.0 for b.pth"), ([1.0, 0.0], '0.0 for b.pth'), ([float('nan'), 1.0], 'nan for a.pth'),
    ([float('inf'), 1.0], 'inf for a.pth'), (['x', 1.0], "'x' for a.pth"), ([True, 1.0], 'True for a.pth'),
    ([1.0, 2.0, 3.0], '3 value(s) for 2 checkpoint(s)')])
def test_bad_weights_name_the_option_the_file_and_the_fix(weights, fragment):
    with pytest.raises(MergeError) as caught:
        normalize_merge_weights(weights, 2, names=['a.pth', 'b.pth'])
    message = str(caught.value)
    assert '--weights' in message and fragment in message and '\n' not in message
