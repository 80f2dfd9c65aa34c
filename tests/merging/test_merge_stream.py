"""Streaming merges and the LMC path, checked against rules computed here from the inputs."""
import itertools

import pytest
import torch

from merge_fixtures import LoadTracker, TinySegmentor, random_state, sources_of
from mtda.errors import MergeError
from mtda.merging import EntryKind, classify_state_dict_entries, filter_by_prefix, interpolate_state_dicts
from mtda.merging import merge_state_dicts

BN_LAYERS = ('backbone.1', 'decode_head.bn')


def _mixture(states, layer):
    """The paper's closed form, two passes: mu = sum p_i mu_i; var = sum p_i (var_i + (mu_i - mu)^2)."""
    counts = [int(s[f'{layer}.num_batches_tracked']) for s in states]
    proportions = [n / sum(counts) for n in counts]
    means = [s[f'{layer}.running_mean'].double() for s in states]
    mean = sum(p * m for p, m in zip(proportions, means))
    var = sum(p * (s[f'{layer}.running_var'].double() + (m - mean) ** 2)
              for p, m, s in zip(proportions, means, states))
    return mean, var, sum(counts)


def test_two_gaussians_through_the_whole_merge(kinds, model):
    states = [random_state(model, 0, counter=100), random_state(model, 1, counter=300)]
    for state, mean in zip(states, (0.0, 4.0)):
        state['decode_head.bn.running_mean'].fill_(mean)
        state['decode_head.bn.running_var'].fill_(1.0)
    merged = merge_state_dicts(sources_of(states), kinds=kinds).state_dict
    assert torch.equal(merged['decode_head.bn.running_mean'], torch.full((4,), 3.0))
    assert torch.equal(merged['decode_head.bn.running_var'], torch.full((4,), 4.0))
    assert merged['decode_head.bn.num_batches_tracked'].item() == 400


