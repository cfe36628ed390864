"""From corpus specs to a trained model and its metrics, in the paper's setting: the names in
one place.

This module only re-exports; each name lives in the layer of its concern, where a reader finds
its code:

=====================================  ===========================================================
:mod:`sertutor.data.prepare`           :func:`prepare_data` (corpus specs -> features ->
                                       normalisation statistics -> segments, split speaker-
                                       independently: what one run trains and tests on),
                                       :class:`PreparedData`, :func:`fit_normaliser`,
                                       :data:`NORMALISATIONS`, :func:`corpus_norm_stats` and
                                       :func:`segments_for_model` (the same path for a trained
                                       model), :func:`prepare_corpora` (corpora on disk)
:mod:`sertutor.checkpoint`             :func:`build_model` (the model factory),
                                       :func:`load_trained` (a model from its checkpoint)
:mod:`sertutor.evaluate`               :func:`evaluate_all` (every held-out set of a run)
:mod:`sertutor.jobs`                   :func:`train_and_evaluate` (train one model, return its
                                       metrics), :func:`run` (``sertutor train``: a run folder),
                                       :func:`evaluate_checkpoint` (``sertutor evaluate``)
=====================================  ===========================================================

``from sertutor.pipeline import prepare_data, train_and_evaluate``, as the tutorials write it,
keeps working; new code may import from the modules above.
"""

from __future__ import annotations

from .checkpoint import build_model, load_trained
from .data.prepare import (NORMALISATIONS, ModelSegments, PreparedData, corpus_norm_stats,
                           fit_normaliser, prepare_corpora, prepare_data, segments_for_model)
from .evaluate import evaluate_all
from .jobs import evaluate_checkpoint, run, train_and_evaluate

__all__ = ["PreparedData", "prepare_data", "prepare_corpora", "build_model", "train_and_evaluate",
           "load_trained", "corpus_norm_stats", "fit_normaliser", "NORMALISATIONS",
           "evaluate_all", "segments_for_model", "ModelSegments", "run", "evaluate_checkpoint"]
