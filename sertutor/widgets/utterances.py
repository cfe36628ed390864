"""Utterances as the widgets see them: manifest rows, pooled codes, predictions, audio, log-mels.

:func:`collect_utterances` runs a model over a set of utterances once and keeps what every
widget needs, so a latent map, a confusion matrix and a click on a point all read the same
numbers::

    utts = collect_utterances(model, data)                      # a PreparedData: its test set
    utts = collect_utterances(model, "synth-emo", config=config, meta=meta)
    utts.codes["h"].shape, utts.y_prob.shape, utts.pred, utts.true
    wave, sr = utts.audio(0); utts.logmel(0); utts.reconstruction(0)

The model sees fixed-length segments; an utterance's codes and posteriors are the means over its
segments (:func:`sertutor.evaluate.pool_utterances`), as in evaluation.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..audio import check_waveform, load_audio
from ..data.labels import LabelMaps
from ..data.manifest import emotion_labels
from ..data.prepare import PreparedData, sample_rows, segments_for_model
from ..data.segments import SEGMENT_TENSORS, SegmentFrames, SegmentSet
from ..evaluate import pool_utterances, predict

__all__ = ["Utterances", "collect_utterances", "overlap_add"]


def overlap_add(segments: np.ndarray, mask: np.ndarray, *, hop: int) -> np.ndarray:
    """Stitch one utterance's segments back into one spectrogram, averaging overlaps.

    Parameters
    ----------
    segments : numpy.ndarray, shape (S, n_mels, frames)
        Segment ``s`` starts at frame ``s * hop`` (:func:`sertutor.features.segment`).
    mask : numpy.ndarray of bool, shape (S, frames)
        True for real frames (padding is dropped).
    hop : int
        Frames between segment starts.

    Returns
    -------
    numpy.ndarray, shape (n_mels, T), float32
        ``T`` is the utterance's number of real frames.
    """
    segments = np.asarray(segments, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if segments.ndim != 3 or mask.shape != (segments.shape[0], segments.shape[2]):
        raise ValueError(f"segments must be (S, n_mels, frames) with mask (S, frames), got "
                         f"{segments.shape} and {mask.shape}")
    n_seg, n_mels, frames = segments.shape
    total = (n_seg - 1) * hop + frames
    out = np.zeros((n_mels, total), dtype=np.float64)  # (n_mels, total)
    count = np.zeros(total)  # (total,)
    for s in range(n_seg):
        real = mask[s]  # (frames,)
        cols = s * hop + np.flatnonzero(real)
        out[:, cols] += segments[s][:, real]
        count[cols] += 1
    n_real = int(np.flatnonzero(count).max()) + 1 if count.any() else 0
    out, count = out[:, :n_real], count[:n_real]  # (n_mels, T), (T,)
    return (out / np.maximum(count, 1)).astype(np.float32)


def _concat_segments(parts: Sequence[Any]):
    """One SegmentSet from several, utterance indices offset so they stay distinct."""
    fields, offset = {k: [] for k in SEGMENT_TENSORS}, 0
    for seg in parts:
        for k in SEGMENT_TENSORS:
            value = getattr(seg, k)
            fields[k].append(value + offset if k == "utt" else value)
        offset += seg.n_utterances
    xs = fields.pop("x")
    if len(xs) == 1:
        x = xs[0]
    elif all(isinstance(v, SegmentFrames) for v in xs):  # stored frames: joined, still once
        x = SegmentFrames.cat(xs)
    else:
        x = torch.cat([v[:] for v in xs])  # (N_seg, C, n_mels, frames)
    return SegmentSet(x=x, **{k: torch.cat(v) for k, v in fields.items()}, n_utterances=offset)


def _take(segments, rows: np.ndarray):
    """The segments of utterances ``rows`` (sorted ints), renumbered 0..len(rows)-1."""
    utt = segments.utt.cpu().numpy()  # (N_seg,)
    position = np.full(max(segments.n_utterances, int(utt.max()) + 1 if len(utt) else 0), -1)
    position[rows] = np.arange(len(rows))
    keep = position[utt] >= 0  # (N_seg,)
    sub = segments.subset(torch.from_numpy(keep))
    new_utt = torch.from_numpy(position[utt[keep]]).to(sub.utt)
    # a subset of stored segments shares the whole set's frames: copy only its own, so a
    # sample keeps nothing else of the corpus alive (the report frees the run's data)
    x = sub.x.compact() if isinstance(sub.x, SegmentFrames) else sub.x
    return dataclasses.replace(sub, x=x, utt=new_utt, n_utterances=len(rows))


@dataclass
class Utterances:
    """A set of utterances with what a model made of them, one row per utterance.

    Attributes
    ----------
    manifest : pandas.DataFrame
        Manifest rows (:mod:`sertutor.data.manifest`), index 0..U-1, plus a ``part`` column
        (which set each came from: ``test``, ``aux``, a corpus spec...).
    codes : dict of str -> numpy.ndarray
        Per-utterance mean codes: ``"h"`` (U, hidden_dim), ``"z"`` (U, z_dim), ``"y"`` (U, K).
    y_prob : numpy.ndarray, shape (U, K)
        Pooled emotion posteriors.
    true : numpy.ndarray of int, shape (U,)
        Emotion class index from the manifest; -1 where unlabelled or outside ``labels``.
    labels : tuple of str, length K
        Emotion class names.
    segments : SegmentSet
        The normalised log-mel segments, ``segments.utt`` in 0..U-1.
    model : torch.nn.Module
        The model the codes came from (used for reconstructions).
    hop : int
        Frames between segment starts (to stitch segments back together).
    sample_rate : int
        Sample rate of :meth:`audio`.
    """

    manifest: pd.DataFrame
    codes: dict[str, np.ndarray]
    y_prob: np.ndarray
    true: np.ndarray
    labels: tuple[str, ...]
    segments: Any
    model: Any
    hop: int
    sample_rate: int

    def __post_init__(self):
        n = len(self.manifest)
        for name, value in [("y_prob", self.y_prob), ("true", self.true)] + \
                [(f"codes[{k!r}]", v) for k, v in self.codes.items()]:
            if len(value) != n:
                raise ValueError(f"Utterances.{name} has {len(value)} rows for {n} utterances")
        if self.y_prob.ndim != 2 or self.y_prob.shape[1] != len(self.labels):
            raise ValueError(f"y_prob must have shape ({n}, {len(self.labels)}), got "
                             f"{self.y_prob.shape}")

    def __len__(self) -> int:
        return len(self.manifest)

    @property
    def pred(self) -> np.ndarray:
        """Predicted class index per utterance, shape (U,)."""
        return self.y_prob.argmax(1) if len(self) else np.zeros(0, dtype=np.int64)

    @property
    def variant(self) -> str:
        """The model's variant (``baseline``, ``ae``, ``aae``, ``mtl``, ``full``)."""
        return str(getattr(self.model, "variant", "?"))

    @property
    def has_decoder(self) -> bool:
        """Whether :meth:`reconstruction` can give anything."""
        return bool(getattr(self.model, "has_decoder", False))

    def _check_index(self, i: int) -> int:
        if not isinstance(i, (int, np.integer)) or not 0 <= int(i) < len(self):
            raise IndexError(f"utterance index must be an int in [0, {len(self)}), got {i!r}")
        return int(i)

    def _segment_rows(self, i: int) -> np.ndarray:
        return np.flatnonzero(self.segments.utt.cpu().numpy() == i)  # (S_i,)

    def audio(self, i: int) -> tuple[np.ndarray, int]:
        """Waveform of utterance ``i``: (float32 array (n_samples,), sample_rate).

        Raises :class:`sertutor.audio.AudioError` (naming the file) if it cannot be read.
        """
        row = self.manifest.iloc[self._check_index(i)]
        audio = row["audio"]
        if audio is not None and not (isinstance(audio, float) and np.isnan(audio)):
            return check_waveform(audio, source=row["utt_id"]), self.sample_rate
        return load_audio(row["path"], sample_rate=self.sample_rate), self.sample_rate

    def logmel(self, i: int) -> np.ndarray:
        """The normalised log-mel the model saw for utterance ``i``, shape (n_mels, T)."""
        rows = self._segment_rows(self._check_index(i))
        x = self.segments.x[rows, 0].cpu().numpy()  # (S_i, n_mels, frames), channel 0
        return overlap_add(x, self.segments.mask[rows].cpu().numpy(), hop=self.hop)

    def reconstruction(self, i: int) -> np.ndarray | None:
        """The decoder's reconstruction of utterance ``i``, shape (n_mels, T); None without a
        decoder (variants ``baseline`` and ``mtl``)."""
        rows = self._segment_rows(self._check_index(i))
        if not self.has_decoder:
            return None
        model = self.model
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                codes = model.encode(self.segments.x[rows].to(device))
                recon = model.decode(codes.y, codes.z)  # (S_i, C, n_mels, frames)
        finally:
            model.train(was_training)
        return overlap_add(recon[:, 0].float().cpu().numpy(),  # (S_i, n_mels, frames)
                           self.segments.mask[rows].cpu().numpy(), hop=self.hop)

    def probabilities(self, model) -> np.ndarray:
        """Pooled emotion posteriors (U, K) of another ``model`` on the same segments (e.g. to
        compare a baseline with the full model on exactly these utterances)."""
        if len(self) == 0:
            return np.zeros((0, len(self.labels)))
        out = predict(model, self.segments)
        return pool_utterances(out["y_prob"], self.segments.utt)[1]  # (U, K)

    def subset(self, rows: Sequence[int] | np.ndarray) -> Utterances:
        """The utterances at positions ``rows`` (ints or a boolean mask of length U)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise ValueError(f"a boolean rows mask must have shape ({len(self)},), "
                                 f"got {rows.shape}")
            rows = np.flatnonzero(rows)
        rows = np.sort(rows.astype(np.int64))
        return dataclasses.replace(
            self, manifest=self.manifest.iloc[rows].reset_index(drop=True),
            codes={k: v[rows] for k, v in self.codes.items()}, y_prob=self.y_prob[rows],
            true=self.true[rows], segments=_take(self.segments, rows))


def _from_prepared(data, parts: Sequence[str], max_utterances: int | None, seed: int):
    """Segment sets and manifests of the named parts of a PreparedData."""
    available = {"test": (data.test, data.manifests.get("emotion_test"))}
    if data.streams.aux is not None and "aux" in data.manifests:
        available["aux"] = (data.streams.aux, data.manifests["aux"])
    for spec, seg in data.cross.items():
        available[spec] = (seg, data.manifests.get(spec))
    segs, frames = [], []
    for part in parts:
        if part not in available:
            raise ValueError(f"parts: {part!r} is not in this PreparedData; choose from "
                             f"{sorted(available)}")
        seg, manifest = available[part]
        rows = sample_rows(len(manifest), max_utterances, seed)
        segs.append(_take(seg, rows))
        frames.append(manifest.iloc[rows].assign(part=part))
    return segs, frames, data.config.features.segment_hop


def collect_utterances(model, source, *, config=None, meta: dict | None = None,
                       parts: Sequence[str] = ("test",), max_utterances: int | None = 400,
                       seed: int = 0, device=None, progress: bool = False,
                       data_dir: str | os.PathLike | None = None) -> Utterances:
    """Run ``model`` over a set of utterances and keep what the widgets show.

    Parameters
    ----------
    model : sertutor.models.MultiTaskAAE
        A trained model (``pretrained.load`` or ``checkpoint.load_trained``); ignored (may be
        None) when ``source`` is already an :class:`Utterances`.
    source : PreparedData, str, pandas.DataFrame or Utterances
        - a :class:`~sertutor.data.prepare.PreparedData`: the segments of ``parts`` (``"test"``,
          the held-out speakers; ``"aux"``, the auxiliary corpus; a cross-corpus spec);
        - a corpus spec (``"synth-emo"``, ``"ravdess:/data/RAVDESS"``): loaded, features
          extracted and normalised with the model's training statistics when ``meta`` names
          that corpus, else with the corpus's own;
        - a manifest DataFrame (normalised with its own statistics);
        - an :class:`Utterances`: returned as it is.
    config : Config, optional
        Preset used to generate synthetic corpora (default ``"classroom"``).
    meta : dict, optional
        The ``meta`` of ``pretrained.load`` / ``load_trained``: label maps, normalisation
        statistics and the corpus specs the model was trained on.
    parts : sequence of str
        PreparedData only: which sets to take.
    max_utterances : int or None
        At most this many utterances (per part), a seeded random sample; None for all.
    seed : int
        Seed of that sample.
    device : str, optional
        Where the model runs (default: where its parameters are).
    progress : bool
        Progress bar while extracting features.
    data_dir : path-like, optional
        Corpus spec / manifest: where corpora and cached features are (default
        :func:`sertutor.storage.data_dir`), as in :func:`~sertutor.data.prepare.prepare_data`.

    Returns
    -------
    Utterances
    """
    if isinstance(source, Utterances):
        return source
    if not hasattr(model, "model_config"):
        raise TypeError(f"model must be a sertutor MultiTaskAAE (e.g. from pretrained.load), "
                        f"got {type(model).__name__}; only an Utterances source needs none")
    if max_utterances is not None and (not isinstance(max_utterances, (int, np.integer))
                                       or max_utterances < 1):
        raise ValueError(f"max_utterances must be a positive int or None, got {max_utterances!r}")
    n_emotions = model.model_config.n_emotions
    stored = (meta or {}).get("label_maps", {}).get("emotions")
    labels = tuple(stored)[:n_emotions] if stored is not None else emotion_labels(n_emotions)
    if isinstance(source, PreparedData):
        if isinstance(parts, str):
            parts = (parts,)
        segs, frames, hop = _from_prepared(source, parts, max_utterances, seed)
    elif isinstance(source, (str, pd.DataFrame)):
        # the path of every trained model: features, the run's (or the corpus's own)
        # normalisation, segments; a sample is extracted alone unless the corpus is cached
        fc = model.feature_config
        prepared = segments_for_model(
            source, features=fc, meta=meta,
            preset=config if config is not None else "classroom",
            label_maps=None if meta and "label_maps" in meta else LabelMaps(emotions=labels),
            max_utterances=max_utterances, seed=seed, write_cache=False, progress=progress,
            data_dir=data_dir)
        part = source if isinstance(source, str) else "manifest"
        segs, frames = [prepared.segments], [prepared.features.manifest.assign(part=part)]
        hop = fc.segment_hop
    else:
        raise TypeError(f"source must be a PreparedData, a corpus spec str, a manifest "
                        f"DataFrame or Utterances, got {type(source).__name__}")
    segments = _concat_segments(segs)
    manifest = pd.concat(frames, ignore_index=True)  # (U rows)
    out = predict(model, segments, device=device)
    ids, y_prob = pool_utterances(out["y_prob"], segments.utt)  # (U,), (U, K)
    if not np.array_equal(ids, np.arange(len(manifest))):
        raise RuntimeError("every utterance should have at least one segment")
    codes = {key: pool_utterances(out[key], segments.utt)[1]  # (U, d)
             for key in ("h", "z") if key in out}
    codes["y"] = y_prob
    index = {name: k for k, name in enumerate(labels)}
    true = np.array([index.get(e, -1) for e in manifest["emotion"]], dtype=np.int64)  # (U,)
    return Utterances(manifest=manifest, codes=codes, y_prob=y_prob, true=true,
                      labels=tuple(labels), segments=segments, model=model, hop=int(hop),
                      sample_rate=int(model.feature_config.sample_rate))
