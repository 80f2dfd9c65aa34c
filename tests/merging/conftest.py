"""Fixtures for the merging tests (helpers live in merge_fixtures.py)."""
import pytest

from merge_fixtures import TinySegmentor
from mtda.merging import classify_state_dict_entries


@pytest.fixture
def model() -> TinySegmentor:
    return TinySegmentor()


@pytest.fixture
def kinds(model):
    return classify_state_dict_entries(model)
