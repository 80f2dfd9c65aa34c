"""Routing criteria on hand-built tensors and models (docs/routing.md, the test properties of the
routing proposal): the numbers are computed independently here."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from mtda.routing.criteria import (ChannelMoments, bn_statistics_distance, gaussian_kl,
                                   kl_to_anchor, normalised_entropy)
from mtda.routing.report import candidate_names, render_routing_markdown, routing_record
from mtda.routing.scoring import BNInputRecorder, RoutingScores


def test_pooled_moments_do_not_depend_on_order_or_batching():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 5, 4) * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 3.0
    whole, parts, reordered = ChannelMoments(), ChannelMoments(), ChannelMoments()
    whole.update(x)
    for chunk in (x[:1], x[1:4], x[4:]):
        part = ChannelMoments()
        part.update(chunk)
        parts.merge(part)
    reordered.update(x[torch.randperm(6)])
    mean, var = whole.mean_var()
    flat = x.transpose(0, 1).reshape(3, -1).double()
    assert torch.allclose(mean, flat.mean(1)) and torch.allclose(var, flat.var(1, unbiased=False))
    for other in (parts, reordered):
        assert torch.allclose(other.mean_var()[0], mean, atol=1e-12)
        assert torch.allclose(other.mean_var()[1], var, atol=1e-12)


def test_gaussian_kl_matches_its_closed_form_and_is_zero_for_equal_gaussians():
    # KL(N(1, 4) || N(0, 1)) = 0.5 * (log(1/4) + (4 + 1) / 1 - 1)
    value = gaussian_kl(torch.tensor(1.0), torch.tensor(4.0), torch.tensor(0.0), torch.tensor(1.0))
    assert value.item() == pytest.approx(0.5 * (math.log(0.25) + 5.0 - 1.0))
    assert gaussian_kl(torch.tensor(2.0), torch.tensor(3.0), torch.tensor(2.0),
                       torch.tensor(3.0)).item() == 0.0


def _expert(mean: float, std: float) -> nn.Module:
    """A conv-free expert whose only BN stored N(mean, std²) per channel."""
    model = nn.Sequential(nn.BatchNorm2d(2), nn.Conv2d(2, 2, 1))
    model[0].running_mean.fill_(mean)
    model[0].running_var.fill_(std ** 2)
    return model.eval()


def _bn_distance(model, images) -> float:
    recorder = BNInputRecorder(model)
    with recorder.recording():
        for image in images:
            model(image)
            recorder.take_frame()
    return recorder.distance(recorder.pooled)


def test_bn_distance_picks_the_expert_whose_statistics_the_images_follow():
    torch.manual_seed(0)
    domain_a, domain_b = _expert(0.0, 1.0), _expert(3.0, 2.0)
    images = [torch.randn(1, 2, 32, 32) * 2.0 + 3.0 for _ in range(4)]  # drawn as domain B
    distances = [_bn_distance(m, images) for m in (domain_a, domain_b)]
    assert distances[1] < 0.01 < distances[0]
    # and the distance of A is the closed form KL(N(3, 4) || N(0, 1)), up to sampling
    assert distances[0] == pytest.approx(0.5 * (math.log(1 / 4) + 4 + 9 - 1), rel=0.05)
    # an expert whose running statistics are the moments of these very images: distance 0
    recorder = BNInputRecorder(domain_b)
    with recorder.recording():
        for image in images:
            domain_b(image)
            recorder.take_frame()
    mean, var = recorder.pooled['0'].mean_var()
    exact = _expert(0.0, 1.0)
    exact[0].running_mean.copy_(mean)
    exact[0].running_var.copy_(var)
    assert _bn_distance(exact, images) == pytest.approx(0.0, abs=1e-6)
    # a planted shift grows the distance
    shifted = [image + 1.0 for image in images]
    assert _bn_distance(domain_b, shifted) > distances[1] + 0.1
    with pytest.raises(ValueError, match='layers differ'):
        bn_statistics_distance({'a': (torch.zeros(2), torch.ones(2))},
                               {'b': (torch.zeros(2), torch.ones(2))}, eps={'a': 1e-5})


def test_entropy_is_one_for_uniform_and_zero_for_one_hot_predictions():
    uniform = torch.full((19, 4, 5), 1 / 19)
    one_hot = torch.nn.functional.one_hot(torch.randint(0, 19, (4, 5)), 19).permute(2, 0, 1).float()
    assert torch.allclose(normalised_entropy(uniform), torch.ones(4, 5))
    assert torch.equal(normalised_entropy(one_hot), torch.zeros(4, 5))


def test_agreement_is_zero_for_the_anchor_itself_and_the_kl_otherwise():
    anchor = torch.tensor([[0.5], [0.5]])
    other = torch.tensor([[0.9], [0.1]])
    assert kl_to_anchor(anchor, anchor).item() == 0.0
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_to_anchor(anchor, other).item() == pytest.approx(expected)


def _scores(domain_bn, frame_bn, confusion=None):
    scores = RoutingScores(['a', 'b', 'c'], ['f0', 'f1'])
    scores.domain = {'bn': np.asarray(domain_bn, dtype=float)}
    scores.per_frame = {'bn': np.asarray(frame_bn, dtype=float)}
    scores.confusion = confusion
    return scores


def test_ties_go_to_the_first_candidate_and_per_frame_routing_scores_each_frame():
    scores = _scores([0.2, 0.1, 0.1], [[0.3, 0.3, 0.3], [0.5, 0.6, 0.1]])
    assert scores.choose('bn') == 1  # b and c tie: the first of them
    assert scores.choose_per_frame('bn').tolist() == [0, 2]
    # mIoU of routing frame 0 to a and frame 1 to c: the chosen confusions summed
    confusion = np.zeros((2, 3, 2, 2), dtype=np.int64)
    confusion[0, 0] = [[4, 0], [0, 4]]  # a is right on frame 0
    confusion[1, 2] = [[2, 2], [0, 4]]  # c on frame 1: class 0 IoU 2/4, class 1 IoU 4/6
    confusion[1, 0] = [[0, 4], [4, 0]]
    scores.confusion = confusion
    # summed: [[6, 2], [0, 8]]: IoU 6/8 and 8/10
    assert scores.miou(np.array([0, 2])) == pytest.approx(100 * (6 / 8 + 8 / 10) / 2)
    record = routing_record(scores, criterion='bn', files={'a': 'A.pth', 'b': 'B.pth',
                                                           'c': 'C.pth'}, per_frame=True)
    assert record['chosen'] == 'b' and record['frame_choices'] == {'f0': 'a', 'f1': 'c'}
    table = render_routing_markdown(record)
    assert '| b | **0.1000** | 0 |' in table and '| c | 0.1000 | 1 |' in table


def test_candidate_names_come_from_the_run_folders_and_stay_unique():
    names = candidate_names(['w/stage_one/idd/weights/final.pth', 'x/stage_one/idd/weights/final.pth',
                             'cs.pth'], ['w/merged/pool/merged.pth'])
    assert names == {'idd': 'w/stage_one/idd/weights/final.pth',
                     'idd_2': 'x/stage_one/idd/weights/final.pth', 'cs': 'cs.pth',
                     'pool': 'w/merged/pool/merged.pth'}
