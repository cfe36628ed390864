"""benchmarks/method_screen.py: which linear reference a setting is paired with."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import method_screen  # noqa: E402  (benchmarks/method_screen.py)


def test_a_setting_with_its_own_linear_rows_uses_them():
    assert method_screen._linear_source("speaker", {"speaker", "both"}) == "speaker"


def test_a_training_change_shares_the_linear_rows_of_its_features():
    # both_bs48 changes only the batch size: the linear model of `both` reads the same input
    assert method_screen._linear_source("both_bs48", {"today", "both"}) == "both"
    # `speaker` differs from `both` only in the network's pooling: the same linear model
    assert method_screen._linear_source("speaker", {"both", "stats"}) == "both"


def test_other_features_never_borrow_a_reference():
    # `today` normalises per corpus: the rows of `both` (per speaker) are not its reference
    assert method_screen._linear_source("today", {"both"}) == "today"
    assert method_screen._linear_source("today", {"both", "stats"}) == "stats"
    # a change of the segmentation is a change of the features: no borrowing (conservative)
    assert method_screen._linear_source("both_seg192", {"both"}) == "both_seg192"
