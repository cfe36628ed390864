"""Evaluation: UAR, WA, macro-F1, confusion matrices, CCC, and segment-to-utterance pooling.

SER papers report two accuracies, because emotion corpora are imbalanced:

- **WA** (weighted accuracy) is plain accuracy over utterances: big classes weigh more.
- **UAR** (unweighted average recall) is the mean of the per-class recalls: every class counts
  the same, so always answering "neutral" scores 1/K, not the share of neutral utterances.

Dimensional emotion (arousal, valence) is scored as binned classes (UAR over low/mid/high) and
as regression by Lin's concordance correlation coefficient (CCC), which punishes a shift or a
scale error that Pearson's r forgives.

The model sees fixed-length segments; an utterance's prediction is the mean of its segments'
posteriors (:func:`pool_utterances`). :func:`evaluate_segments` scores one segment set;
:func:`evaluate_all` every held-out set of a run (:class:`~sertutor.data.prepare.PreparedData`).

References: Schuller et al., *The INTERSPEECH 2009 Emotion Challenge* (UAR as the measure);
Lin, *A concordance correlation coefficient to evaluate reproducibility*, Biometrics 1989.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from .data.manifest import emotion_labels
from .losses import ccc
from .measured import note

if TYPE_CHECKING:
    from .data.prepare import PreparedData

#: Segments per forward pass when predicting. A pass keeps every layer's activations of its
#: batch alive at once; 32 segments of the classroom model are a few MB, where 256 were tens
#: of MB (a peak a notebook kernel on Binder's 2 GB pays for). Each segment's outputs do not
#: depend on the batch it is in (the model is in eval mode), so the size only changes speed.
PREDICT_BATCH_SIZE = 32

__all__ = [
    "uar",
    "weighted_accuracy",
    "confusion",
    "classification_metrics",
    "concordance_cc",
    "pool_utterances",
    "PREDICT_BATCH_SIZE",
    "batch_bounds",
    "predict",
    "evaluate_segments",
    "evaluate_all",
    "linear_probe",
]


def _as_labels(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {arr.shape}")
    return arr


def _counts(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[int]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label: true positives, utterances of that class, and predictions of it, each
    shape (len(labels),), int64."""
    labels = np.asarray(labels)
    is_true = y_true[None, :] == labels[:, None]  # (L, N)
    is_pred = y_pred[None, :] == labels[:, None]  # (L, N)
    return ((is_true & is_pred).sum(1), is_true.sum(1), is_pred.sum(1))


def _per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[int]
                      ) -> np.ndarray:
    """Recall of each label, shape (len(labels),), 0 for a label with no utterance."""
    tp, support, _ = _counts(y_true, y_pred, labels)
    return np.divide(tp, support, out=np.zeros(len(tp)), where=support > 0)


# The metrics are computed with numpy, the same arithmetic as scikit-learn's recall_score,
# accuracy_score, f1_score and confusion_matrix (tests compare them): training validates with
# them every few hundred steps, and importing scikit-learn (and scipy with it) would cost a
# training run or a notebook kernel about 75 MB of resident memory.
def uar(y_true: Sequence[int], y_pred: Sequence[int], *, labels: Sequence[int] | None = None
        ) -> float:
    """Unweighted average recall: the mean over classes of each class's recall.

    Classes listed in ``labels`` but absent from ``y_true`` are left out of the mean.
    """
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot compute UAR of zero utterances")
    present = np.unique(y_true) if labels is None else [c for c in labels if c in set(y_true)]
    if len(present) == 0:
        raise ValueError("labels: none of these classes occurs in y_true")
    return float(np.mean(_per_class_recall(y_true, y_pred, present)))


def weighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Weighted accuracy (WA): the share of utterances classified correctly."""
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot compute the accuracy of zero utterances")
    return float(np.mean(y_true == y_pred))


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[int]) -> float:
    """Mean over ``labels`` of F1 = 2 TP / (n_true + n_predicted) (0 where both are 0)."""
    tp, n_true, n_pred = _counts(y_true, y_pred, labels)
    denom = n_true.astype(np.float64) + n_pred  # (L,)
    return float(np.mean(np.divide(2.0 * tp, denom, out=np.zeros(len(tp)), where=denom > 0)))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Confusion counts, shape (L, L): ``[i, j]`` counts true ``labels[i]`` predicted as
    ``labels[j]`` (utterances whose true or predicted class is not in ``labels`` are left
    out)."""
    labels = np.asarray(labels)
    index = {int(c): k for k, c in enumerate(labels)}
    t = np.array([index.get(int(c), -1) for c in y_true], dtype=np.int64)  # (N,)
    p = np.array([index.get(int(c), -1) for c in y_pred], dtype=np.int64)  # (N,)
    keep = (t >= 0) & (p >= 0)
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)  # (L, L)
    np.add.at(out, (t[keep], p[keep]), 1)
    return out


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], *,
                           labels: Sequence[str]) -> dict[str, Any]:
    """UAR, WA, macro-F1, per-class recall and the confusion matrix, as a JSON-ready dict.

    Parameters
    ----------
    y_true, y_pred : array of int, shape (n_utterances,)
        Class indices into ``labels``.
    labels : sequence of str
        Class names; ``confusion[i][j]`` counts true class ``i`` predicted as ``j``.
    """
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    idx = list(range(len(labels)))
    recalls = _per_class_recall(y_true, y_pred, idx)  # (K,)
    present = set(np.unique(y_true).tolist())
    return {
        "uar": uar(y_true, y_pred, labels=idx),
        "wa": weighted_accuracy(y_true, y_pred),
        "macro_f1": _macro_f1(y_true, y_pred, sorted(present)),
        "per_class_recall": {labels[i]: float(recalls[i]) for i in idx if i in present},
        "confusion": confusion(y_true, y_pred, idx).tolist(),
        "labels": list(labels),
        "n": int(len(y_true)),
    }


def concordance_cc(pred: Sequence[float], target: Sequence[float]) -> float:
    """Lin's concordance correlation coefficient, ignoring NaN targets.

    ρc = 2·cov(x, y) / (var(x) + var(y) + (mean(x) − mean(y))²). Same formula as
    :func:`sertutor.losses.ccc`, which this calls.
    """
    pred_t = torch.as_tensor(np.asarray(pred, dtype=np.float64))
    target_t = torch.as_tensor(np.asarray(target, dtype=np.float64))
    if pred_t.shape != target_t.shape or pred_t.ndim != 1:
        raise ValueError(f"pred and target must be 1-D and of equal length, got "
                         f"{tuple(pred_t.shape)} and {tuple(target_t.shape)}")
    if int(torch.isfinite(target_t).sum()) < 2:
        raise ValueError("CCC needs at least 2 rated utterances (finite targets)")
    return float(ccc(pred_t, target_t))


