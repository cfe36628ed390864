"""Segments with labels, as tensors: what a model trains and is scored on.

:func:`make_segments` takes a :class:`~sertutor.data.extract.FeatureSet`, normalises each
utterance (:class:`~sertutor.features.NormStats` per corpus, or
:class:`~sertutor.features.SpeakerNormStats` per speaker), cuts it into fixed-length segments
(the segments of :func:`sertutor.features.segment`, bit for bit) and repeats each utterance's
labels for its segments
(:class:`~sertutor.data.labels.LabelMaps` turns them into indices; a label mask from
:func:`~sertutor.data.splits.label_subset` hides the emotion of unlabelled rows). The result
is a :class:`SegmentSet`: one tensor per field (:data:`SEGMENT_TENSORS`), all with one row per
segment, on one device, so a batch is ``seg.x[idx]`` with no data loader in between.

Segments overlap (the classroom preset's hop is half a segment), so ``x`` is a
:class:`SegmentFrames`: each utterance's normalised frames stored once, a segment cut from them
when a batch is indexed. Storing every segment on its own kept each frame twice (about 90 MB of
a classroom run's segments).

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

from ..features import NormStats, SpeakerNormStats
from ..features._checks import check_features
from ..features.segments import check_segmenting, segment_layout
from .extract import FeatureSet
from .labels import LabelMaps, dimension_bins, speaker_keys

__all__ = ["SEGMENT_TENSORS", "SegmentFrames", "SegmentSet", "Streams", "make_segments",
           "sibling_segments"]

#: The tensor fields of a :class:`SegmentSet`, each with one row per segment.
SEGMENT_TENSORS = ("x", "mask", "utt", "emotion", "speaker", "gender", "arousal", "valence",
                   "arousal_bin", "valence_bin")


def _materialise(value: Any) -> Any:
    """``value`` with every :class:`SegmentFrames` in it (nested in lists, tuples and dicts)
    replaced by its full tensor."""
    if isinstance(value, SegmentFrames):
        return value[:]
    if isinstance(value, (list, tuple)):
        return type(value)(_materialise(v) for v in value)
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    return value


class SegmentFrames:
    """Overlapping fixed-length segments stored once: each utterance's frames, cut on demand.

    With ``hop < frames`` (the classroom preset overlaps segments by half), storing every
    segment as its own array keeps each frame twice. This stores each utterance's normalised,
    zero-padded frames once, side by side in one tensor, and a segment is the window of
    ``length`` frames at its start column. Indexing it gives the same tensor, bit for bit, as
    indexing the array of stored segments did::

        seg.x[idx]          # (len(idx), C, n_mels, length), a new contiguous tensor
        seg.x.shape         # (N_seg, C, n_mels, length)

    Any other use (a torch function, a tensor method, ``numpy.asarray``) works on the full
    tensor of segments, built for that call.

    Parameters
    ----------
    frames : Tensor, shape (C, n_mels, F)
        The utterances' padded frames, one after the other.
    starts : Tensor of int64, shape (N_seg,)
        Column of ``frames`` where each segment starts.
    length : int
        Frames per segment; every ``start + length <= F``.
    """

    def __init__(self, frames: Tensor, starts: Tensor, length: int):
        if not isinstance(frames, Tensor) or frames.ndim != 3:
            raise ValueError(f"frames must be a tensor of shape (C, n_mels, F), got "
                             f"{getattr(frames, 'shape', type(frames).__name__)}")
        if not isinstance(starts, Tensor) or starts.ndim != 1 or starts.dtype != torch.long:
            raise ValueError("starts must be a 1-D int64 tensor (one start per segment)")
        if not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"length must be a positive int, got {length!r}")
        if len(starts) and (int(starts.min()) < 0
                            or int(starts.max()) + int(length) > frames.shape[-1]):
            raise ValueError(f"segment windows must lie inside frames: starts in "
                             f"[{int(starts.min())}, {int(starts.max())}] with length {length} "
                             f"for {frames.shape[-1]} frames")
        self.frames = frames
        self.starts = starts.to(frames.device)
        self.length = int(length)

    # ---- what a tensor of segments has ----------------------------------------------------
    @property
    def shape(self) -> torch.Size:
        """(N_seg, C, n_mels, length)."""
        return torch.Size((len(self.starts),) + tuple(self.frames.shape[:2]) + (self.length,))

    @property
    def dtype(self) -> torch.dtype:
        return self.frames.dtype

    @property
    def device(self) -> torch.device:
        return self.frames.device

    @property
    def ndim(self) -> int:
        return 4

    @property
    def is_cuda(self) -> bool:
        return self.frames.is_cuda

    @property
    def nbytes(self) -> int:
        """Bytes stored (the frames once, and the starts)."""
        return self.frames.nbytes + self.starts.nbytes

    def __len__(self) -> int:
        return len(self.starts)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return 4

    def to(self, *args, **kwargs) -> "SegmentFrames":
        """The same segments with their frames moved / cast (``Tensor.to`` arguments)."""
        frames = self.frames.to(*args, **kwargs)
        return self if frames is self.frames else SegmentFrames(frames, self.starts,
                                                                self.length)

    def cpu(self) -> "SegmentFrames":
        return self.to("cpu")

    def _windows(self) -> Tensor:
        return self.frames.unfold(-1, self.length, 1)  # (C, n_mels, F - length + 1, length)

    def _rows(self, index: Any) -> Tensor | int | slice:
        """``index`` as a selection of segments (a slice, an int or a 1-D index tensor)."""
        if isinstance(index, (slice, int, np.integer)):
            return index
        index = torch.as_tensor(np.asarray(index) if not isinstance(index, Tensor) else index)
        if index.ndim > 1:
            raise IndexError("a multi-dimensional index selects frames, not segments")
        if index.dtype == torch.bool:
            if index.shape != (len(self),):
                raise IndexError(f"a boolean mask must have shape ({len(self)},), got "
                                 f"{tuple(index.shape)}")
            return index.nonzero().squeeze(1)  # (n,)
        return index.long()

    def __getitem__(self, index: Any) -> Tensor:
        rest: tuple = ()
        if isinstance(index, tuple):
            index, rest = (index[0] if index else slice(None)), index[1:]
        try:
            rows = self._rows(index)
        except IndexError:
            if isinstance(index, (Tensor, np.ndarray)) and np.ndim(index) > 1:
                return self[:][(index,) + rest]  # e.g. a (N_seg, C, n_mels, length) mask
            raise
        cols = self.starts[rows.to(self.device) if isinstance(rows, Tensor) else rows]
        if cols.ndim == 0:  # one segment
            out = self._windows()[:, :, int(cols)].clone()  # (C, n_mels, length)
            return out[rest] if rest else out
        out = self._windows()[:, :, cols]  # (C, n_mels, n, length)
        out = out.permute(2, 0, 1, 3).contiguous()  # (n, C, n_mels, length)
        return out[(slice(None),) + rest] if rest else out  # the further axes index C, ...

    def select(self, index: Any) -> "SegmentFrames":
        """The segments ``index`` selects, sharing these frames (no copy)."""
        rows = self._rows(index)
        starts = self.starts[rows.to(self.device) if isinstance(rows, Tensor) else rows]
        return SegmentFrames(self.frames, starts.reshape(-1), self.length)

    def compact(self) -> "SegmentFrames":
        """The same segments with only the frames they cover: a copy that keeps nothing else of
        a larger store alive (e.g. a sample of a corpus's segments)."""
        starts = self.starts.cpu().numpy()  # (N_seg,)
        if len(starts) == 0:
            return SegmentFrames(self.frames[..., :0].clone(), self.starts, self.length)
        order = np.unique(starts)  # sorted distinct starts
        # runs of windows that overlap or touch, each copied once
        breaks = np.flatnonzero(order[1:] > order[:-1] + self.length) + 1
        pieces, new_start, offset = [], {}, 0
        for run in np.split(order, breaks):
            a, b = int(run[0]), int(run[-1]) + self.length
            pieces.append(self.frames[..., a:b])  # (C, n_mels, b - a)
            for s in run:
                new_start[int(s)] = offset + int(s) - a
            offset += b - a
        frames = torch.cat(pieces, dim=-1)  # (C, n_mels, offset)
        new = torch.as_tensor([new_start[int(s)] for s in starts], dtype=torch.long)
        return SegmentFrames(frames, new, self.length)

    @staticmethod
    def cat(parts: Sequence["SegmentFrames"]) -> "SegmentFrames":
        """The segments of ``parts``, one after the other (their frames copied into one)."""
        if not parts:
            raise ValueError("SegmentFrames.cat needs at least one part")
        lengths = {p.length for p in parts}
        if len(lengths) != 1:
            raise ValueError(f"parts differ in segment length: {sorted(lengths)}")
        offsets = np.cumsum([0] + [p.frames.shape[-1] for p in parts[:-1]])
        frames = torch.cat([p.frames for p in parts], dim=-1)  # (C, n_mels, sum F)
        starts = torch.cat([p.starts.to(frames.device) + int(o)
                            for p, o in zip(parts, offsets)])  # (sum N_seg,)
        return SegmentFrames(frames, starts, lengths.pop())

    # ---- anything else: the full tensor of segments -----------------------------------------
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_materialise(tuple(args)), **_materialise(dict(kwargs or {})))

    def __array__(self, dtype=None, copy=None):
        arr = self[:].cpu().numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __getattr__(self, name: str):
        if name.startswith("__") or "frames" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self[:], name)  # a tensor method on the full tensor of segments

    def __repr__(self) -> str:
        return (f"SegmentFrames(shape={tuple(self.shape)}, stored frames "
                f"{tuple(self.frames.shape)}, dtype={self.dtype})")


