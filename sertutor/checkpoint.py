"""Checkpoints and the model factory: build a model from its config, save a run's metadata with
it, load it back.

A checkpoint (written by :class:`sertutor.train.Trainer`, :func:`save_checkpoint`) holds the
config as JSON, the weights (the best validation weights apart), the optimiser state and
``meta``: what a trained model needs to be used on new audio, written by :func:`run_meta` and
read by :func:`sertutor.data.prepare.segments_for_model`:

==========================  ===============================================================
``label_maps``              emotion, speaker and gender indices
                            (:class:`~sertutor.data.labels.LabelMaps`)
``norm_stats``              corpus role (``emotion``, ``aux``, cross-corpus specs) -> the
                            per-corpus :class:`~sertutor.features.NormStats` of the run
``specs``                   corpus role -> corpus spec the run trained on
``normalise``               ``"corpus"`` or ``"speaker"`` (``features.normalise``)
``speaker_prior_utts``      the shrinkage of per-speaker statistics
``run``                     corpora and fold (:func:`sertutor.jobs.run`), checked on resume
==========================  ===============================================================

:func:`load_trained` rebuilds the model (:func:`build_model`) with those weights, loading
with ``weights_only=True``, so a checkpoint cannot run code.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from .config import Config
from .models import MultiTaskAAE
from .train import CHECKPOINT_FORMAT, load_checkpoint, resolve_device, save_checkpoint

if TYPE_CHECKING:
    from .data.prepare import PreparedData

__all__ = ["build_model", "load_trained", "run_meta", "save_checkpoint", "load_checkpoint",
           "CHECKPOINT_FORMAT"]


def build_model(config: Config, *, n_speakers: int) -> MultiTaskAAE:
    """The :class:`~sertutor.models.MultiTaskAAE` of ``config.model.variant``."""
    return MultiTaskAAE(model=config.model, features=config.features,
                        n_speakers=max(int(n_speakers), 1))


def run_meta(config: Config, data: PreparedData,
             run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` a run stores in its checkpoint (see the table above)."""
    return {"label_maps": data.label_maps.to_dict(),
            "norm_stats": {k: v.to_dict() for k, v in data.norm_stats.items()},
            "specs": data.specs,
            # how to normalise new audio for this model (see corpus_norm_stats)
            "normalise": config.features.normalise,
            "speaker_prior_utts": config.features.speaker_prior_utts,
            "run": dict(run_info or {})}


def load_trained(path: str | os.PathLike, *, device: str = "cpu"):
    """Rebuild a trained model from a checkpoint; returns ``(model, config, meta)``.

    The model holds the best validation weights when the run had a validation stream, and is
    in eval mode. Loading uses ``weights_only=True``: a checkpoint cannot run code.
    """
    dev = resolve_device(device)
    state = load_checkpoint(path, map_location=dev)
    for key in ("config", "meta", "model"):
        if key not in state:
            raise ValueError(f"{path} has no {key!r}: not a checkpoint written by sertutor "
                             "train (or written by an older version)")
    config = Config.from_dict(json.loads(state["config"]))
    meta = json.loads(state["meta"])
    n_speakers = len(meta.get("label_maps", {}).get("speakers", [])) or 1
    model = build_model(config, n_speakers=n_speakers).to(dev)
    try:
        model.load_state_dict(state["best_model"] if state.get("best_model") is not None
                              else state["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in first[1:] if ln.strip()), first[0] if first else "")
        raise ValueError(f"{path}: the weights do not fit the model its config describes "
                         f"({detail[:160]})") from None
    model.eval()
    return model, config, meta
