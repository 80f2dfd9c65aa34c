"""ZipIt!'s pure core: matching, fusion, feature correlations, BatchNorm re-estimation, partial zip.

The networks are small torch modules whose feature groups are written out by hand (as in
test_rebasin.py), so the expected values (a planted permutation, a model's own outputs, a
correlation computed with torch.corrcoef, BatchNorm statistics computed from the activations) come
from outside the code under test.
"""
import copy

import pytest
import torch
from torch import nn

from mtda.errors import MergeError
from mtda.merging.rebasin import SpecBuilder, permute_state, random_permutations
from mtda.merging.rebasin.weight_matching import match_weights
from mtda.merging.zipit import (collect_correlations, correlation_from_moments, feature_points,
                                recompute_batchnorm_statistics, split_at, zip_match, zip_models,
                                zip_state_dicts)
from small_convnet import small_convnet, small_convnet_spec

_net, _spec = small_convnet, small_convnet_spec


def _run(model, batch):
    model(batch)


def _batches(count=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, 8, 8, generator=generator) for _ in range(count)]


def _permuted(net, seed=5):
    torch.manual_seed(seed)
    perms = random_permutations(_spec(net))
    other = copy.deepcopy(net)
    other.load_state_dict(permute_state(net.state_dict(), _spec(net), perms))
    return other, perms


def _loaded(net, state):
    out = copy.deepcopy(net)
    out.load_state_dict(state)
    return out.eval()


def _correlated(width=4, models=2, samples=200, noise=0.1, seed=0):
    """Features of ``models`` models that are noisy copies of one set, model m's order ``orders[m]``."""
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(samples, width, generator=generator)
    orders = [torch.arange(width)] + [torch.randperm(width, generator=generator)
                                      for _ in range(models - 1)]
    features = torch.cat([base[:, order] + noise * torch.randn(samples, width, generator=generator)
                          for order in orders], dim=1)
    return torch.corrcoef(features.T), orders


# --- matching -----------------------------------------------------------------------------------

@pytest.mark.parametrize('models,alpha,beta', [(2, 1.0, 0.0), (3, 0.5, 0.0), (4, 0.3, 0.5),
                                               (2, 0.0, 0.0)])
def test_unmerge_rows_are_one_hot_and_merge_inverts_unmerge(models, alpha, beta):
    correlation, _ = _correlated(width=5, models=models)
    match = zip_match(correlation, models, alpha=alpha, beta=beta)
    assert match.unmerge.shape == (5 * models, 5) and match.merge.shape == (5, 5 * models)
    assert torch.equal(match.unmerge.sum(dim=1), torch.ones(5 * models, dtype=torch.float64))
    assert set(match.unmerge.unique().tolist()) == {0.0, 1.0}
    assert torch.allclose(match.merge @ match.unmerge, torch.eye(5, dtype=torch.float64))
    assert torch.allclose(match.merge.sum(dim=1), torch.ones(5, dtype=torch.float64))


def test_matching_finds_the_order_of_noisy_copies():
    correlation, orders = _correlated(width=6, models=3)
    match = zip_match(correlation, 3, alpha=0.0)
    # model m's feature k is base feature orders[m][k]; it must join the cluster of model 0's
    # feature orders[m][k], which is cluster orders[m][k] (clusters ordered by lowest index)
    for m, order in enumerate(orders):
        assert match.unmerge_of(m).argmax(dim=1).tolist() == order.tolist()
    assert match.within_model_merges() == 0


def test_beta_zero_forbids_and_beta_one_allows_merges_within_a_model():
    # model 0's features 0 and 1 are one signal; model 1's features are unrelated to model 0's
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(500, 1, generator=generator)
    features = torch.cat([a, a + 0.01 * torch.randn(500, 1, generator=generator),
                          torch.randn(500, 2, generator=generator)], dim=1)
    correlation = torch.corrcoef(features.T)
    assert zip_match(correlation, 2, beta=0.0).within_model_merges() == 0
    assert zip_match(correlation, 2, beta=1.0).within_model_merges() == 1


def test_merge_rows_weigh_members_by_the_model_weights():
    correlation, _ = _correlated(width=3, models=2)
    match = zip_match(correlation, 2, weights=[3.0, 1.0])
    # every cluster holds one feature of each model: weights 0.75 and 0.25
    assert sorted(match.merge[match.merge > 0].unique().tolist()) == [0.25, 0.75]