def test_pool_merge_matches_the_closed_form(kinds, model):
    states = [random_state(model, seed, counter=counter) for seed, counter in ((0, 50), (1, 120), (2, 7))]
    weights = [0.5, 0.3, 0.2]
    result = merge_state_dicts(sources_of(states), kinds=kinds, weights=weights)
    merged = result.state_dict
    for key, kind in kinds.items():
        if kind is EntryKind.PARAMETER:
            expected = sum(w * s[key].double() for w, s in zip(weights, states)).float()
            torch.testing.assert_close(merged[key], expected, rtol=1e-6, atol=1e-7)
    for layer in BN_LAYERS:
        mean, var, count = _mixture(states, layer)
        torch.testing.assert_close(merged[f'{layer}.running_mean'], mean.float(), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(merged[f'{layer}.running_var'], var.float(), rtol=1e-6, atol=1e-7)
        assert merged[f'{layer}.num_batches_tracked'].item() == count
    assert torch.equal(merged['backbone.index_table'], states[0]['backbone.index_table'])
    assert list(merged) == list(states[0]) and result.names == ('ckpt0.pth', 'ckpt1.pth', 'ckpt2.pth')
    assert result.weights == pytest.approx(weights) and result.buffer_policy == 'pool'


@pytest.mark.parametrize('policy', ['pool', 'mean', 'first'])
def test_merging_identical_checkpoints_is_the_identity(kinds, model, policy):
    state = random_state(model, 0, counter=100)
    merged = merge_state_dicts(sources_of([state] * 3), kinds=kinds, buffer_policy=policy).state_dict
    for key, tensor in state.items():
        if kinds[key] is EntryKind.BN_COUNTER and policy == 'pool':
            assert merged[key].item() == 300  # pooling adds up what each model counted
        else:
            assert torch.equal(merged[key], tensor), key
        assert merged[key].dtype == tensor.dtype


@pytest.mark.parametrize('policy', ['pool', 'mean', 'first'])
def test_the_order_of_the_checkpoints_does_not_matter(kinds, model, policy):
    states = [random_state(model, seed, counter=10 * (seed + 1)) for seed in range(3)]
    weights = [0.2, 0.3, 0.5]
    reference = merge_state_dicts(sources_of(states), kinds=kinds, weights=weights,
                                  buffer_policy=policy).state_dict
    for order in itertools.permutations(range(3)):
        merged = merge_state_dicts(sources_of([states[i] for i in order]), kinds=kinds,
                                   weights=[weights[i] for i in order], buffer_policy=policy).state_dict
        for key, kind in kinds.items():
            if policy == 'first' and kind is not EntryKind.PARAMETER:
                assert torch.equal(merged[key], states[order[0]][key])  # 'first' is order-dependent by design
            else:
                torch.testing.assert_close(merged[key], reference[key], rtol=1e-6, atol=1e-7)


def test_weights_are_relative(kinds, model):
    states = [random_state(model, 0), random_state(model, 1)]
    relative = merge_state_dicts(sources_of(states), kinds=kinds, weights=[1, 3]).state_dict
    normalised = merge_state_dicts(sources_of(states), kinds=kinds, weights=[0.25, 0.75]).state_dict
    for key in kinds:
        assert torch.equal(relative[key], normalised[key]), key


def test_first_keeps_model_ones_buffers_and_mean_averages_them(kinds, model):
    states = [random_state(model, 0, counter=10), random_state(model, 1, counter=31)]
    weights = [0.25, 0.75]
    first, mean = (merge_state_dicts(sources_of(states), kinds=kinds, weights=weights,
                                     buffer_policy=policy).state_dict for policy in ('first', 'mean'))
    for layer in BN_LAYERS:
        for stat in ('running_mean', 'running_var', 'num_batches_tracked'):
            key = f'{layer}.{stat}'
            assert torch.equal(first[key], states[0][key])
        for stat in ('running_mean', 'running_var'):
            key = f'{layer}.{stat}'
            expected = (0.25 * states[0][key].double() + 0.75 * states[1][key].double()).float()
            torch.testing.assert_close(mean[key], expected, rtol=1e-6, atol=1e-7)
        assert mean[f'{layer}.num_batches_tracked'].item() == round(0.25 * 10 + 0.75 * 31)  # 25.75 -> 26
    # Parameters do not depend on the buffer policy.
    torch.testing.assert_close(first['decode_head.conv_seg.weight'], mean['decode_head.conv_seg.weight'],
                               rtol=0, atol=0)


def test_int64_counters_are_summed_exactly(kinds, model):
    states = [random_state(model, 0, counter=2**40 + 1), random_state(model, 1, counter=2**40 + 1),
              random_state(model, 2, counter=2**62 + 1)]
    merged = merge_state_dicts(sources_of(states), kinds=kinds).state_dict
    value = merged['backbone.1.num_batches_tracked']
    assert value.dtype == torch.int64 and value.item() == 2**41 + 2**62 + 3


def test_half_precision_is_accumulated_in_float32_and_cast_back_once(kinds, model):
    states = [random_state(model, seed, dtype=torch.float16) for seed in range(4)]
    merged = merge_state_dicts(sources_of(states), kinds=kinds).state_dict
    key = 'backbone.0.weight'
    assert merged[key].dtype == torch.float16
    exact = (sum(s[key].double() for s in states) / 4).half()
    # float32 accumulation, one rounding to half at the end: at most one half-precision ulp apart
    torch.testing.assert_close(merged[key].float(), exact.float(), rtol=2**-10, atol=2**-24)


def test_only_one_checkpoint_is_in_memory_at_a_time(kinds, model):
    tracker = LoadTracker([random_state(model, seed) for seed in range(4)])
    merge_state_dicts(tracker.sources(), kinds=kinds)
    assert tracker.calls == [0, 1, 2, 3]  # each loader once, in order
    assert tracker.alive_at_load == [0, 0, 0, 0]  # nothing of the previous checkpoint survives its turn


def test_a_bad_checkpoint_stops_the_merge_before_later_ones_load(kinds, model):
    states = [random_state(model, seed) for seed in range(3)]
    states[1]['backbone.0.bias'] = states[1]['backbone.0.bias'][:-1]
    tracker = LoadTracker(states)
    with pytest.raises(MergeError, match='ckpt1.pth'):
        merge_state_dicts(tracker.sources(), kinds=kinds)
    assert tracker.calls == [0, 1]


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_a_non_finite_parameter_is_named_after_its_file(kinds, model, bad):
    # checked once on the merged parameters (NaN/Inf propagate), then traced back to the file
    states = [random_state(model, seed) for seed in range(3)]
    states[2]['backbone.0.weight'].view(-1)[3] = bad
    with pytest.raises(MergeError, match=r"ckpt2\.pth holds (NaN|Inf) in 'backbone\.0\.weight'"):
        merge_state_dicts(sources_of(states), kinds=kinds)


def test_encoder_only_merge_selects_the_backbone(kinds, model):
    states = [random_state(model, 0), random_state(model, 1)]
    backbone_kinds = filter_by_prefix(kinds, include=['backbone'])
    merged = merge_state_dicts(sources_of([filter_by_prefix(s, include=['backbone']) for s in states]),
                               kinds=backbone_kinds).state_dict
    assert set(merged) == set(backbone_kinds) and not any(k.startswith('decode_head') for k in merged)


def test_lmc_path_endpoints_are_the_two_models(kinds, model):
    a, b = random_state(model, 0, counter=40), random_state(model, 1, counter=90)
    for lam, expected in ((0.0, a), (1.0, b)):
        point = interpolate_state_dicts(a, b, lam=lam, kinds=kinds)
        for key in kinds:
            assert torch.equal(point[key], expected[key]), (lam, key)


def test_lmc_midpoint_with_equal_counters_is_the_pool_merge(kinds, model):
    a, b = random_state(model, 0, counter=50), random_state(model, 1, counter=50)
    midpoint = interpolate_state_dicts(a, b, lam=0.5, kinds=kinds)
    merged = merge_state_dicts(sources_of([a, b]), kinds=kinds).state_dict
    for key, kind in kinds.items():
        if kind is EntryKind.BN_COUNTER:
            assert midpoint[key].item() == 50  # interpolated, not summed
        else:
            torch.testing.assert_close(midpoint[key], merged[key], rtol=1e-6, atol=1e-7)


def test_lmc_path_uses_mixture_statistics(kinds, model):
    a, b = random_state(model, 0), random_state(model, 1)
    lam = 0.3
    point = interpolate_state_dicts(a, b, lam=lam, kinds=kinds)
    key_mean, key_var = 'backbone.1.running_mean', 'backbone.1.running_var'
    mean = (1 - lam) * a[key_mean].double() + lam * b[key_mean].double()
    var = ((1 - lam) * (a[key_var].double() + (a[key_mean].double() - mean) ** 2)
           + lam * (b[key_var].double() + (b[key_mean].double() - mean) ** 2))
    torch.testing.assert_close(point[key_mean], mean.float(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(point[key_var], var.float(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('lam', [-0.1, 1.5, float('nan')])
def test_lmc_path_refuses_lambda_outside_the_segment(kinds, model, lam):
    a = random_state(model, 0)
    with pytest.raises(MergeError, match='outside'):
        interpolate_state_dicts(a, a, lam=lam, kinds=kinds)


def test_a_merge_of_fresh_models_loads_back_into_the_model(model):
    # The edge's ordinary path: kinds from the built model, state dicts saved from models of that config.
    # Fresh BatchNorms have counted nothing, so only a policy that ignores counters applies.
    kinds = classify_state_dict_entries(model)
    sources = sources_of([model.state_dict(), TinySegmentor().state_dict()])
    model.load_state_dict(merge_state_dicts(sources, kinds=kinds, buffer_policy='mean').state_dict)
