"""Git Re-Basin's pure core: permutation specs, weight matching, the match-to-first merge.

The networks here are small torch modules whose permutation groups are written out by hand, so every
expected value (a permuted index, the best assignment by brute force, the merge of a model with a
reordered copy of itself) is computed independently of the code under test.
"""
import itertools

import pytest
import torch
from torch import nn

from mtda.errors import MergeError
from mtda.merging import classify_state_dict_entries, merge_state_dicts
from mtda.merging.rebasin import (PermutationSpec, SpecBuilder, match_weights, permute_state,
                                  random_permutations)
from mtda.merging.rebasin.align import MatchToFirst
from small_convnet import small_convnet, small_convnet_spec

_net, _spec = small_convnet, small_convnet_spec


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_a_concatenated_axis_is_permuted_block_by_block():
    spec = PermutationSpec({'w': ('a', ('a', 'b'))}, {'a': 2, 'b': 3})
    w = torch.arange(2 * 5).reshape(2, 5)
    perms = {'a': torch.tensor([1, 0]), 'b': torch.tensor([2, 0, 1])}
    out = permute_state({'w': w, 'other': w}, spec, perms)
    # rows by a; columns: a's block [1, 0], then b's block offset by 2: [4, 2, 3]
    assert out['w'].tolist() == w[[1, 0]][:, [1, 0, 4, 2, 3]].tolist()
    assert out['other'] is w


def test_permuting_the_hidden_units_keeps_the_function():
    net = _net(0)
    x = torch.randn(2, 3, 8, 8)
    before = net(x)
    net.load_state_dict(permute_state(_state(net), _spec(net), random_permutations(_spec(net))))
    assert torch.allclose(net(x), before, atol=1e-5)


def test_a_planted_permutation_is_recovered_exactly():
    net = _net(1)
    spec, state = _spec(net), _state(net)
    planted = random_permutations(spec, seed=3)
    moved = permute_state(state, spec, planted)
    assert not torch.equal(moved['0.weight'], state['0.weight'])
    matching = match_weights(state, moved, spec)
    back = permute_state(moved, spec, matching.perms)
    assert all(torch.equal(back[k], state[k]) for k in state)
    assert matching.converged
    # the recovered permutation is the planted one's inverse; both fix the same units
    for group, perm in planted.items():
        assert torch.equal(perm[matching.perms[group]], torch.arange(len(perm)))
    fixed = sum(int((p == torch.arange(len(p))).sum()) for p in planted.values()) / 11
    assert matching.fixed_fraction() == pytest.approx(fixed)


def test_a_model_matched_to_itself_stays_the_identity():
    state = _state(_net(2))
    matching = match_weights(state, state, _spec(_net(2)))
    assert matching.fixed_fraction() == 1.0 and matching.rounds == 1


def test_one_group_is_solved_as_well_as_brute_force():
    # a single hidden group of 5 units: the assignment must reach the best of all 120 orders
    torch.manual_seed(0)
    a = {'w1': torch.randn(5, 4), 'w2': torch.randn(3, 5)}
    b = {'w1': torch.randn(5, 4), 'w2': torch.randn(3, 5)}
    spec = PermutationSpec({'w1': ('h', None), 'w2': (None, 'h')}, {'h': 5})

    def objective(order):
        order = list(order)
        return float((a['w1'] * b['w1'][order]).sum() + (a['w2'] * b['w2'][:, order]).sum())

    best = max(itertools.permutations(range(5)), key=objective)
    matching = match_weights(a, b, spec)
    assert matching.perms['h'].tolist() == list(best)


def test_only_the_given_keys_enter_the_objective():
    torch.manual_seed(1)
    a = {'w1': torch.randn(4, 3), 'w2': torch.randn(4, 3)}
    spec = PermutationSpec({'w1': ('h', None), 'w2': ('h', None)}, {'h': 4})
    planted = {'h': torch.tensor([2, 3, 0, 1])}
    b = {'w1': a['w1'][planted['h']], 'w2': torch.randn(4, 3) * 100}  # w2 is noise, and large
    matching = match_weights(a, b, spec, keys={'w1'})
    assert torch.equal(b['w1'][matching.perms['h']], a['w1'])


def test_merging_a_model_with_a_reordered_copy_gives_the_model_back():
    net = _net(4)
    spec, state, kinds = _spec(net), _state(net), classify_state_dict_entries(net)
    copy = permute_state(state, spec, random_permutations(spec, seed=5))
    sources = [('a.pth', lambda: state), ('b.pth', lambda: copy)]
    align = MatchToFirst(spec)
    rebasin = align.annotate(merge_state_dicts(
        [(name, lambda name=name, load=load: align(name, load())) for name, load in sources],
        kinds=kinds))
    for key, value in state.items():
        if key.endswith('num_batches_tracked'):
            assert int(rebasin.state_dict[key]) == 2 * int(value)  # counters sum
        else:
            assert torch.allclose(rebasin.state_dict[key], value, atol=1e-6), key
    assert rebasin.method == 'rebasin'
    assert rebasin.method_options['reference'] == 'a.pth'
    assert set(rebasin.method_options['fixed_fraction']) == {'b.pth'}
    # without the matching, the average of the two orders is another network
    plain = merge_state_dicts(sources, kinds=kinds)
    assert not torch.allclose(plain.state_dict['0.weight'], state['0.weight'])


def test_spec_errors_name_the_entry_and_the_fix():
    net = _net(0)
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    b = SpecBuilder(shapes)
    with pytest.raises(MergeError, match=r'names nope\.weight, which the model does not have'):
        b.conv('nope', 'h', None)
    b = SpecBuilder(shapes)
    b.conv('0', 'h1', None)
    b.conv('3', 'h1', 'h1')  # 'h1' has 6 units; conv 3 has 5 outputs
    with pytest.raises(MergeError, match=r'has entries of other shapes, e\.g\. \[.3\.weight'):
        b.build()
    spec = _spec(net)
    state = _state(net)
    del state['4.running_var']
    with pytest.raises(MergeError, match=r'^b\.pth lacks 1 entries, e\.g\. \[.4\.running_var.\] .*'
                                         r'Re-Basin needs checkpoints of exactly that architecture'):
        match_weights(_state(net), state, spec, names=('a.pth', 'b.pth'))
    with pytest.raises(MergeError, match=r"axis 0 names group 'x', which has no size"):
        PermutationSpec({'w': ('x',)}, {})


def _inner(a, b):
    return sum(float((a[k].double() * b[k].double()).sum()) for k in a)


def test_matching_two_unrelated_models_raises_their_inner_product():
    a, b = _state(_net(6)), _state(_net(7))
    spec = _spec(_net(6))
    keys = {k for k in a if not k.startswith(('1.running', '4.running', '1.num', '4.num'))}
    matching = match_weights(a, b, spec, keys=keys)
    pick = {k: a[k] for k in keys}
    matched = permute_state(b, spec, matching.perms)
    assert matching.converged and matching.fixed_fraction() < 1.0
    assert _inner(pick, {k: matched[k] for k in keys}) > _inner(pick, {k: b[k] for k in keys})


def test_a_small_fine_tuning_step_is_matched_by_the_identity():
    # the paper's C2 in miniature: models fine-tuned from one init are already aligned
    a = _state(_net(8))
    generator = torch.Generator().manual_seed(9)
    b = {k: v + 0.05 * torch.randn(v.shape, generator=generator) if v.is_floating_point() else v
         for k, v in a.items()}
    assert match_weights(a, b, _spec(_net(8))).fixed_fraction() == 1.0