def test_correlation_from_moments_is_numpys_corrcoef_and_a_dead_feature_is_zero():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=generator, dtype=torch.float64)
    x[:, 3] = 2.0  # constant
    got = correlation_from_moments(x.sum(0), x.T @ x, 300)
    assert torch.allclose(got[:3, :3], torch.corrcoef(x[:, :3].T), atol=1e-10)
    assert torch.allclose(got[3, :3], torch.zeros(3, dtype=torch.float64), atol=1e-6)
    with pytest.raises(MergeError, match='at least two feature samples'):
        correlation_from_moments(x[0], torch.outer(x[0], x[0]), 1)


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_models=3), 'does not hold 3 models'),
    (dict(num_models=2, alpha=1.5), 'alpha 1.5 must be <= 1'),
    (dict(num_models=2, beta=-0.1), 'beta -0.1'),
])
def test_matching_options_out_of_range_are_refused(kwargs, message):
    correlation, _ = _correlated(width=4, models=2)
    num_models = kwargs.pop('num_models')
    with pytest.raises(MergeError, match=message):
        zip_match(correlation, num_models, **kwargs)


# --- fusion and feature correlations ----------------------------------------------------------

def test_zipping_a_model_with_itself_reproduces_its_outputs():
    net = _net(0)
    x = torch.randn(2, 3, 8, 8)
    zipped = zip_models([net, copy.deepcopy(net), copy.deepcopy(net)], _spec(net), _batches(),
                        _run, recompute_batchnorm=False)
    assert torch.allclose(_loaded(net, zipped.state_dict)(x), net(x), atol=1e-6)
    assert zipped.within_model_merges() == 0


def test_a_planted_permutation_is_found_and_undone():
    net = _net(0)
    other, perms = _permuted(net)
    x = torch.randn(2, 3, 8, 8)
    zipped = zip_models([net, other], _spec(net), _batches(), _run, alpha=0.0, beta=0.0,
                        recompute_batchnorm=False)
    rebasin = match_weights(net.state_dict(), other.state_dict(), _spec(net), seed=0)
    for group, perm in perms.items():  # other's feature k is net's feature perm[k]
        assert zipped.matches[group].unmerge_of(1).argmax(dim=1).tolist() == perm.tolist()
        # Git Re-Basin undoes the same permutation (what to apply to `other`: its inverse)
        assert rebasin.perms[group].tolist() == torch.argsort(perm).tolist()
    assert torch.allclose(_loaded(net, zipped.state_dict)(x), net(x), atol=1e-5)


def test_across_model_matches_only_reduce_to_permute_then_average_as_rebasin_does():
    net, other = _net(0), _net(1)
    spec = _spec(net)
    zipped = zip_models([net, other], spec, _batches(), _run, alpha=0.0, beta=0.0,
                        recompute_batchnorm=False)
    # the permutation ZipIt! found, applied to `other`, then the plain average of the parameters
    perms = {g: torch.argsort(m.unmerge_of(1).argmax(dim=1)) for g, m in zipped.matches.items()}
    for group in perms:  # a permutation: every cluster holds one feature of each model
        assert sorted(perms[group].tolist()) == list(range(spec.sizes[group]))
    aligned = permute_state(other.state_dict(), spec, perms)
    for key, value in net.state_dict().items():
        if key.endswith(('weight', 'bias')):
            assert torch.allclose(zipped.state_dict[key], (value + aligned[key]) / 2, atol=1e-6), key


def test_feature_correlations_are_those_of_the_readers_inputs():
    net, other = _net(0), _net(1)
    batches = _batches(2)
    points = feature_points(net, _spec(net))
    assert [p.module for p in points['h1']] == ['3'] and [p.module for p in points['h2']] == ['6']
    got = collect_correlations([net, other], points, batches, _run)
    # independently: layer 3's input is the output of the first ReLU
    feats = [torch.cat([m[:3](b).permute(0, 2, 3, 1).reshape(-1, 6) for b in batches])
             for m in (net, other)]
    expected = torch.corrcoef(torch.cat(feats, dim=1).T.double())
    assert torch.allclose(got["h1"].double(), expected, atol=1e-5)  # float32, as the reference


def test_a_group_no_layer_reads_is_refused_with_its_name():
    net = nn.Sequential(nn.Conv2d(3, 4, 1))
    b = SpecBuilder({k: v.shape for k, v in net.state_dict().items()})
    b.conv('0', 'out', None)
    with pytest.raises(MergeError, match="feature space 'out'"):
        feature_points(net, b.build())


def test_the_running_variance_is_pooled_as_a_mixture_before_re_estimation():
    net = _net(0)
    other = copy.deepcopy(net)
    with torch.no_grad():
        other[1].running_mean += 1.0
    # identity matches: cluster k holds feature k of each model
    match = zip_match(torch.eye(12, dtype=torch.float64).roll(6, dims=1)
                      + torch.eye(12, dtype=torch.float64).roll(-6, dims=1), 2)
    state = zip_state_dicts([net.state_dict(), other.state_dict()], _spec(net), {'h1': match})
    mean, var = net[1].running_mean.double(), net[1].running_var.double()
    assert torch.allclose(state['1.running_mean'].double(), mean + 0.5, atol=1e-6)
    # mixture of N(m, v) and N(m + 1, v): variance v + 1/4
    assert torch.allclose(state['1.running_var'].double(), var + 0.25, atol=1e-5)


