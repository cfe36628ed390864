"""Cutting one utterance's features into fixed-length segments: :func:`segment`.

The encoder reads images of a fixed size, ``(C, n_mels, frames)``, while utterances last from
under a second to many seconds. Each utterance is therefore cut into segments of ``frames``
frames every ``hop`` frames (overlapping when ``hop < frames``); the last segment is
zero-padded, and a mask says which frames are real. A model's segment outputs are pooled back
into one decision per utterance (:func:`sertutor.evaluate.pool_utterances`).
:func:`n_segments` says how many segments an utterance gives without cutting it.

Shapes: features ``(C, n_mels, T)``; segments ``(S, C, n_mels, frames)``; mask ``(S, frames)``.

References
----------
- S. Latif, R. Rana, S. Khalifa, R. Jurdak, J. Epps and B. W. Schuller, "Multi-task
  semi-supervised adversarial autoencoding for speech emotion recognition", IEEE Trans.
  Affective Computing 13(2), 2022 (the model this package builds reads log-mel segments).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ._checks import check_features

__all__ = ["n_segments", "segment_layout", "segment"]


def n_segments(n_frames: int, *, frames: int, hop: int) -> int:
    """How many segments :func:`segment` cuts from ``n_frames`` frames:
    ``1 + ceil(max(n_frames - frames, 0) / hop)``."""
    return 1 + -(-max(int(n_frames) - frames, 0) // hop)  # ceil division


def check_segmenting(*, frames: int, hop: int) -> None:
    """Raise ``ValueError`` unless ``frames`` >= 1 and 1 <= ``hop`` <= ``frames`` (ints)."""
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be a positive int, got {frames!r}")
    if not isinstance(hop, (int, np.integer)) or not 1 <= hop <= frames:
        raise ValueError(f"hop must be an int in [1, frames={frames}], got {hop!r}")


def segment_layout(n_frames: int, *, frames: int,
                   hop: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Where :func:`segment` cuts ``n_frames`` frames, without cutting them.

    ``frames`` and ``hop`` are taken as valid (:func:`check_segmenting`); ``n_frames`` >= 1.

    Returns
    -------
    starts : numpy.ndarray of int64, shape (S,)
        First frame of each segment, ``s * hop``.
    mask : numpy.ndarray of bool, shape (S, frames)
        True for real frames, False for padding.
    total : int
        Frames after zero-padding, ``(S - 1) * hop + frames``.
    """
    S = n_segments(n_frames, frames=frames, hop=hop)
    starts = np.arange(S, dtype=np.int64) * hop  # (S,)
    mask = (starts[:, None] + np.arange(frames)[None, :]) < n_frames  # (S, frames)
    return starts, mask, int((S - 1) * hop + frames)


def segment(features: np.ndarray | Tensor, *, frames: int,
            hop: int) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
    """Cut one utterance's features into fixed-length segments.

    Segment ``s`` covers frames ``[s * hop, s * hop + frames)``; there are
    ``S = 1 + ceil(max(T - frames, 0) / hop)`` of them, so every frame is covered and the last
    segment (or the only one, for an utterance shorter than ``frames``) is zero-padded at the
    end. Pad value 0 is the corpus mean once features are normalised.

    Parameters
    ----------
    features : numpy.ndarray or torch.Tensor, shape (C, n_mels, T)
        One utterance's (normalised) features.
    frames : int
        Segment length in frames.
    hop : int
        Frames between segment starts, 1 <= hop <= frames.

    Returns
    -------
    segments : same type as ``features``, shape (S, C, n_mels, frames)
    mask : bool array / tensor, shape (S, frames)
        True for real frames, False for padding.
    """
    check_features(features, name="features", ndim=(3,), shape_text="(C, n_mels, T)")
    check_segmenting(frames=frames, hop=hop)
    T = features.shape[-1]
    if T < 1:
        raise ValueError(f"features has no frames: shape {tuple(features.shape)}")
    _, mask, total = segment_layout(T, frames=frames, hop=hop)  # mask (S, frames)
    if isinstance(features, Tensor):
        padded = torch.nn.functional.pad(features, (0, total - T))  # (C, n_mels, total)
        segs = padded.unfold(-1, frames, hop)  # (C, n_mels, S, frames)
        segs = segs.permute(2, 0, 1, 3).contiguous()  # (S, C, n_mels, frames)
        return segs, torch.from_numpy(mask).to(features.device)
    padded = np.pad(features, ((0, 0), (0, 0), (0, total - T)))  # (C, n_mels, total)
    segs = np.lib.stride_tricks.sliding_window_view(padded, frames, axis=-1)[..., ::hop, :]
    # segs: (C, n_mels, S, frames)
    segs = np.ascontiguousarray(segs.transpose(2, 0, 1, 3))  # (S, C, n_mels, frames)
    return segs, mask
