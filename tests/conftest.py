"""Shared pytest setup: make helper modules in tests/ (e.g. corpus_fixtures) importable."""

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
