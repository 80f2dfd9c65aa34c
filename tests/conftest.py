"""Shared fixtures: the miniature synthetic datasets, generated and converted once per session."""
from pathlib import Path

import pytest


@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory) -> Path:
    """A folder holding ``data/`` with all six tiny synthetic datasets, labels converted."""
    from mtda.datasets.converters import convert_all
    from mtda.datasets.synthetic import make_synthetic_datasets
    root = tmp_path_factory.mktemp('tiny')
    make_synthetic_datasets(root / 'data', size='tiny', seed=0, progress=False)
    convert_all(root / "data", verbose=False)
    return root
