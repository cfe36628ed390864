"""benchmarks/semi_linear.py: the classical semi-supervised learners of issue #14's evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import semi_linear  # noqa: E402  (benchmarks/semi_linear.py)
# label spreading divides by the label mass of isolated graph nodes while it iterates
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

NAMES = np.array(["angry", "happy", "neutral", "sad"])


def blobs(n_per: int, *, seed: int, spread: float = 0.3):
    """Four well separated Gaussian clusters in 6-D, one per emotion: (x (n, 6), names (n,))."""
    rng = np.random.default_rng(seed)
    centres = np.eye(4, 6) * 4.0  # (4, 6)
    y = np.repeat(np.arange(4), n_per)
    return centres[y] + rng.normal(0, spread, (len(y), 6)), NAMES[y]


def split(*, scramble_unlabelled: bool = False) -> dict:
    x_lab, y_lab = blobs(1, seed=0)  # one labelled utterance per class
    x_unl, y_unl = blobs(30, seed=1)
    if scramble_unlabelled:
        y_unl = np.random.default_rng(2).permutation(y_unl)
    return {"labelled": (x_lab, y_lab), "unlabelled": (x_unl, y_unl),
            "test": blobs(10, seed=3), semi_linear.FIELD: blobs(5, seed=4)}


@pytest.mark.parametrize("method", ["self_training", "label_spreading"])
def test_semi_supervised_learners_never_read_the_hidden_labels(method):
    kw = {"threshold": 0.8, "neighbours": 5}
    a = semi_linear.fit_predict(method, split(), **kw)
    b = semi_linear.fit_predict(method, split(scramble_unlabelled=True), **kw)
    for part in a:
        assert np.array_equal(a[part], b[part])
        assert set(a[part]) <= set(NAMES)  # names, not class indices


def test_label_spreading_follows_clusters_when_they_exist():
    pred = semi_linear.fit_predict("label_spreading", split(), threshold=0.8, neighbours=5)
    x_te, y_te = split()["test"]
    assert np.mean(pred["test"] == y_te) > 0.95


def test_the_ceiling_reads_every_label():
    # with the unlabelled names scrambled, the all-labels ceiling learns noise
    clean = semi_linear.fit_predict("lr_all", split(), threshold=0.8, neighbours=5)
    noisy = semi_linear.fit_predict("lr_all", split(scramble_unlabelled=True), threshold=0.8,
                                    neighbours=5)
    y_te = split()["test"][1]
    assert np.mean(clean["test"] == y_te) > np.mean(noisy["test"] == y_te)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        semi_linear.fit_predict("kmeans", split(), threshold=0.8, neighbours=5)


def test_gains_are_paired_by_fold_and_seed():
    rows = [{"method": m, "fold": f, "seed": 0, "uar": u}
            for m, f, u in (("lr", 0, 0.50), ("lr", 1, 0.70),
                            ("label_spreading", 0, 0.40), ("label_spreading", 1, 0.80))]
    # differences -0.10 and +0.10: mean 0, sd 0.1414, se 0.10, one win
    assert semi_linear.paired(rows, "label_spreading", "uar") == "+0.0 ± 10.0 (1/2)"
