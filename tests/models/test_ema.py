"""EMA teacher: the alpha schedule and the name-matched, parameter-only update."""
import pytest
import torch
from torch import nn

from mtda.models.uda.ema import disable_stochastic_layers_, ema_alpha, update_ema_


def test_alpha_schedule_warms_up_then_saturates():
    # 1 - 1/(t+1): 0, 1/2, 2/3, ..., 9/10 at t=9; 0.999 from t=999 on
    assert [ema_alpha(t) for t in range(4)] == pytest.approx([0.0, 0.5, 2 / 3, 0.75])
    assert ema_alpha(9) == pytest.approx(0.9)
    assert ema_alpha(999) == pytest.approx(0.999)
    assert ema_alpha(10_000) == 0.999
    assert ema_alpha(5, alpha=0.5) == 0.5
    with pytest.raises(ValueError):
        ema_alpha(-1)


class _WB(nn.Module):
    """Two same-shaped parameters registered as w, b (or b, w), and a BatchNorm."""

    def __init__(self, w, b, order=('w', 'b')):
        super().__init__()
        values = dict(w=w, b=b)
        for name in order:
            setattr(self, name, nn.Parameter(torch.tensor(values[name])))
        self.bn = nn.BatchNorm1d(2)


def test_two_parameter_update_by_hand():
    teacher = _WB([1.0, 2.0], [10.0, 20.0])
    student = _WB([3.0, 6.0], [0.0, 4.0])
    update_ema_(teacher, student, alpha=0.75)
    # 0.75 * teacher + 0.25 * student
    assert teacher.w.tolist() == pytest.approx([1.5, 3.0])
    assert teacher.b.tolist() == pytest.approx([7.5, 16.0])
    assert student.w.tolist() == [3.0, 6.0]  # the student is only read


def test_parameters_are_matched_by_name_not_position():
    teacher = _WB([1.0, 2.0], [10.0, 20.0], order=('b', 'w'))
    student = _WB([3.0, 6.0], [0.0, 4.0], order=('w', 'b'))
    assert [n for n, _ in teacher.named_parameters()][:2] == ['b', 'w']
    update_ema_(teacher, student, alpha=0.5)
    assert teacher.w.tolist() == pytest.approx([2.0, 4.0])
    assert teacher.b.tolist() == pytest.approx([5.0, 12.0])


def test_alpha_zero_copies_and_buffers_are_untouched():
    teacher = _WB([1.0, 2.0], [10.0, 20.0])
    student = _WB([3.0, 6.0], [0.0, 4.0])
    student.bn.running_mean.fill_(7.0)
    student.bn.num_batches_tracked.fill_(3)
    update_ema_(teacher, student, alpha=ema_alpha(0))
    assert torch.equal(teacher.w, student.w) and torch.equal(teacher.b, student.b)
    assert torch.equal(teacher.bn.running_mean, torch.zeros(2))
    assert int(teacher.bn.num_batches_tracked) == 0


def test_mismatched_models_are_refused():
    with pytest.raises(KeyError):
        update_ema_(_WB([1.0], [1.0]), nn.Linear(1, 1), alpha=0.5)
    with pytest.raises(ValueError):
        update_ema_(_WB([1.0], [1.0]), _WB([1.0, 2.0], [1.0]), alpha=0.5)


class DropPath(nn.Module):  # stands for timm's / mmcv's layer of that name
    def forward(self, x):
        return x


def test_disable_stochastic_layers_keeps_train_mode_elsewhere():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2), DropPath(),
                          nn.Dropout2d(0.1))
    model.train()
    assert disable_stochastic_layers_(model) == 3
    assert not model[1].training and not model[3].training and not model[4].training
    assert model.training and model[2].training  # BatchNorm keeps batch statistics


def test_one_multi_tensor_update_equals_a_lerp_per_parameter_bit_for_bit():
    """The fused update (one _foreach_lerp_) against the straightforward loop it replaces, on a
    real conv model with parameters of many shapes and a float64 teacher."""
    torch.manual_seed(0)

    def net():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1, groups=4),
                             nn.Linear(5, 7))
    student, teacher = net(), net()
    reference = net()
    reference.load_state_dict(teacher.state_dict())
    for alpha in (0.0, 0.5, 0.973, 0.999):
        update_ema_(teacher, student, alpha=alpha)
        with torch.no_grad():
            for (_, ref), (_, stu) in zip(reference.named_parameters(), student.named_parameters()):
                ref.lerp_(stu, 1.0 - alpha)
        for (name, fused), (_, ref) in zip(teacher.named_parameters(), reference.named_parameters()):
            assert torch.equal(fused, ref), (alpha, name)
        with torch.no_grad():
            for param in student.parameters():
                param.add_(torch.randn_like(param))
    wide = net().double()  # a float64 teacher takes the float32 student's values cast up
    before = wide[0].weight.detach().clone()
    update_ema_(wide, student, alpha=0.5)
    assert wide[0].weight.dtype == torch.float64
    assert torch.allclose(wide[0].weight, (before + student[0].weight.double()) / 2,
                          rtol=0, atol=1e-15)
