"""Fixtures for the merging tests (helpers live in merge_fixtures.py and segmentor_files.py).

``model``/``kinds``: a hand-built TinySegmentor. ``tiny_segmentor``, ``segmentor_kinds``,
``two_domain_config``, ``domain_files``: the real tiny SegFormer and checkpoint files fine-tuned from it.
"""
import pytest
import torch

from merge_fixtures import TinySegmentor
from mtda.datasets.label_maps import CLASSES
from mtda.io import atomic_save, weights_sha256
from mtda.merging import classify_state_dict_entries
from mtda.models.segmentor import batchnorm_types
from segmentor_files import fine_tuned
from support import TWO_DOMAINS


@pytest.fixture
def model() -> TinySegmentor:
    return TinySegmentor()


@pytest.fixture
def kinds(model):
    return classify_state_dict_entries(model)


@pytest.fixture(scope='module')
def two_domain_config(tmp_path_factory):
    from mtda.config import load_config
    path = tmp_path_factory.mktemp('cfg') / 'two_domains.py'
    path.write_text(TWO_DOMAINS)
    return load_config(str(path), work_dir=str(path.parent / 'work'))


@pytest.fixture(scope='module')
def tiny_segmentor(two_domain_config):
    from mmseg.apis import init_model
    torch.manual_seed(0)
    return init_model(two_domain_config, device='cpu')


@pytest.fixture(scope='module')
def segmentor_kinds(tiny_segmentor):
    return classify_state_dict_entries(tiny_segmentor, batchnorm_types=batchnorm_types())


@pytest.fixture(scope='module')
def domain_files(tmp_path_factory, tiny_segmentor, segmentor_kinds):
    """init.pth and two checkpoints fine-tuned from it, for cityscapes (n=10) and dark_zurich (n=30)."""
    folder = tmp_path_factory.mktemp('ckpts')
    init = {k: v.detach().clone() for k, v in tiny_segmentor.state_dict().items()}
    atomic_save(dict(state_dict=init, meta={}), folder / 'init.pth')
    init_sha = weights_sha256(init)
    paths = {}
    for name, seed, counter in (('cityscapes', 1, 10), ('dark_zurich', 2, 30)):
        state = fine_tuned(init, segmentor_kinds, seed, counter)
        meta = dict(init_sha256=init_sha, target_domain=name, classes=list(CLASSES))
        paths[name] = atomic_save(dict(state_dict=state, meta=meta), folder / f'{name}.pth')
    return paths
