"""The segmentor helpers every runner-level step shares (mtda.models.segmentor)."""
import pytest
import torch
from mmengine.config import ConfigDict

from mtda.errors import CheckpointError
from mtda.models.segmentor import load_state_strict, segmentor_config, segmentor_of


class Wrapper(torch.nn.Module):
    """A UDA wrapper in miniature: the student under ``model``, a teacher beside it."""

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
        self.teacher = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))

    @property
    def student(self):
        return self.model


def test_a_uda_wrapper_gives_its_student_and_a_plain_model_itself():
    wrapper = Wrapper()
    assert segmentor_of(wrapper) == (wrapper.model, 'model.')
    assert segmentor_of(wrapper.teacher) == (wrapper.teacher, '')
    # the prefix addresses the student's entries inside the wrapper's state dict
    segmentor, prefix = segmentor_of(wrapper)
    assert {prefix + k for k in segmentor.state_dict()} <= set(wrapper.state_dict())


def test_segmentor_config_unwraps_a_uda_config():
    plain = ConfigDict(model=dict(type='EncoderDecoder', backbone=dict(type='ResNetV1c')))
    uda = ConfigDict(model=dict(type='DAFormerUDA', segmentor=plain.model))
    assert segmentor_config(plain) == plain.model == segmentor_config(uda)


def test_strict_load_fills_the_module_and_names_what_does_not_fit():
    source, target = Wrapper().model, Wrapper().model
    load_state_strict(target, source.state_dict(), 'a.pth')
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in target.state_dict().items())

    state = dict(source.state_dict())
    del state['1.running_mean']
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"a\.pth: .*1 missing keys, e\.g\. \['1\.running_mean'\]; "
                                              r"1 unexpected, e\.g\. \['extra\.weight'\].*; use the config"):
        load_state_strict(target, state, 'a.pth')
    state = dict(source.state_dict(), **{'0.weight': torch.zeros(3, 1, 1, 1)})
    with pytest.raises(CheckpointError, match=r"0\.weight has shape \(3, 1, 1, 1\), the model expects "
                                              r"\(2, 1, 1, 1\).*; retrain$"):
        load_state_strict(target, state, 'b.pth', fix='retrain')
