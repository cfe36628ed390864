"""Pretrained checkpoints shipped inside the package, so a notebook can skip training.

>>> from sertutor import pretrained
>>> model, config, meta = pretrained.load("classroom")          # doctest: +SKIP
>>> pretrained.recorded_metrics("classroom")["uar"]               # doctest: +SKIP

``classroom`` is the ``full`` model trained by ``sertutor train`` on the classroom synthetic
corpora (seed 0, label fraction 1.0); ``recorded_metrics`` gives what it scored on the held-out
speakers when it was made (``benchmarks/make_pretrained.py`` made both files).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data.manifest import emotion_labels
from ..storage import data_dir

# checkpoint, data.prepare, evaluate and jobs are imported in the functions that use them: they
# import torch (seconds), and ``sertutor tutorials grade`` / ``prepare`` import this module at
# start-up (through sertutor.teaching) without scoring or training a model.

__all__ = ["available", "load", "load_or_train", "path", "recorded_metrics", "rescore"]

_HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the shipped checkpoints."""
    return sorted(p.stem for p in _HERE.glob("*.pt"))


def path(name: str = "classroom") -> Path:
    """Path of a shipped checkpoint; ``ValueError`` listing the names if unknown."""
    p = _HERE / f"{name}.pt"
    if not p.is_file():
        raise ValueError(f"no pretrained checkpoint {name!r}; available: {available()}")
    return p


def load(name: str = "classroom", *, device: str = "cpu"):
    """Load a shipped model; returns ``(model, config, meta)`` like
    :func:`sertutor.checkpoint.load_trained` (weights-only loading)."""
    from ..checkpoint import load_trained  # torch: see the note at the top

    return load_trained(path(name), device=device)


def recorded_metrics(name: str = "classroom") -> dict:
    """The metrics the shipped checkpoint scored when it was made."""
    path(name)
    return json.loads((_HERE / f"{name}.json").read_text())


def rescore(name: str = "classroom", *, device: str = "cpu", return_metrics: bool = False):
    """Score a shipped model again on the held-out speakers it was tested on when it was made.

    Rebuilds that run's test fold from the embedded corpora (no auxiliary corpus is needed)
    and returns its UAR, which should equal ``recorded_metrics(name)["uar"]``; a different
    value means the installed packages compute different features or predictions.
    ``sertutor doctor`` runs this. With ``return_metrics``, returns ``(metrics, data)``.
    """
    from ..data.prepare import prepare_data  # torch: see the note at the top
    from ..evaluate import evaluate_segments

    model, config, _ = load(name, device=device)
    test = recorded_metrics(name)["test"]
    data = prepare_data(config, aux_corpus=None, fold=test["fold"], n_folds=test["n_folds"],
                        progress=False)
    metrics = evaluate_segments(model, data.test,
                                emotions=emotion_labels(config.model.n_emotions))
    return (metrics, data) if return_metrics else metrics["uar"]


def load_or_train(name: str = "classroom", *, train: bool = False, out_dir=None,
                  device: str = "cpu"):
    """The shipped model, or (``train=True``) the same run trained afresh: ``(model, config,
    meta)`` either way.

    Training runs what made the shipped checkpoint: ``sertutor train --preset NAME`` (the
    ``full`` model on the synthetic classroom corpora, seed 0), writing to ``out_dir``
    (default: ``runs/NAME`` in the data folder), replacing what an earlier call trained there
    (the same seeded run). A notebook's ``TRAIN_FROM_SCRATCH`` switch calls this with
    ``train=TRAIN_FROM_SCRATCH``.
    """
    if not train:
        return load(name, device=device)
    from ..checkpoint import load_trained  # torch: see the note at the top
    from ..jobs import run

    path(name)  # the name must be a shipped model's preset
    out = data_dir() / "runs" / name if out_dir is None else out_dir
    run(name, out_dir=out, device=device, overwrite=True)
    return load_trained(Path(out) / "checkpoint.pt", device=device)
