"""Streamed task-vector merges (mtda/merging/task_merge.py) against the same rules applied by hand."""
import pytest
import torch

from merge_fixtures import LoadTracker, random_state, sources_of
from mtda.errors import MergeError
from mtda.merging import EntryKind, merge_state_dicts
from mtda.merging.task_merge import TaskMethod, merge_task_vectors


@pytest.fixture
def three(model):
    base = random_state(model, 0)
    # fine-tuned copies: small task vectors on the parameters, their own BN statistics
    states = []
    for seed in (1, 2, 3):
        state = random_state(model, seed, counter=50 * seed)
        noise = torch.Generator().manual_seed(10 + seed)
        for key, value in base.items():
            if key in state and value.is_floating_point() and 'running' not in key:
                state[key] = value + 0.1 * torch.randn(value.shape, generator=noise)
        states.append(state)
    return base, states


def _parameters(kinds):
    return [key for key, kind in kinds.items() if kind is EntryKind.PARAMETER]


def test_task_arithmetic_with_its_default_scale_is_the_average(kinds, three):
    base, states = three
    merged = merge_task_vectors(sources_of(states), base=base, base_name='init.pth', kinds=kinds,
                                method=TaskMethod('task-arithmetic'))
    average = merge_state_dicts(sources_of(states), kinds=kinds).state_dict
    for key in kinds:  # parameters: 1/N sum of task vectors; buffers: the same pool merge
        torch.testing.assert_close(merged.state_dict[key], average[key], rtol=1e-6, atol=1e-6)
    assert merged.method == 'task-arithmetic' and merged.method_options == dict(scale=1 / 3)
    doubled = merge_task_vectors(sources_of(states), base=base, base_name='init.pth', kinds=kinds,
                                 method=TaskMethod('task-arithmetic', scale=0.5))
    for key in _parameters(kinds):
        expected = base[key] + 0.5 * sum(s[key] - base[key] for s in states)
        torch.testing.assert_close(doubled.state_dict[key], expected)


def test_ties_streams_twice_and_matches_trim_elect_disjoint_mean_by_hand(kinds, three):
    base, states = three
    tracker = LoadTracker(states)
    merged = merge_task_vectors(tracker.sources(), base=base, base_name='init.pth', kinds=kinds,
                                method=TaskMethod('ties', density=0.5))
    assert tracker.calls == [0, 1, 2, 0, 1, 2]  # sign election, then the disjoint mean
    assert max(tracker.alive_at_load) == 0  # one checkpoint in memory at a time
    for key in _parameters(kinds):
        taus = torch.stack([s[key] - base[key] for s in states]).reshape(3, -1)
        k = -(-taus.shape[1] // 2)  # ceil(0.5 * numel)
        trimmed = torch.zeros_like(taus)
        for i in range(3):
            top = taus[i].abs().topk(k).indices
            trimmed[i, top] = taus[i, top]
        sign = trimmed.sum(0).sign()
        agree = (trimmed.sign() == sign) & (trimmed != 0)
        mean = (trimmed * agree).sum(0) / agree.sum(0).clamp(min=1)
        torch.testing.assert_close(merged.state_dict[key], base[key] + mean.reshape(base[key].shape))
    pooled = merge_state_dicts(sources_of(states), kinds=kinds).state_dict
    for key, kind in kinds.items():
        if kind is not EntryKind.PARAMETER:  # BN statistics pooled, counters exact: 50+100+150
            torch.testing.assert_close(merged.state_dict[key], pooled[key])
    assert int(merged.state_dict['backbone.1.num_batches_tracked']) == 300


def test_global_top_k_uses_one_threshold_for_the_whole_model(kinds, three):
    base, states = three
    merged = merge_task_vectors(sources_of(states[:1] * 2), base=base, base_name='init.pth',
                                kinds=kinds, method=TaskMethod('ties', density=0.1, topk='global'))
    taus = {key: states[0][key] - base[key] for key in _parameters(kinds)}
    every = torch.cat([t.abs().reshape(-1) for t in taus.values()])
    threshold = every.topk(-(-every.numel() // 10)).values.min()
    for key, tau in taus.items():  # the same model twice: the trimmed task vector itself
        kept = torch.where(tau.abs() >= threshold, tau, torch.zeros_like(tau))
        torch.testing.assert_close(merged.state_dict[key], base[key] + kept)


def test_dare_is_seeded_and_keeps_one_in_ten_entries_rescaled(kinds, three):
    base, states = three
    method = TaskMethod('dare', drop=0.9, seed=3, scale=1.0)

    def run(m):
        return merge_task_vectors(sources_of(states[:1] * 2), base=base, base_name='i.pth',
                                  kinds=kinds, method=m).state_dict
    first, again, other = run(method), run(method), run(TaskMethod('dare', seed=4, scale=1.0))
    key = 'backbone.0.weight'
    assert torch.equal(first[key], again[key]) and not torch.equal(first[key], other[key])
    # two copies of one model, each entry kept with p = 0.1 and scaled by 10, then summed
    delta = (first[key] - base[key]) / (states[0][key] - base[key])
    assert set(delta.round(decimals=3).unique().tolist()) <= {0.0, 10.0, 20.0}


def test_a_nan_that_trimming_would_hide_is_refused(kinds, three):
    base, states = three
    states[1]['backbone.0.weight'][0, 0, 0, 0] = float('nan')
    with pytest.raises(MergeError, match="ckpt1.pth: 'backbone.0.weight' holds NaN"):
        merge_task_vectors(sources_of(states), base=base, base_name='init.pth', kinds=kinds,
                           method=TaskMethod('ties', density=0.01))


def test_a_base_of_another_model_is_refused(kinds, three):
    base, states = three
    del base['decode_head.conv_seg.bias']
    with pytest.raises(MergeError, match='init.pth'):
        merge_task_vectors(sources_of(states), base=base, base_name='init.pth', kinds=kinds,
                           method=TaskMethod('ties'))


@pytest.mark.parametrize('options, message', [
    (dict(name='slerp'), "unknown --method 'slerp'"),
    (dict(name='ties', topk='layer'), "unknown --topk 'layer'"),
    (dict(name='ties', density=1.5), '--density 1.5 is out of range'),
    (dict(name='dare', drop=1.0), '--drop 1.0 is out of range'),
    (dict(name='ties', scale=-1.0), '--scale -1.0 must be a positive number'),
])
def test_bad_method_options_are_one_line_errors(options, message):
    with pytest.raises(MergeError, match=message):
        TaskMethod(**options)
