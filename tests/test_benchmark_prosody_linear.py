"""benchmarks/prosody_linear.py: log-mel statistics against prosodic descriptors (issue #14)."""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import prosody_linear  # noqa: E402  (benchmarks/prosody_linear.py)

from sertutor.features import PROSODY_NAMES  # noqa: E402
from sertutor.features import prosody as features_prosody  # noqa: E402


def _level(y, *, sample_rate):
    """pYIN's cheap stand-in: the utterance's level in dB, then its peak, repeated."""
    level = 10 * np.log10(np.mean(y ** 2) + 1e-10)
    return np.resize([level, float(np.abs(y).max())], len(PROSODY_NAMES)).astype(np.float32)


def test_each_feature_set_is_scored_on_the_same_split(tmp_path, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one process: worker processes run real pYIN
    monkeypatch.setattr(features_prosody, "prosody_descriptors", _level)
    args = Namespace(preset="tiny", setting="both_ema", fraction=0.3, folds=[0], seeds=[0])
    rows = prosody_linear.run(args)
    assert sorted((r["feature"], r["train"]) for r in rows) == sorted(
        (f, t) for f in prosody_linear.FEATURES for t in ("fraction", "all"))
    assert all(0.0 <= r["uar"] <= 1.0 and 0.0 <= r["cross_uar"] <= 1.0 for r in rows)
    # the descriptors were cached for both corpora, z-scored within each speaker
    tables = prosody_linear.descriptor_tables("tiny")
    emotion = np.stack(list(tables["emotion"].values()))
    assert emotion.shape[1] == len(PROSODY_NAMES) and abs(emotion[:, 0].mean()) < 1e-4
    assert len(list((tmp_path / "features").glob("prosody-*.npz"))) == 2


def test_gains_are_paired_with_logmel_trained_on_the_same_utterances():
    rows = [{"feature": f, "train": t, "fold": k, "seed": 0, "uar": u}
            for f, t, k, u in (("logmel", "fraction", 0, 0.50), ("logmel", "fraction", 1, 0.60),
                               ("prosody", "fraction", 0, 0.70), ("prosody", "fraction", 1, 0.60),
                               ("logmel", "all", 0, 0.90), ("prosody", "all", 0, 0.10),
                               ("logmel", "all", 1, 0.90), ("prosody", "all", 1, 0.10))]
    # fraction: differences +0.2 and 0: mean 0.1, se 0.1, one win; "all" rows never mix in
    assert prosody_linear.paired(rows, "prosody", "fraction", "uar") == "+10.0 ± 10.0 (1/2)"
