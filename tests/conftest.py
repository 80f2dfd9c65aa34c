"""Shared fixtures: the miniature synthetic datasets, generated and converted once per session."""
import os
import sys
from pathlib import Path

import pytest

# The studies under experiments/ are not part of the installed package: import them from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if os.environ.get('PYTEST_XDIST_WORKER'):
    # Under pytest-xdist (the README's `-n auto`) the workers already fill the cores: one intra-op
    # thread per worker and per tool it starts, since OpenMP threads waiting on a core another
    # worker holds cost far more than they give. Set before anything imports torch.
    os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = '1'


def pytest_configure(config):
    config.addinivalue_line('markers', 'first: collected before the other files')


def pytest_collection_modifyitems(items):
    """The files marked ``first`` first (a stable sort: files stay whole and in order). The main-job
    test runs for minutes; under xdist (pytest.ini sends files in collection order) it then starts
    at once instead of last, when the other workers have run out of files."""
    items.sort(key=lambda item: item.get_closest_marker('first') is None)


@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory) -> Path:
    """A folder holding ``data/`` with all six tiny synthetic datasets, labels converted."""
    from mtda.datasets.converters import convert_all
    from mtda.datasets.synthetic import make_synthetic_datasets
    root = tmp_path_factory.mktemp('tiny')
    make_synthetic_datasets(root / 'data', size='tiny', seed=0, progress=False)
    convert_all(root / "data", verbose=False)
    return root


@pytest.fixture(scope='module')
def one_torch_thread():
    """In-process runs of the tiny model: it gains nothing from threads, and two OpenMP threads on a
    busy 2-core machine cost 10x (modules opt in with ``pytestmark``)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
