"""Segments with labels, as tensors: what a model trains and is scored on.

:func:`make_segments` takes a :class:`~sertutor.data.extract.FeatureSet`, normalises each
utterance (:class:`~sertutor.features.NormStats` per corpus, or
:class:`~sertutor.features.SpeakerNormStats` per speaker), cuts it into fixed-length segments
(:func:`sertutor.features.segment`) and repeats each utterance's labels for its segments
(:class:`~sertutor.data.labels.LabelMaps` turns them into indices; a label mask from
:func:`~sertutor.data.splits.label_subset` hides the emotion of unlabelled rows). The result
is a :class:`SegmentSet`: one tensor per field (:data:`SEGMENT_TENSORS`), all with one row per
segment, on one device, so a batch is ``seg.x[idx]`` with no data loader in between.

Shapes: ``x`` (N_seg, C, n_mels, frames), ``mask`` (N_seg, frames), every label (N_seg,);
``utt`` maps each segment to its utterance, so segment outputs can be pooled per utterance
(:func:`sertutor.evaluate.pool_utterances`).

:class:`Streams` groups the segment sets one training run draws from (labelled, unlabelled,
auxiliary, validation); :func:`sertutor.data.prepare.prepare_data` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..features import NormStats, SpeakerNormStats, n_segments, segment
from .extract import FeatureSet
from .labels import LabelMaps, dimension_bins, speaker_keys

__all__ = ["SEGMENT_TENSORS", "SegmentSet", "Streams", "make_segments"]

#: The tensor fields of a :class:`SegmentSet`, each with one row per segment.
SEGMENT_TENSORS = ("x", "mask", "utt", "emotion", "speaker", "gender", "arousal", "valence",
                   "arousal_bin", "valence_bin")


@dataclass
class SegmentSet:
    """Fixed-length segments and their labels, as tensors on one device.

    Index any batch directly: ``seg.x[idx]``; or take a subset: ``seg.subset(idx)``.

    Attributes
    ----------
    x : Tensor (N_seg, C, n_mels, frames), float32
        Normalised log-mel segments; padding frames are 0.
    mask : Tensor (N_seg, frames), bool
        True for real frames.
    utt : Tensor (N_seg,), long
        Row of the segment's utterance in the FeatureSet's manifest (pool posteriors by it).
    emotion : Tensor (N_seg,), long
        Index into ``LabelMaps.emotions``; -1 when unlabelled.
    speaker : Tensor (N_seg,), long
        Index into ``LabelMaps.speakers``; -1 when unknown.
    gender : Tensor (N_seg,), long
        0 female, 1 male, -1 unknown.
    arousal, valence : Tensor (N_seg,), float32
        1-5 scale; NaN when unknown.
    arousal_bin, valence_bin : Tensor (N_seg,), long
        0 low (<= 2.5), 1 mid, 2 high (>= 3.5); -1 when unknown.
    n_utterances : int
        Rows of the manifest the segments came from.
    """

    x: Tensor
    mask: Tensor
    utt: Tensor
    emotion: Tensor
    speaker: Tensor
    gender: Tensor
    arousal: Tensor
    valence: Tensor
    arousal_bin: Tensor
    valence_bin: Tensor
    n_utterances: int

    def __post_init__(self):
        n = self.x.shape[0]
        for name in SEGMENT_TENSORS:
            t = getattr(self, name)
            if not isinstance(t, Tensor) or t.shape[0] != n:
                raise ValueError(f"SegmentSet.{name} must be a tensor with {n} rows (one per "
                                 f"segment), got {getattr(t, 'shape', type(t).__name__)}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def device(self) -> torch.device:
        return self.x.device

    def to(self, device: str | torch.device) -> "SegmentSet":
        """A copy on ``device`` (the same object if already there)."""
        if torch.device(device) == self.device:
            return self
        return SegmentSet(**{k: getattr(self, k).to(device) for k in SEGMENT_TENSORS},
                          n_utterances=self.n_utterances)

    def subset(self, index: Tensor | np.ndarray | Sequence[int]) -> "SegmentSet":
        """The segments selected by a boolean mask (N_seg,) or an index array."""
        if not isinstance(index, Tensor):
            index = torch.as_tensor(np.asarray(index))
        if index.dtype == torch.bool and index.shape != (len(self),):
            raise ValueError(f"a boolean mask must have shape ({len(self)},), got "
                             f"{tuple(index.shape)}")
        index = index.to(self.device)
        return SegmentSet(**{k: getattr(self, k)[index] for k in SEGMENT_TENSORS},
                          n_utterances=self.n_utterances)


@dataclass
class Streams:
    """The segment sets one training run draws from (:class:`SegmentSet` each).

    labelled: emotion-corpus segments whose utterance keeps its emotion label.
    unlabelled: emotion-corpus segments whose label was hidden (label fraction < 1), or None.
    aux: auxiliary-corpus segments with speaker and gender labels only, or None.
    val: validation segments (held-out speakers) for early stopping, or None.
    """

    labelled: Any
    unlabelled: Any = None
    aux: Any = None
    val: Any = None

    def to(self, device: torch.device) -> "Streams":
        return Streams(*(s.to(device) if s is not None else None
                         for s in (self.labelled, self.unlabelled, self.aux, self.val)))

    def nbytes(self) -> int:
        return sum(s.x.element_size() * s.x.nelement()
                   for s in (self.labelled, self.unlabelled, self.aux, self.val) if s is not None)


def make_segments(fs: FeatureSet, *, stats: NormStats | SpeakerNormStats,
                  frames: int | None = None,
                  hop: int | None = None, label_maps: LabelMaps | None = None,
                  label_mask: np.ndarray | None = None) -> SegmentSet:
    """Normalise a FeatureSet and cut it into fixed-length segments with labels.

    Parameters
    ----------
    fs : FeatureSet
    stats : NormStats or SpeakerNormStats
        Normalisation statistics: one set for the corpus (fit on its training utterances), or
        one per speaker (each row is normalised with the statistics of its speaker,
        :func:`~sertutor.data.labels.speaker_keys`; rows of unknown speakers with the
        reference statistics).
    frames, hop : int, optional
        Segment length and shift in frames (default: ``fs.config.segment_frames`` /
        ``segment_hop``); see :func:`sertutor.features.segment`.
    label_maps : LabelMaps, optional
        Label indices (default: ``LabelMaps.fit(fs.manifest)``).
    label_mask : numpy.ndarray of bool, shape (len(fs),), optional
        Rows whose emotion labels are kept (:func:`~sertutor.data.splits.label_subset`);
        other rows get emotion -1 and unknown arousal / valence, i.e. become unlabelled data.

    Returns
    -------
    SegmentSet
        On the CPU; ``.to(device)`` moves it.
    """
    if not isinstance(fs, FeatureSet):
        raise TypeError(f"fs must be a FeatureSet, got {type(fs).__name__}")
    if not isinstance(stats, (NormStats, SpeakerNormStats)):
        raise TypeError(f"stats must be a NormStats or SpeakerNormStats, got "
                        f"{type(stats).__name__}")
    frames = fs.config.segment_frames if frames is None else frames
    hop = fs.config.segment_hop if hop is None else hop
    maps = LabelMaps.fit(fs.manifest) if label_maps is None else label_maps
    n = len(fs)
    m = fs.manifest
    emotion = maps.encode_emotion(m)  # (n,)
    arousal = m["arousal"].to_numpy(dtype=np.float32).copy()  # (n,)
    valence = m["valence"].to_numpy(dtype=np.float32).copy()  # (n,)
    if label_mask is not None:
        label_mask = np.asarray(label_mask)
        if label_mask.dtype != bool or label_mask.shape != (n,):
            raise ValueError(f"label_mask must be a boolean array of shape ({n},), got "
                             f"{label_mask.dtype} {label_mask.shape}")
        emotion[~label_mask] = -1
        arousal[~label_mask] = np.nan
        valence[~label_mask] = np.nan
    if isinstance(stats, SpeakerNormStats):
        keys = speaker_keys(m)  # (n,)
        norms = [stats.for_speaker(k) for k in keys]  # one NormStats per row
    else:
        norms = [stats] * n
    # Count first, then fill one preallocated array: a list of per-utterance segment arrays
    # joined by np.concatenate would hold every segment twice at the peak.
    counts = [n_segments(f.shape[-1], frames=frames, hop=hop) for f in fs.features]  # (n,)
    n_channels, n_mels = (fs.features[0].shape[:2] if n else (1, fs.config.n_mels))
    x = np.empty((sum(counts), n_channels, n_mels, frames), np.float32)  # (N_seg, C, n_mels, T)
    seg_mask = np.empty((sum(counts), frames), bool)  # (N_seg, frames)
    start = 0
    for f, norm, count in zip(fs.features, norms, counts):
        segs, mask = segment(norm.apply(f), frames=frames, hop=hop)  # (S, C, n_mels, frames)
        x[start:start + count], seg_mask[start:start + count] = segs, mask
        start += count
    counts_t = torch.as_tensor(counts)  # (n,)

    def per_segment(values: np.ndarray) -> Tensor:  # (n,) -> (N_seg,)
        return torch.repeat_interleave(torch.from_numpy(values), counts_t)

    return SegmentSet(
        x=torch.from_numpy(x),  # (N_seg, C, n_mels, frames)
        mask=torch.from_numpy(seg_mask),  # (N_seg, frames)
        utt=per_segment(np.arange(n, dtype=np.int64)),
        emotion=per_segment(emotion),
        speaker=per_segment(maps.encode_speaker(m)),
        gender=per_segment(maps.encode_gender(m)),
        arousal=per_segment(arousal),
        valence=per_segment(valence),
        arousal_bin=per_segment(dimension_bins(arousal)),
        valence_bin=per_segment(dimension_bins(valence)),
        n_utterances=n,
    )
