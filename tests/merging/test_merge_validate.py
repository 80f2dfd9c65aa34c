"""Every bad input is a one-line MergeError naming the file, the key and the fix; lineage is checked."""
import pytest
import torch

from merge_fixtures import LoadTracker, random_state, sources_of
from mtda.errors import MergeError
from mtda.merging import check_lineage, merge_state_dicts

NAMES = ['a.pth', 'b.pth']


def _merge_error(kinds, states, **kwargs) -> str:
    with pytest.raises(MergeError) as caught:
        merge_state_dicts(sources_of(states, NAMES[:len(states)]), kinds=kinds, **kwargs)
    message = str(caught.value)
    assert '\n' not in message
    return message


def _set(state, key, value):
    state[key] = value
    return state


def _drop(state, key):
    del state[key]
    return state


def _spoil(key, spoil):
    """A function that breaks ``key`` of a state dict in place with ``spoil(tensor)``."""
    def apply(state):
        spoil(state[key])
        return state
    return apply


BAD_SECOND_CHECKPOINT = {
    'missing key': (lambda s: _drop(s, 'decode_head.conv_seg.bias'),
                    ['b.pth', "'decode_head.conv_seg.bias'", 'a.pth', 'one architecture']),
    'extra key': (lambda s: _set(s, 'decode_head.extra.weight', torch.zeros(1)),
                  ['b.pth', "'decode_head.extra.weight'", 'a.pth', 'one architecture']),
    'shape': (lambda s: _set(s, 'backbone.0.weight', torch.zeros(4, 3, 5, 5)),
              ['b.pth', "'backbone.0.weight'", '(4, 3, 5, 5)', '(4, 3, 3, 3)', 'one architecture']),
    'dtype': (lambda s: _set(s, 'backbone.0.weight', s['backbone.0.weight'].half()),
              ['b.pth', "'backbone.0.weight'", 'torch.float16', 'convert b.pth']),
    'NaN': (_spoil('backbone.0.bias', lambda t: t.__setitem__(1, float('nan'))),
            ['b.pth', "'backbone.0.bias'", 'NaN', 'leave it out']),
    'Inf': (_spoil('decode_head.conv_seg.weight', lambda t: t.view(-1).__setitem__(0, -float('inf'))),
            ['b.pth', "'decode_head.conv_seg.weight'", 'Inf', 'leave it out']),
    'NaN statistic': (_spoil('backbone.1.running_mean', lambda t: t.fill_(float('nan'))),
                      ['b.pth', "'backbone.1.running_mean'", 'NaN']),
    'negative variance': (_spoil('backbone.1.running_var', lambda t: t.__setitem__(0, -1.0)),
                          ['b.pth', "'backbone.1.running_var'", 'negative running_var']),
    'negative counter': (lambda s: _set(s, 'backbone.1.num_batches_tracked', torch.tensor(-3)),
                         ['b.pth', "'backbone.1.num_batches_tracked'", 'negative']),
    'not a tensor': (lambda s: _set(s, 'backbone.0.bias', [0.0] * 4),
                     ['b.pth', "'backbone.0.bias'", 'not a tensor']),
    'other buffer differs': (lambda s: _set(s, 'backbone.index_table', s['backbone.index_table'] + 1),
                             ['b.pth', "'backbone.index_table'", 'a.pth', '--buffers first']),
}


@pytest.mark.parametrize('case', sorted(BAD_SECOND_CHECKPOINT))
def test_a_bad_second_checkpoint_names_file_key_and_fix(kinds, model, case):
    spoil, fragments = BAD_SECOND_CHECKPOINT[case]
    message = _merge_error(kinds, [random_state(model, 0), spoil(random_state(model, 1))])
    for fragment in fragments:
        assert fragment in message, (case, fragment, message)


def test_different_num_classes_get_their_own_message(kinds, model):
    other = random_state(model, 1)
    other['decode_head.conv_seg.weight'] = torch.zeros(7, 4, 1, 1)
    other['decode_head.conv_seg.bias'] = torch.zeros(7)
    message = _merge_error(kinds, [random_state(model, 0), other])
    assert message.startswith('num_classes differ: 5 in a.pth vs 7 in b.pth')


