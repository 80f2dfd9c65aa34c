"""Task-vector rules (mtda/merging/task_vectors.py) against numbers worked out by hand."""
import pytest
import torch

from mtda.errors import MergeError
from mtda.merging.task_vectors import (DisjointMean, SignElection, dare, magnitude_threshold,
                                       task_vector, trim_to_top_k)


def test_task_vector_is_the_difference_in_float32_for_half_inputs():
    theta = torch.tensor([1.5, -2.0], dtype=torch.float16)
    tau = task_vector(theta, torch.tensor([0.5, 1.0], dtype=torch.float16))
    assert tau.dtype == torch.float32 and tau.tolist() == [1.0, -3.0]
    with pytest.raises(MergeError, match=r'w: shape \(2,\) differs from the base\'s \(3,\)'):
        task_vector(theta, torch.zeros(3), key='w')


def test_trim_keeps_the_top_k_magnitudes_of_a_conv_kernel():
    tau = torch.tensor([0.1, -0.9, 0.3, 0.05, -0.4, 0.2, 0.0, 0.7]).reshape(2, 1, 2, 2)
    kept = trim_to_top_k(tau, density=0.25)  # ceil(0.25 * 8) = 2 entries: -0.9 and 0.7
    assert kept.shape == tau.shape
    assert kept.reshape(-1).tolist() == pytest.approx([0, -0.9, 0, 0, 0, 0, 0, 0.7])
    # a density that is not a whole number of entries rounds up: ceil(0.3 * 8) = 3
    assert int((trim_to_top_k(tau, density=0.3) != 0).sum()) == 3
    # a global threshold (top-k over the whole model) overrides the per-tensor density
    assert trim_to_top_k(tau, density=0.25, threshold=0.3).count_nonzero() == 4
    assert magnitude_threshold(torch.tensor([3.0, 1.0, 2.0, 4.0]), 0.5) == 3.0


def test_ties_on_a_hand_computed_example_with_sign_conflicts():
    base = torch.zeros(5)
    thetas = [torch.tensor([0.5, -0.2, 0.3, 0.0, 0.1]),
              torch.tensor([-0.4, 0.6, 0.2, 0.0, -0.1]),
              torch.tensor([-0.3, 0.1, -0.9, 0.0, 0.05])]
    trimmed = [trim_to_top_k(task_vector(t, base), density=0.6) for t in thetas]  # 3 of 5 each
    assert [t.tolist() for t in trimmed] == [pytest.approx([0.5, -0.2, 0.3, 0, 0]),
                                            pytest.approx([-0.4, 0.6, 0.2, 0, 0]),
                                            pytest.approx([-0.3, 0.1, -0.9, 0, 0])]
    election = SignElection()
    for t in trimmed:
        election.add(t)
    sign = election.result()
    # sums: -0.2, 0.5, -0.4, 0, 0 -> the mass, not the head count, decides: entry 0 has two
    # negative votes and one positive, entry 2 two positive and one large negative
    assert sign.tolist() == [-1, 1, -1, 0, 0]
    mean = DisjointMean(sign)
    for t in trimmed:
        mean.add(t)
    # entry 0: mean(-0.4, -0.3); entry 1: mean(0.6, 0.1); entry 2: -0.9 alone; 3, 4: nobody
    assert mean.result().tolist() == pytest.approx([-0.35, 0.35, -0.9, 0.0, 0.0])


def test_dare_is_unbiased_and_repeatable_with_its_seed():
    tau = torch.linspace(-1, 1, 1000)
    draws = torch.stack([dare(tau, 0.9, torch.Generator().manual_seed(s)) for s in range(400)])
    kept = (draws != 0).float().mean()
    assert abs(float(kept) - 0.1) < 0.005  # 400 000 Bernoulli(0.1) draws: std 0.0005
    assert set(draws[0][draws[0] != 0].div(tau[draws[0] != 0]).round(decimals=4).tolist()) == {10.0}
    # E[DARE(tau)] = tau: the mean of 400 draws is within 4 standard errors of tau everywhere
    standard_error = tau.abs() * (0.9 / 0.1 / 400) ** 0.5
    assert bool(((draws.mean(0) - tau).abs() <= 4 * standard_error + 1e-6).all())
    again = dare(tau, 0.9, torch.Generator().manual_seed(0))
    assert torch.equal(again, draws[0])


@pytest.mark.parametrize('call, message', [
    (lambda: dare(torch.ones(2), 1.0, torch.Generator()), '--drop 1.0 is out of range'),
    (lambda: trim_to_top_k(torch.ones(2), 0.0), '--density 0.0 is out of range'),
    (lambda: SignElection().result(), 'no task vector was added'),
])
def test_bad_options_are_merge_errors(call, message):
    with pytest.raises(MergeError, match=message):
        call()
