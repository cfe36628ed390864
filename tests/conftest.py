"""Shared pytest setup: make helper modules in tests/ (e.g. corpus_fixtures) importable, and
the fixtures several test files use."""

import sys
from pathlib import Path

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so tests are deterministic."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def low_labels(tmp_path_factory):
    """The tiny preset's prepared data with 30 % of the labels (an unlabelled stream exists)."""
    from sertutor.config import get_config
    from sertutor.pipeline import prepare_data

    cfg = get_config("tiny", train__label_fraction=0.3)
    return prepare_data(cfg, progress=False, data_dir=tmp_path_factory.mktemp("low_labels"))