def test_a_first_checkpoint_that_does_not_fit_the_model_is_named(kinds, model):
    extra = _set(random_state(model, 0), 'neck.conv.weight', torch.zeros(1))
    message = _merge_error(kinds, [extra, random_state(model, 1)])
    assert 'a.pth has 1 key(s) that the model lacks' in message and "'neck.conv.weight'" in message
    missing = _drop(random_state(model, 0), 'backbone.0.bias')
    message = _merge_error(kinds, [missing, random_state(model, 1)])
    assert 'a.pth lacks 1 key(s) that the model has' in message and "'backbone.0.bias'" in message


def test_entries_of_the_wrong_type_for_their_kind_are_refused(kinds, model):
    integer_weight = _set(random_state(model, 0), 'backbone.0.bias', torch.zeros(4, dtype=torch.int64))
    message = _merge_error(kinds, [integer_weight, random_state(model, 1)])
    assert "'backbone.0.bias' in a.pth is torch.int64" in message
    float_counter = _set(random_state(model, 0), 'decode_head.bn.num_batches_tracked', torch.tensor(3.0))
    assert 'must be one integer' in _merge_error(kinds, [float_counter, random_state(model, 1)])


def test_other_buffers_may_differ_when_model_ones_are_kept(kinds, model):
    first, second = random_state(model, 0), random_state(model, 1)
    second['backbone.index_table'] += 1
    merged = merge_state_dicts(sources_of([first, second]), kinds=kinds, buffer_policy='first').state_dict
    assert torch.equal(merged['backbone.index_table'], first['backbone.index_table'])


def test_zero_counters_under_pool_name_the_layer_and_the_fix(kinds, model):
    states = [random_state(model, 0, counter=0), random_state(model, 1, counter=0)]
    message = _merge_error(kinds, states)
    assert "'backbone.1'" in message and '--buffers mean' in message


def test_one_checkpoint_with_zero_counters_is_refused_not_silently_dropped(kinds, model):
    states = [random_state(model, 0, counter=10), random_state(model, 1, counter=0)]
    message = _merge_error(kinds, states)
    assert message.startswith('b.pth: ') and 'num_batches_tracked = 0' in message
    assert '--buffers mean' in message
    merged = merge_state_dicts(sources_of(states), kinds=kinds, buffer_policy='mean').state_dict
    expected = (states[0]['backbone.1.running_mean'] + states[1]['backbone.1.running_mean']) / 2
    assert torch.allclose(merged['backbone.1.running_mean'], expected)


def test_a_single_checkpoint_is_not_a_merge(kinds, model):
    assert 'at least two checkpoints, got 1 (a.pth)' in _merge_error(kinds, [random_state(model, 0)])


def test_an_unknown_buffer_policy_lists_the_choices(kinds, model):
    message = _merge_error(kinds, [random_state(model, 0), random_state(model, 1)], buffer_policy='median')
    assert "--buffers 'median'" in message and 'pool, mean, first' in message


@pytest.mark.parametrize('weights, fragment', [
    ([1.0, -2.0], '-2.0 for b.pth'), ([0.0, 1.0], '0.0 for a.pth'),
    ([1.0], '1 value(s) for 2 checkpoint(s)')])
def test_bad_weights_are_refused_before_anything_loads(kinds, model, weights, fragment):
    tracker = LoadTracker([random_state(model, 0), random_state(model, 1)], NAMES)
    with pytest.raises(MergeError, match='--weights') as caught:
        merge_state_dicts(tracker.sources(), kinds=kinds, weights=weights)
    assert fragment in str(caught.value) and tracker.calls == []


def test_shared_init_passes_silently():
    assert check_lineage([('a.pth', {'init_sha256': 'ab' * 32}), ('b.pth', {'init_sha256': 'ab' * 32})]) == []


def test_different_inits_are_an_error_unless_allowed():
    metas = [('a.pth', {'init_sha256': '1' * 64}), ('b.pth', {'init_sha256': '2' * 64}),
             ('c.pth', {'init_sha256': '1' * 64})]
    with pytest.raises(MergeError) as caught:
        check_lineage(metas)
    message = str(caught.value)
    assert '1' * 12 + ' in a.pth, c.pth' in message and '2' * 12 + ' in b.pth' in message
    assert '--allow-different-init' in message and '\n' not in message
    (warning,) = check_lineage(metas, allow_different_init=True)
    assert 'different inits' in warning and 'b.pth' in warning


def test_missing_lineage_is_a_warning_per_file():
    warnings = check_lineage([('a.pth', {'init_sha256': 'f' * 64}), ('b.pth', {}), ('c.pth', None)])
    assert len(warnings) == 2
    assert warnings[0].startswith('b.pth records no init_sha256') and warnings[1].startswith('c.pth')