@dataclass
class SegmentSet:
    """Fixed-length segments and their labels, as tensors on one device.

    Index any batch directly: ``seg.x[idx]``; or take a subset: ``seg.subset(idx)``.

    Attributes
    ----------
    x : SegmentFrames or Tensor, shape (N_seg, C, n_mels, frames), float32
        Normalised log-mel segments; padding frames are 0. :func:`make_segments` stores them
        as a :class:`SegmentFrames` (each utterance's frames once, segments cut when indexed);
        a plain tensor works too.
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
    prosody : Tensor (N_seg, P), float32, optional
        The segment's utterance's prosodic descriptors, z-scored within its speaker
        (:mod:`sertutor.features.prosody`; NaN where undefined); None unless a decoder
        reconstructs them (``model.decoder_prosody``).
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
    prosody: Tensor | None = None

    def __post_init__(self):
        n = self.x.shape[0]
        for name in SEGMENT_TENSORS + (("prosody",) if self.prosody is not None else ()):
            t = getattr(self, name)
            kinds = (Tensor, SegmentFrames) if name == "x" else Tensor
            if not isinstance(t, kinds) or t.shape[0] != n:
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
                          n_utterances=self.n_utterances,
                          prosody=None if self.prosody is None else self.prosody.to(device))

    def subset(self, index: Tensor | np.ndarray | Sequence[int]) -> "SegmentSet":
        """The segments selected by a boolean mask (N_seg,) or an index array."""
        if not isinstance(index, Tensor):
            index = torch.as_tensor(np.asarray(index))
        if index.dtype == torch.bool and index.shape != (len(self),):
            raise ValueError(f"a boolean mask must have shape ({len(self)},), got "
                             f"{tuple(index.shape)}")
        index = index.to(self.device)
        fields = {k: getattr(self, k)[index] for k in SEGMENT_TENSORS if k != "x"}
        # stored segments share the frames they were cut from; a tensor is indexed
        x = self.x.select(index) if isinstance(self.x, SegmentFrames) else self.x[index]
        return SegmentSet(x=x, **fields, n_utterances=self.n_utterances,
                          prosody=None if self.prosody is None else self.prosody[index])


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
        return sum(s.x.nbytes  # a SegmentFrames counts the frames it stores
                   for s in (self.labelled, self.unlabelled, self.aux, self.val) if s is not None)


def sibling_segments(utt: Tensor, idx: Tensor, *,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """For each segment ``idx[b]``, another segment of the same utterance, drawn at random.

    Parameters
    ----------
    utt : Tensor of int64, shape (N_seg,)
        Utterance of every segment of a stream (:attr:`SegmentSet.utt`).
    idx : Tensor of int64, shape (B,)
        Rows of the stream.
    generator : torch.Generator, optional
        Source of the random draw (CPU).

    Returns
    -------
    sibling : Tensor of int64, shape (B,)
        A row of the same utterance other than ``idx[b]``; ``idx[b]`` itself where the
        utterance has a single segment.
    has_sibling : Tensor of bool, shape (B,)
        Whether the utterance has more than one segment.
    """
    utt, idx = torch.as_tensor(utt).cpu(), torch.as_tensor(idx).cpu()
    if utt.ndim != 1 or idx.ndim != 1:
        raise ValueError(f"expected utt (N_seg,) and idx (B,), got {tuple(utt.shape)} and "
                         f"{tuple(idx.shape)}")
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(utt)):
        raise IndexError(f"idx must lie in [0, {len(utt)}), got {int(idx.min())}.."
                         f"{int(idx.max())}")
    order = torch.argsort(utt, stable=True)  # (N_seg,) rows grouped by utterance
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))  # position of each row in `order`
    _, count = torch.unique_consecutive(utt[order], return_counts=True)  # (n_utt,)
    first = torch.cumsum(count, 0) - count  # (n_utt,) where each utterance starts in `order`
    group = torch.repeat_interleave(torch.arange(len(count)), count)[rank[idx]]  # (B,)
    n, pos = count[group], rank[idx] - first[group]  # (B,), (B,) size and place in the group
    # a uniform draw among the n - 1 others: shift the position by 1..n-1, modulo n
    shift = 1 + (torch.rand(len(idx), generator=generator) * (n - 1).clamp(min=1)).long()
    sibling = order[first[group] + (pos + shift * (n > 1)) % n]  # (B,)
    return sibling, n > 1


def make_segments(fs: FeatureSet, *, stats: NormStats | SpeakerNormStats,
                  frames: int | None = None,
                  hop: int | None = None, label_maps: LabelMaps | None = None,
                  label_mask: np.ndarray | None = None,
                  prosody: np.ndarray | None = None) -> SegmentSet:
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
    prosody : numpy.ndarray, shape (len(fs), P), optional
        Each utterance's prosodic descriptors (:mod:`sertutor.data.prosody`), repeated for
        each of its segments as ``SegmentSet.prosody``.

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
    check_segmenting(frames=frames, hop=hop)
    for i, f in enumerate(fs.features):  # what sertutor.features.segment checks
        check_features(f, name=f"fs.features[{i}]", ndim=(3,), shape_text="(C, n_mels, T)")
        if f.shape[-1] < 1:
            raise ValueError(f"fs.features[{i}] has no frames: shape {tuple(f.shape)}")
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
    # Each utterance's normalised frames are stored once, zero-padded to a whole number of
    # segments, in one preallocated array; a segment is the window at its start column
    # (SegmentFrames), so overlapping segments share their frames instead of copying them.
    # per utterance: segment starts (S,), mask (S, frames), padded frames (segment's layout)
    layouts = [segment_layout(f.shape[-1], frames=frames, hop=hop) for f in fs.features]
    counts = [len(local) for local, _, _ in layouts]  # (n,)
    n_channels, n_mels = (fs.features[0].shape[:2] if n else (1, fs.config.n_mels))
    store = np.zeros((n_channels, n_mels, sum(span for _, _, span in layouts)),
                     np.float32)  # (C, n_mels, F)
    starts = np.empty(sum(counts), np.int64)  # (N_seg,)
    seg_mask = np.empty((sum(counts), frames), bool)  # (N_seg, frames)
    column, row = 0, 0
    for f, norm, (local, mask, span) in zip(fs.features, norms, layouts):
        count = len(local)
        store[:, :, column:column + f.shape[-1]] = norm.apply(f)  # (C, n_mels, T); pad stays 0
        starts[row:row + count] = column + local
        seg_mask[row:row + count] = mask
        column, row = column + span, row + count
    counts_t = torch.as_tensor(counts)  # (n,)

    def per_segment(values: np.ndarray) -> Tensor:  # (n, ...) -> (N_seg, ...)
        return torch.repeat_interleave(torch.from_numpy(values), counts_t, dim=0)

    return SegmentSet(
        x=SegmentFrames(torch.from_numpy(store), torch.from_numpy(starts), frames),
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
        prosody=None if prosody is None else per_segment(_prosody_rows(prosody, n)),
    )


def _prosody_rows(prosody: np.ndarray, n: int) -> np.ndarray:
    """``prosody`` checked: float32 of shape (n, P)."""
    prosody = np.asarray(prosody, dtype=np.float32)
    if prosody.ndim != 2 or len(prosody) != n:
        raise ValueError(f"prosody must have shape ({n}, P), one row per utterance, got "
                         f"{prosody.shape}")
    return prosody