def test_batchnorm_statistics_are_measured_again_on_the_batches():
    net = _net(0)
    batches = _batches(3)
    count = recompute_batchnorm_statistics(net, batches, _run)
    activations = torch.cat([net[0](b) for b in batches]).permute(1, 0, 2, 3).reshape(6, -1)
    assert count == 2 and not net.training
    assert torch.allclose(net[1].running_mean, activations.mean(dim=1), atol=1e-5)
    assert net[1].momentum == 0.1  # restored


# --- partial zip --------------------------------------------------------------------------------

def test_a_partial_zip_keeps_each_models_tail_reading_the_zipped_trunk():
    net = _net(0)
    other, _ = _permuted(net)
    x = torch.randn(2, 3, 8, 8)
    zipped = zip_models([net, other], _spec(net), _batches(), _run, alpha=0.0, until='3',
                        recompute_batchnorm=False)
    assert set(zipped.matches) == {'h1'}
    assert list(zipped.tails[1]) == [k for k in net.state_dict() if k.split('.')[0] in '346']
    # model 1's own tail on the zipped trunk computes model 1 (= net, a reordering of it)
    assert torch.allclose(_loaded(net, {**zipped.state_dict, **zipped.tails[1]})(x), net(x),
                          atol=1e-5)


def test_a_cut_inside_a_feature_space_or_before_everything_is_refused():
    net = _net(0)
    keys = list(net.state_dict())
    with pytest.raises(MergeError, match="cuts feature space 'h1'"):
        split_at(_spec(net), keys, '1')  # the conv writing h1 is before, its BatchNorm after
    with pytest.raises(MergeError, match='no entry of the model starts with it'):
        split_at(_spec(net), keys, 'decode_head')
    with pytest.raises(MergeError, match='nothing comes before it'):
        split_at(_spec(net), keys, '0')


def test_zip_models_refuses_one_model_or_no_images():
    net = _net(0)
    with pytest.raises(MergeError, match='two or more models'):
        zip_models([net], _spec(net), _batches(), _run)
    with pytest.raises(MergeError, match='got none'):
        zip_models([net, _net(1)], _spec(net), [], _run)
    with pytest.raises(MergeError, match='one positive weight per model'):
        zip_models([net, _net(1)], _spec(net), _batches(), _run, weights=[1.0])


def test_a_greedy_order_that_leaves_no_allowed_merge_merges_the_most_correlated_clusters():
    # a0-b0, a1-c0, b1-c1 merge first; each pair of the three clusters then shares a model, so
    # beta = 0 allows nothing and one merge is still needed: the most correlated pair of clusters
    # by complete linkage on the plain correlations ({a0, b0} with {b1, c1}: min 0.3)
    names = ['a0', 'a1', 'b0', 'b1', 'c0', 'c1']
    correlation = torch.full((6, 6), 0.1, dtype=torch.float64)
    for (x, y), value in {('a0', 'b0'): 0.9, ('a1', 'c0'): 0.8, ('b1', 'c1'): 0.7,
                          ('a0', 'b1'): 0.3, ('a0', 'c1'): 0.3, ('b0', 'b1'): 0.3,
                          ('b0', 'c1'): 0.3}.items():
        i, j = names.index(x), names.index(y)
        correlation[i, j] = correlation[j, i] = value
    correlation.fill_diagonal_(1.0)
    match = zip_match(correlation, 3, beta=0.0)
    members = [sorted(names[k] for k in torch.nonzero(match.unmerge[:, j]).flatten().tolist())
               for j in range(2)]
    assert members == [['a0', 'b0', 'b1', 'c1'], ['a1', 'c0']]
    assert match.within_model_merges() == 1
    assert torch.allclose(match.merge @ match.unmerge, torch.eye(2, dtype=torch.float64))


def test_a_read_beyond_max_positions_keeps_every_kth_position_in_every_model():
    from mtda.merging.zipit.features import FeaturePoint
    x = torch.randn(1, 5, 100, 100)
    point = FeaturePoint('m', 1, offset=1, size=3)
    rows = point.take(x, max_positions=4096)
    expected = x[:, 1:4].permute(0, 2, 3, 1).reshape(-1, 3)[::3]  # ceil(10000 / 4096) = 3
    assert rows.shape == (3334, 3) and torch.equal(rows, expected)
    assert torch.equal(point.take(x[:, :, :10, :10]), x[:, 1:4, :10, :10].permute(0, 2, 3, 1)
                       .reshape(-1, 3))
