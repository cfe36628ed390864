"""Normalisation statistics: per corpus (:class:`NormStats`) and per speaker
(:class:`SpeakerNormStats`).

Log-mel values in dB differ by tens of decibels from band to band, so the model sees each
channel and mel band standardised: ``(x - mean) / std`` with statistics fitted on training
audio, and ``x * std + mean`` (:meth:`NormStats.invert`) takes a decoder's output back to dB.

- :class:`NormStats`: mean and standard deviation per channel and mel band of one corpus
  (fitted on the training utterances only, so nothing is learnt from the test speakers).
- :class:`SpeakerNormStats`: the same per speaker, each from that speaker's own (unlabelled)
  audio, shrunk towards the corpus statistics when a speaker has few utterances. It removes
  what stays constant within a speaker (vocal tract, pitch range, microphone), which
  otherwise dominates the statistics of an emotion corpus.

Shapes: one utterance's features ``(C, n_mels, T)``; statistics ``(C, n_mels)``; ``apply`` and
``invert`` take ``(..., C, n_mels, T)``.

References
----------
- C. Busso, A. Metallinou and S. S. Narayanan, "Iterative feature normalization for emotional
  speech detection", ICASSP 2011 (why speaker normalisation matters for emotion recognition).
- D. A. Reynolds, T. F. Quatieri and R. B. Dunn, "Speaker verification using adapted Gaussian
  mixture models", Digital Signal Processing 10, 2000 (the shrinkage weight
  ``n / (n + relevance)`` of MAP adaptation that :class:`SpeakerNormStats` uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ._checks import check_features

__all__ = ["NormStats", "SpeakerNormStats", "utterance_stats"]


@dataclass
class NormStats:
    """Mean and standard deviation per channel and mel band, fitted on one corpus.

    Attributes
    ----------
    mean, std : numpy.ndarray, shape (C, n_mels), float32
    n_frames : int
        Frames the statistics were computed from.
    """

    mean: np.ndarray
    std: np.ndarray
    n_frames: int

    #: Smallest standard deviation used when dividing (a constant band stays finite).
    MIN_STD = 1e-4

    def __post_init__(self):
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 2 or self.mean.shape != self.std.shape:
            raise ValueError(f"mean and std must both have shape (C, n_mels), got "
                             f"{self.mean.shape} and {self.std.shape}")

    @classmethod
    def fit(cls, features: Sequence[np.ndarray | Tensor]) -> "NormStats":
        """Fit on a list of utterances' features, each (C, n_mels, T_i) of valid frames only.

        Accumulates in float64 over all frames of all utterances (a long utterance weighs more
        than a short one, as every frame counts once).
        """
        if isinstance(features, (np.ndarray, Tensor)) or len(features) == 0:
            raise ValueError("features must be a non-empty list of (C, n_mels, T) arrays")
        total = total_sq = None
        count = 0
        for i, f in enumerate(features):
            check_features(f, name=f"features[{i}]", ndim=(3,), shape_text="(C, n_mels, T)")
            f = f.detach().cpu().numpy() if isinstance(f, Tensor) else f
            f = f.astype(np.float64, copy=False)  # (C, n_mels, T)
            if total is None:
                total = np.zeros(f.shape[:2])  # (C, n_mels)
                total_sq = np.zeros(f.shape[:2])
                first = f.shape[:2]
            elif f.shape[:2] != first:
                raise ValueError(f"features[{i}] has shape {f.shape}; expected (C, n_mels, T) "
                                 f"with (C, n_mels) = {first} like features[0]")
            if not np.all(np.isfinite(f)):
                raise ValueError(f"features[{i}] contains NaN or infinite values")
            total += f.sum(axis=-1)
            total_sq += np.square(f).sum(axis=-1)
            count += f.shape[-1]
        if count == 0:
            raise ValueError("features hold no frames")
        mean = total / count  # (C, n_mels)
        var = np.maximum(total_sq / count - np.square(mean), 0.0)
        return cls(mean=mean, std=np.sqrt(var), n_frames=int(count))

    def apply(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Normalise features of shape (..., C, n_mels, T): ``(x - mean) / std``.

        Returns the same type (numpy or tensor, on the same device) and float32.
        """
        check_features(x, name="x", ndim=(3, 4, 5), shape_text="(..., C, n_mels, T)")
        if tuple(x.shape[-3:-1]) != self.mean.shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (..., C, n_mels, T) with "
                             f"(C, n_mels) = {self.mean.shape}")
        std = np.maximum(self.std, self.MIN_STD)
        if isinstance(x, Tensor):
            mean_t = torch.as_tensor(self.mean, device=x.device)[..., None]  # (C, n_mels, 1)
            std_t = torch.as_tensor(std, device=x.device)[..., None]
            return (x.float() - mean_t) / std_t
        return ((x - self.mean[..., None]) / std[..., None]).astype(np.float32)

    def invert(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Undo :meth:`apply`: ``x * std + mean`` for features of shape (..., C, n_mels, T).

        ``invert(apply(x))`` equals ``x`` (up to float32 rounding); a decoder's output, which
        lives in the normalised space, goes back to dB this way. Returns the same type
        (numpy or tensor, on the same device) and float32.
        """
        check_features(x, name="x", ndim=(3, 4, 5), shape_text="(..., C, n_mels, T)")
        if tuple(x.shape[-3:-1]) != self.mean.shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (..., C, n_mels, T) with "
                             f"(C, n_mels) = {self.mean.shape}")
        std = np.maximum(self.std, self.MIN_STD)  # the same floor apply() divided by
        if isinstance(x, Tensor):
            mean_t = torch.as_tensor(self.mean, device=x.device)[..., None]  # (C, n_mels, 1)
            std_t = torch.as_tensor(std, device=x.device)[..., None]
            return x.float() * std_t + mean_t
        return (x * std[..., None] + self.mean[..., None]).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists), for checkpoints."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "n_frames": self.n_frames}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NormStats":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(mean=np.asarray(data["mean"]), std=np.asarray(data["std"]),
                       n_frames=int(data["n_frames"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"NormStats.from_dict needs keys mean, std, n_frames ({exc})") \
                from exc


@dataclass
class SpeakerNormStats:
    """Per-speaker mean / standard deviation, each from that speaker's own audio.

    Speaker normalisation removes what stays constant within a speaker (vocal-tract length,
    pitch range, voice quality, microphone), which otherwise dominates the log-mel statistics:
    utterance-level features of an emotion corpus cluster by *who* speaks before *how they
    feel*. Each speaker's statistics are fitted on **all of that speaker's audio**, never on its
    labels; at test time a new speaker's statistics come from their own (unlabelled) audio, so
    a deployed model needs a few utterances of a speaker before it can normalise them.

    A speaker with few utterances is shrunk towards the ``reference`` (per-corpus) statistics:
    with ``n`` utterances the speaker's first and second moments get weight
    ``w = n / (n + prior_utts)`` and the reference's ``1 - w``; the standard deviation is the
    one of that mixture. ``prior_utts = 1`` gives one utterance half weight, 40 utterances 98 %.
    Rows whose speaker is unknown (``""``) or not fitted use the reference statistics.

    Attributes
    ----------
    reference : NormStats
        Per-corpus statistics (the fallback and the shrinkage target).
    speakers : dict of str -> NormStats
        Speaker key (``"<corpus>/<speaker>"``) -> that speaker's (shrunk) statistics.
    n_utterances : dict of str -> int
        Utterances each speaker's statistics came from.
    prior_utts : float
        Pseudo-utterances of the reference in the shrinkage.
    """

    reference: NormStats
    speakers: dict[str, NormStats]
    n_utterances: dict[str, int]
    prior_utts: float = 1.0

    @classmethod
    def fit(cls, features: Sequence[np.ndarray | Tensor], speakers: Sequence[str], *,
            reference: NormStats | None = None, prior_utts: float = 1.0) -> "SpeakerNormStats":
        """Fit one set of statistics per speaker.

        Parameters
        ----------
        features : list of arrays, each (C, n_mels, T_i)
            Every utterance of the corpus (valid frames only); labels are not used.
        speakers : sequence of str, one per utterance
            Speaker key of each utterance; ``""`` marks an unknown speaker (not fitted).
        reference : NormStats, optional
            The shrinkage target and fallback (default: fitted on all of ``features``).
        prior_utts : float
            Pseudo-utterance count of the reference (>= 0; 0: no shrinkage).
        """
        if isinstance(features, (np.ndarray, Tensor)) or len(features) == 0:
            raise ValueError("features must be a non-empty list of (C, n_mels, T) arrays")
        speakers = [str(s) for s in speakers]
        if len(speakers) != len(features):
            raise ValueError(f"speakers has {len(speakers)} entries for {len(features)} "
                             "utterances; need one speaker key per utterance")
        if not prior_utts >= 0.0:
            raise ValueError(f"prior_utts must be >= 0, got {prior_utts!r}")
        if reference is None:
            reference = NormStats.fit(features)
        ref_mean = reference.mean.astype(np.float64)  # (C, n_mels)
        ref_sq = np.square(reference.std.astype(np.float64)) + np.square(ref_mean)  # E[x^2]
        rows: dict[str, list[int]] = {}
        for i, s in enumerate(speakers):
            if s:
                rows.setdefault(s, []).append(i)
        fitted, counts = {}, {}
        for s, idx in rows.items():
            own = NormStats.fit([features[i] for i in idx])  # this speaker's frames
            mean = own.mean.astype(np.float64)  # (C, n_mels)
            sq = np.square(own.std.astype(np.float64)) + np.square(mean)  # E[x^2]
            if mean.shape != ref_mean.shape:
                raise ValueError(f"speaker {s!r}: features have (C, n_mels) = {mean.shape}, "
                                 f"the reference {ref_mean.shape}")
            w = len(idx) / (len(idx) + prior_utts)  # weight of the speaker's own moments
            mix_mean = w * mean + (1 - w) * ref_mean
            mix_sq = w * sq + (1 - w) * ref_sq
            std = np.sqrt(np.maximum(mix_sq - np.square(mix_mean), 0.0))
            fitted[s] = NormStats(mean=mix_mean, std=std, n_frames=own.n_frames)
            counts[s] = len(idx)
        return cls(reference=reference, speakers=fitted, n_utterances=counts,
                   prior_utts=float(prior_utts))

    def for_speaker(self, speaker: str) -> NormStats:
        """The statistics of ``speaker`` (the reference when unknown or not fitted)."""
        return self.speakers.get(str(speaker), self.reference) if speaker else self.reference

    def apply(self, x: np.ndarray | Tensor, speaker: str) -> np.ndarray | Tensor:
        """Normalise one speaker's features (..., C, n_mels, T); see :meth:`NormStats.apply`."""
        return self.for_speaker(speaker).apply(x)

    def invert(self, x: np.ndarray | Tensor, speaker: str) -> np.ndarray | Tensor:
        """Undo :meth:`apply` for ``speaker``; see :meth:`NormStats.invert`."""
        return self.for_speaker(speaker).invert(x)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, for checkpoints."""
        return {"reference": self.reference.to_dict(),
                "speakers": {s: v.to_dict() for s, v in self.speakers.items()},
                "n_utterances": dict(self.n_utterances), "prior_utts": self.prior_utts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeakerNormStats":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(reference=NormStats.from_dict(data["reference"]),
                       speakers={s: NormStats.from_dict(v) for s, v in data["speakers"].items()},
                       n_utterances={s: int(n) for s, n in data["n_utterances"].items()},
                       prior_utts=float(data["prior_utts"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("SpeakerNormStats.from_dict needs keys reference, speakers, "
                             f"n_utterances, prior_utts ({exc})") from exc


def utterance_stats(features: Sequence[np.ndarray | Tensor]) -> np.ndarray:
    """Per utterance, the mean and standard deviation over time of every (channel, mel band).

    The fixed-length summary a linear model reads (notebook 02's probe, the linear reference of
    ``benchmarks/method_screen.py``): overall level, spectral balance and how much each band
    moves. Normalise the features first (:meth:`NormStats.apply`,
    :meth:`SpeakerNormStats.apply`) to compare with a model that sees normalised input.

    Parameters
    ----------
    features : list of arrays, each (C, n_mels, T_i)

    Returns
    -------
    ndarray, shape (n_utterances, 2 * C * n_mels)
        Means first, then standard deviations.

    Examples
    --------
    >>> utterance_stats([np.ones((1, 3, 5)), np.zeros((1, 3, 2))]).shape
    (2, 6)
    """
    if isinstance(features, (np.ndarray, Tensor)) or len(features) == 0:
        raise ValueError("features must be a non-empty list of (C, n_mels, T) arrays")
    rows = []
    for i, f in enumerate(features):
        f = f.detach().cpu().numpy() if isinstance(f, Tensor) else np.asarray(f)
        if f.ndim != 3 or f.shape[-1] < 1:
            raise ValueError(f"features[{i}] must have shape (C, n_mels, T >= 1), "
                             f"got {f.shape}")
        rows.append(np.concatenate([f.mean(axis=-1).ravel(), f.std(axis=-1).ravel()]))
    return np.stack(rows)  # (n, 2 * C * n_mels)