def pool_utterances(values: torch.Tensor | np.ndarray, utt: torch.Tensor | np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Average per-segment values (e.g. posteriors) over the segments of each utterance.

    Parameters
    ----------
    values : array, shape (n_segments, K) or (n_segments,)
    utt : array of int, shape (n_segments,)
        Utterance index of each segment.

    Returns
    -------
    utt_ids : numpy.ndarray, shape (n_utterances,)
        The distinct utterance indices, sorted.
    pooled : numpy.ndarray, shape (n_utterances, K) or (n_utterances,)
    """
    values = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values,
                        dtype=np.float64)
    utt = np.asarray(utt.detach().cpu() if torch.is_tensor(utt) else utt)
    if len(values) != len(utt):
        raise ValueError(f"values and utt differ in length: {len(values)} vs {len(utt)}")
    utt_ids, inverse = np.unique(utt, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(utt_ids)).astype(np.float64)
    flat = values.reshape(len(values), -1)  # (S, K)
    sums = np.zeros((len(utt_ids), flat.shape[1]))
    np.add.at(sums, inverse, flat)
    pooled = sums / counts[:, None]  # (U, K)
    return utt_ids, pooled.reshape((len(utt_ids),) + values.shape[1:])


def batch_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` bounds of consecutive batches of at most ``size`` items out of ``n``.

    >>> batch_bounds(70, 32)
    [(0, 32), (32, 64), (64, 70)]
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"batch size must be a positive int, got {size!r}")
    return [(start, min(start + size, n)) for start in range(0, int(n), int(size))]


@torch.no_grad()
def predict(model: torch.nn.Module, segments, *, batch_size: int = PREDICT_BATCH_SIZE,
            device: str | torch.device | None = None) -> dict[str, np.ndarray]:
    """Run the model over every segment, ``batch_size`` segments per forward pass.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`~sertutor.models.MultiTaskAAE` (put in eval mode for the pass, then back).
    segments : SegmentSet
        ``segments.x`` of shape (S, C, n_mels, frames).
    batch_size : int
        Segments per forward pass (:data:`PREDICT_BATCH_SIZE`): bounds the activations alive
        at once; the outputs do not depend on it.
    device : str or torch.device, optional
        Where the model runs (default: where its parameters are).

    Returns
    -------
    dict of str -> numpy.ndarray
        Per-segment outputs, float32: ``y_prob`` (S, K), ``h`` (S, hidden) and, where the
        model has them, ``z`` (S, z_dim), ``arousal_prob`` / ``valence_prob`` (S, n_bins),
        ``arousal`` / ``valence`` (S,), ``gender_prob`` (S, 2), ``speaker_prob``
        (S, n_speakers). Each is filled batch by batch into one preallocated array.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    n = len(segments)
    was_training = model.training
    model.eval()
    outputs: dict[str, np.ndarray] = {}
    try:
        for start, stop in batch_bounds(n, batch_size):
            x = segments.x[start:stop].to(device, non_blocking=True)  # (B, C, n_mels, frames)
            out = model(x, reconstruct=False)  # the decoder is not needed here
            parts = {"y_prob": out.y, "h": out.h, "z": out.z}
            if out.arousal_logits is not None:
                parts.update(arousal_prob=out.arousal_logits.softmax(-1),
                             valence_prob=out.valence_logits.softmax(-1),
                             arousal=out.arousal, valence=out.valence,
                             gender_prob=out.gender_logits.softmax(-1),
                             speaker_prob=out.speaker_logits.softmax(-1))
            for key, value in parts.items():
                if value is None:  # z is None for variants without a decoder
                    continue
                value = value.float().cpu().numpy()  # (B, ...)
                if key not in outputs:
                    outputs[key] = np.empty((n,) + value.shape[1:], np.float32)  # (S, ...)
                outputs[key][start:stop] = value
    finally:
        model.train(was_training)
    return outputs


def evaluate_segments(model: torch.nn.Module, segments, *, emotions: Sequence[str],
                      batch_size: int = PREDICT_BATCH_SIZE, device=None) -> dict[str, Any]:
    """Utterance-level metrics of ``model`` on a :class:`~sertutor.data.dataset.SegmentSet`.

    Segment posteriors are pooled per utterance; emotion metrics use the utterances that have
    an emotion label. Where the model has dimensional and gender heads and the utterances have
    those labels, the dict also holds ``arousal`` / ``valence`` (binned UAR and CCC) and
    ``gender_accuracy``.
    """
    out = predict(model, segments, batch_size=batch_size, device=device)
    utt_ids, y_prob = pool_utterances(out["y_prob"], segments.utt)
    _, emotion = pool_utterances(segments.emotion.float(), segments.utt)
    emotion = emotion.round().astype(int)
    keep = emotion >= 0
    if not keep.any():
        raise ValueError("no emotion-labelled utterance to evaluate")
    metrics = classification_metrics(emotion[keep], y_prob[keep].argmax(1), labels=emotions)
    metrics["n_segments"] = int(len(segments))
    if "arousal_prob" in out:
        for dim in ("arousal", "valence"):
            _, prob = pool_utterances(out[f"{dim}_prob"], segments.utt)
            _, reg = pool_utterances(out[dim], segments.utt)
            _, true_bin = pool_utterances(getattr(segments, f"{dim}_bin").float(), segments.utt)
            _, true_val = pool_utterances(getattr(segments, dim).float(), segments.utt)
            labelled = true_bin.round() >= 0
            if labelled.sum() >= 2:
                metrics[dim] = {
                    "uar": uar(true_bin[labelled].round().astype(int),
                               prob[labelled].argmax(1)),
                    "ccc": concordance_cc(reg[labelled], true_val[labelled]),
                }
        _, g_prob = pool_utterances(out["gender_prob"], segments.utt)
        _, g_true = pool_utterances(segments.gender.float(), segments.utt)
        known = g_true.round() >= 0
        if known.any():
            metrics["gender_accuracy"] = weighted_accuracy(g_true[known].round().astype(int),
                                                           g_prob[known].argmax(1))
    return metrics


def evaluate_all(model: torch.nn.Module, data: PreparedData, *, device=None,
                 speaker_head: bool | None = None) -> dict[str, Any]:
    """Metrics on the held-out speakers, the auxiliary hold-out and every cross-corpus set.

    ``speaker_head`` says whether to score the speaker head on the auxiliary hold-out
    (``speaker_accuracy``); an untrained head (``train.w_speaker = 0``; the default trains it,
    as an adversary since issue #14's session 17) would only score chance. None (default):
    whether ``data.config`` trains it; pass the answer when the model was trained with another
    config than the data was prepared with.
    """
    if speaker_head is None:
        speaker_head = data.config.train.w_speaker > 0
    emotions = emotion_labels(data.config.model.n_emotions)
    metrics: dict[str, Any] = dict(evaluate_segments(model, data.test, emotions=emotions,
                                                     device=device))
    if (speaker_head and data.aux_test is not None
            and getattr(model, "has_aux_heads", False)):
        out = predict(model, data.aux_test, device=device)
        _, prob = pool_utterances(out["speaker_prob"], data.aux_test.utt)
        _, spk = pool_utterances(data.aux_test.speaker.float(), data.aux_test.utt)
        metrics["speaker_accuracy"] = weighted_accuracy(spk.round().astype(int),
                                                        prob.argmax(1))
    metrics["cross_corpus"] = {spec: evaluate_segments(model, seg, emotions=emotions,
                                                       device=device)
                               for spec, seg in data.cross.items()}
    return metrics


def linear_probe(codes: np.ndarray, labels: Sequence, *, folds: int = 5, seed: int = 0,
                 C: float = 0.1) -> float:
    """How linearly decodable ``labels`` are from ``codes``: cross-validated accuracy.

    A standardised logistic regression (L2, inverse strength ``C``) is fitted on ``folds - 1``
    stratified folds and scored on the held-out one; the mean accuracy over folds is returned.
    Compare it with chance (``1 / n_classes`` for balanced classes): a latent space that
    "captures" speaker or emotion makes that label easy to read off linearly.

    Parameters
    ----------
    codes : array, shape (N, D)
        One code per item (e.g. per-utterance mean of ``h``).
    labels : sequence, length N
        Class of each item (str or int); every class needs at least ``folds`` items.

    The accuracy is also noted in :mod:`sertutor.measured`, so an exercise that asks for a
    probe accuracy can tell a number this kernel measured from one typed in.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(codes, dtype=float)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"codes must be (N, D) with one row per label; got codes "
                         f"{x.shape} and {len(y)} labels")
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2 or counts.min() < folds:
        raise ValueError(f"labels need >= 2 classes with >= {folds} items each (folds="
                         f"{folds}); got class sizes {sorted(counts.tolist())}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    # noted for the exercise checks that ask for a measured accuracy (sertutor.measured)
    return note("linear_probe", float(cross_val_score(clf, x, y, cv=cv).mean()))
