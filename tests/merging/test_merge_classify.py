"""Entry kinds come from the module tree, and prefix filters select whole modules."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mtda.errors import MergeError
from mtda.merging import (BatchNormKeys, EntryKind, batchnorm_layers, classify_state_dict_entries,
                          filter_by_prefix)

P, MEAN, VAR, COUNT, OTHER = (EntryKind.PARAMETER, EntryKind.BN_MEAN, EntryKind.BN_VAR, EntryKind.BN_COUNTER,
                              EntryKind.OTHER_BUFFER)


class WithBuffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(2))
        self.register_buffer('table', torch.arange(4))
        self.register_buffer('scratch', torch.zeros(3), persistent=False)
        # Named like BN statistics, but this is not a BatchNorm module: the names alone decide nothing.
        self.register_buffer('running_mean', torch.zeros(2))


class MyBatchNorm(_BatchNorm):
    """A norm built on torch's BatchNorm base class, as mmcv/mmseg norms are."""


class LookAlikeNorm(nn.Module):
    """Holds BatchNorm's buffers without subclassing it (like mmcv's MMSyncBN)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('running_mean', torch.zeros(2))
        self.register_buffer('running_var', torch.ones(2))
        self.register_buffer('num_batches_tracked', torch.tensor(0))


def test_every_state_dict_entry_is_classified_from_the_module_tree():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.SyncBatchNorm(2), WithBuffers(),
                          nn.LayerNorm(2), nn.BatchNorm1d(2, track_running_stats=False), MyBatchNorm(2),
                          nn.InstanceNorm2d(2, track_running_stats=True))

    def batchnorm(i):
        return {f'{i}.weight': P, f'{i}.bias': P, f'{i}.running_mean': MEAN, f'{i}.running_var': VAR,
                f'{i}.num_batches_tracked': COUNT}

    expected = {
        '0.weight': P, '0.bias': P,
        **batchnorm(1),
        **batchnorm(2),
        '3.scale': P, '3.table': OTHER, '3.running_mean': OTHER,
        '4.weight': P, '4.bias': P,
        '5.weight': P, '5.bias': P,
        **batchnorm(6),
        # InstanceNorm is not a BatchNorm: its tracked statistics have no pooling rule.
        '7.running_mean': OTHER, '7.running_var': OTHER, '7.num_batches_tracked': OTHER,
    }
    kinds = classify_state_dict_entries(model)
    assert kinds == expected
    assert list(kinds) == list(model.state_dict())  # state-dict order; the non-persistent buffer is absent


def test_a_shared_module_is_classified_under_each_of_its_names():
    norm = nn.BatchNorm2d(2)
    kinds = classify_state_dict_entries(nn.ModuleDict({'a': norm, 'b': norm}))
    assert kinds['a.running_var'] is VAR and kinds['b.running_var'] is VAR
    assert set(kinds) == set(nn.ModuleDict({'a': norm, 'b': norm}).state_dict())


def test_a_root_batchnorm_has_unprefixed_keys():
    assert classify_state_dict_entries(nn.BatchNorm1d(3))['num_batches_tracked'] is COUNT


def test_callers_can_register_norms_that_do_not_subclass_batchnorm():
    model = nn.Sequential(LookAlikeNorm())
    assert classify_state_dict_entries(model)['0.running_var'] is OTHER
    kinds = classify_state_dict_entries(model, batchnorm_types=(_BatchNorm, LookAlikeNorm))
    assert kinds == {'0.running_mean': MEAN, '0.running_var': VAR, '0.num_batches_tracked': COUNT}


def test_prefix_filter_matches_whole_module_names():
    entries = {'backbone.conv.weight': 1, 'backbone2.conv.weight': 2, 'decode_head.conv_seg.weight': 3,
               'auxiliary_head.conv_seg.weight': 4}
    assert filter_by_prefix(entries, include=['backbone']) == {'backbone.conv.weight': 1}
    assert filter_by_prefix(entries, include=['backbone.']) == {'backbone.conv.weight': 1}
    assert filter_by_prefix(entries, exclude=['decode_head', 'auxiliary_head']) == {
        'backbone.conv.weight': 1, 'backbone2.conv.weight': 2}


def test_prefix_filter_that_selects_nothing_lists_the_modules_there_are():
    with pytest.raises(MergeError, match=r"include=\['encoder'\].*'backbone', 'decode_head'"):
        filter_by_prefix({'backbone.w': 1, 'decode_head.w': 2}, include=['encoder'])


def test_batchnorm_entries_group_into_layers(kinds):
    assert batchnorm_layers(kinds) == {
        'backbone.1': BatchNormKeys('backbone.1.running_mean', 'backbone.1.running_var',
                                    'backbone.1.num_batches_tracked'),
        'decode_head.bn': BatchNormKeys('decode_head.bn.running_mean', 'decode_head.bn.running_var',
                                        'decode_head.bn.num_batches_tracked')}


def test_a_layer_missing_a_statistic_is_an_error(kinds):
    del kinds['decode_head.bn.num_batches_tracked']
    with pytest.raises(MergeError, match=r"'decode_head\.bn' has no num_batches_tracked"):
        batchnorm_layers(kinds)
