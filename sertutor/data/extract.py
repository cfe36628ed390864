"""Log-mel features of every utterance of a manifest, computed in batches and cached.

:func:`extract_features` turns a manifest (:mod:`sertutor.data.manifest`) into a
:class:`FeatureSet`: one array of shape (C, n_mels, T_i) per usable row. It reads each row's
audio (the ``audio`` column where set, else the file at ``path``), sorts the utterances by
length so that similar lengths share a batch, and runs :func:`sertutor.features.log_mel` on
zero-padded batches on the CPU or a GPU. Memory is bounded whatever the file lengths: a
batch pads to at most :data:`MAX_BATCH_SAMPLES` samples in all. Rows whose audio cannot be
used are skipped and named in one warning. The result is cached on disk
(:mod:`sertutor.data.cache`), so the second call for the same corpus and settings reads it
back.

Shapes: ``FeatureSet.features[i]`` is (C, n_mels, T_i), float32, valid frames only, with
``C = config.n_channels`` and ``T_i = 1 + N_i // hop_length`` for ``N_i`` samples.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from ..audio import SAMPLE_RATE, AudioError, has_audio, row_waveform
from ..config import FeatureConfig
from ..features import log_mel
from .cache import cache_key, cache_path_for_key, corpus_name, read_cache, write_cache
from .manifest import validate_manifest

__all__ = ["FeatureSet", "extract_features", "MAX_BATCH_SAMPLES", "LONG_FILE_SECONDS"]


@dataclass
class FeatureSet:
    """Features of a corpus, one array per manifest row.

    Attributes
    ----------
    manifest : pandas.DataFrame
        The rows that have features (rows whose audio failed are dropped), index 0..n-1.
    features : list of numpy.ndarray, each (C, n_mels, T_i), float32
        Valid frames only; ``features[i]`` belongs to ``manifest.iloc[i]``.
    config : FeatureConfig
        The settings they were computed with.
    skipped : list of (utt_id, source, reason)
        Rows dropped because their audio could not be used.
    cache_file : pathlib.Path or None
        The cache file they were read from or written to.
    """

    manifest: pd.DataFrame
    features: list[np.ndarray]
    config: FeatureConfig
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    cache_file: Path | None = None

    def __post_init__(self):
        if len(self.manifest) != len(self.features):
            raise ValueError(f"manifest has {len(self.manifest)} rows but there are "
                             f"{len(self.features)} feature arrays")

    def __len__(self) -> int:
        return len(self.features)

    @property
    def n_frames(self) -> np.ndarray:
        """Frames per utterance, shape (n,)."""
        return np.array([f.shape[-1] for f in self.features], dtype=np.int64)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "FeatureSet":
        """The utterances at positions ``rows`` (ints, or a boolean mask of length n)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise ValueError(f"boolean rows must have shape ({len(self)},), got {rows.shape}")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        return FeatureSet(manifest=self.manifest.iloc[rows].reset_index(drop=True),
                          features=[self.features[i] for i in rows], config=self.config,
                          skipped=list(self.skipped), cache_file=self.cache_file)


def _approx_length(audio: Any, path: str, sample_rate: int) -> int:
    """Samples at ``sample_rate`` without decoding (0 when unknown: such rows go first)."""
    if has_audio(audio):
        return int(np.size(audio) * sample_rate / SAMPLE_RATE)
    try:
        import soundfile as sf  # loads a C library: only when a file is read (as in audio)

        info = sf.info(path)
        return int(info.frames * sample_rate / info.samplerate)
    except Exception:
        return 0


#: Most padded samples in one feature batch (4 minutes of 16 kHz audio, 15 MB as float32):
#: with batch_size alone, one long file would pad every utterance of its batch to its length
#: (a 10-minute WAV made a batch of 32 take about 4 GB).
MAX_BATCH_SAMPLES = 16000 * 240

#: Files longer than this (seconds) are reported: SER models look at a few seconds at a time.
LONG_FILE_SECONDS = 60.0


def _compute(manifest: pd.DataFrame, config: FeatureConfig, device: str, batch_size: int,
             progress: bool, desc: str) -> tuple[dict[str, np.ndarray], list]:
    """Features by utt_id for the usable rows, and the skipped rows.

    Utterances go through in order of length, in batches of at most ``batch_size`` that pad
    to at most :data:`MAX_BATCH_SAMPLES` samples in all (a longer file goes alone), so memory
    is bounded whatever the file lengths.
    """
    from tqdm.auto import tqdm  # may import IPython and ipywidgets: only when extracting

    ids = manifest["utt_id"].to_numpy()
    paths = manifest["path"].to_numpy()
    audio = manifest["audio"].to_numpy()
    approx = np.array([_approx_length(a, p, config.sample_rate) for a, p in zip(audio, paths)])
    order = np.argsort(approx, kind="stable")  # similar lengths share a batch: little padding
    out: dict[str, np.ndarray] = {}
    skipped: list[tuple[str, str, str]] = []
    long_files: list[str] = []
    waves: list[np.ndarray] = []
    keep: list[int] = []

    def flush() -> None:
        lengths = np.array([w.size for w in waves])  # (B,)
        padded = np.zeros((len(waves), lengths.max()), dtype=np.float32)  # (B, N)
        for b, w in enumerate(waves):
            padded[b, :w.size] = w
        x = torch.from_numpy(padded).to(device)  # (B, N)
        feats, valid = log_mel(x, config=config, lengths=torch.from_numpy(lengths).to(device))
        feats = feats.float().cpu().numpy()  # (B, C, n_mels, T)
        for b, i in enumerate(keep):
            out[str(ids[i])] = feats[b, :, :, :int(valid[b])].copy()  # (C, n_mels, T_b)
        waves.clear()
        keep.clear()

    with tqdm(total=len(order), desc=desc, unit="utt", disable=not progress) as bar:
        for i in order:
            try:
                wave = row_waveform(audio[i], paths[i], utt_id=ids[i],
                                    sample_rate=config.sample_rate)
            except AudioError as exc:
                skipped.append((str(ids[i]), exc.source, exc.reason))
                bar.update(1)
                continue
            if wave.size > LONG_FILE_SECONDS * config.sample_rate:
                long_files.append(f"{ids[i]} ({wave.size / config.sample_rate:.0f} s)")
            longest = max([wave.size] + [w.size for w in waves])
            if waves and (len(waves) == batch_size
                          or (len(waves) + 1) * longest > MAX_BATCH_SAMPLES):
                flush()
            waves.append(wave)
            keep.append(i)
            bar.update(1)
        if waves:
            flush()
    if long_files:
        shown = ", ".join(long_files[:5]) + (f" and {len(long_files) - 5} more"
                                             if len(long_files) > 5 else "")
        warnings.warn(f"{len(long_files)} file(s) longer than {LONG_FILE_SECONDS:.0f} s: "
                      f"{shown}. SER models look at a few seconds at a time; features were "
                      "computed in bounded memory, but consider cutting long recordings into "
                      "utterances.", stacklevel=3)
    return out, skipped


def _warn_skipped(skipped: list, total: int) -> None:
    if not skipped:
        return
    shown = "; ".join(f"{src}: {reason}" for _, src, reason in skipped[:10])
    more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    warnings.warn(f"skipped {len(skipped)} of {total} utterances whose audio could not be used: "
                  f"{shown}{more}", UserWarning, stacklevel=3)


def extract_features(manifest: pd.DataFrame, *, config: FeatureConfig, device: str = "cpu",
                     batch_size: int = 32, cache: bool = True,
                     cache_dir: str | os.PathLike | None = None,
                     progress: bool = True) -> FeatureSet:
    """Log-mel features of every utterance in a manifest, cached on disk.

    Audio comes from the manifest's ``audio`` column where set, else from ``path``
    (:func:`sertutor.audio.load_audio`). Utterances are sorted by length and processed in
    batches of ``batch_size`` on ``device`` by :func:`sertutor.features.log_mel`.

    Parameters
    ----------
    manifest : pandas.DataFrame
        A manifest (:mod:`sertutor.data.manifest`).
    config : FeatureConfig
        Feature settings (``cfg.features`` of a preset).
    device : str
        ``"cpu"`` or ``"cuda"`` (or ``"cuda:1"``...): where the transform runs.
    batch_size : int
        Utterances per batch.
    cache : bool
        Read / write the cache file (:func:`~sertutor.data.cache.cache_path`).
    cache_dir : path-like, optional
        Folder for cache files (default: ``data_dir() / "features"``).
    progress : bool
        Show a tqdm progress bar while extracting.

    Returns
    -------
    FeatureSet
        ``features[i]`` of shape (C, n_mels, T_i), float32, for ``manifest.iloc[i]`` of the
        kept rows (in manifest order, index reset).

    Warns
    -----
    UserWarning
        Once, naming every file (or in-memory utterance) whose audio could not be used and why;
        those rows are skipped. Also when a cache file is unreadable (it is rebuilt).

    Raises
    ------
    ValueError
        If the manifest is empty or invalid, or no row has usable audio.
    """
    validate_manifest(manifest)
    if not isinstance(config, FeatureConfig):
        raise TypeError(f"config must be a FeatureConfig, got {type(config).__name__}")
    if len(manifest) == 0:
        raise ValueError("manifest is empty: no utterances to extract features from")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    manifest = manifest.reset_index(drop=True)
    key = cache_key(manifest, config) if cache else ""
    path = cache_path_for_key(manifest, key, cache_dir) if cache else None
    by_id: dict[str, np.ndarray] | None = None
    if path is not None and path.is_file():
        try:
            by_id, skipped = read_cache(path, key, config, manifest)
        except Exception as exc:  # truncated zip, bad CRC, wrong contents...: rebuild
            warnings.warn(f"feature cache {path} is unreadable ({type(exc).__name__}: {exc}); "
                          "rebuilding it", UserWarning, stacklevel=2)
            by_id = None
    if by_id is None:
        by_id, skipped = _compute(manifest, config, str(device), int(batch_size), progress,
                                  desc=f"log-mel {corpus_name(manifest)}")
        if by_id and path is not None:
            ids = [u for u in manifest["utt_id"] if u in by_id]
            write_cache(path, key, config, ids, [by_id[u] for u in ids], skipped)
    _warn_skipped(skipped, len(manifest))
    if not by_id:
        reasons = "; ".join(f"{src}: {reason}" for _, src, reason in skipped[:5])
        raise ValueError(f"none of the {len(manifest)} utterances has usable audio ({reasons})")
    keep = manifest["utt_id"].isin(by_id).to_numpy()
    kept = manifest[keep].reset_index(drop=True)
    return FeatureSet(manifest=kept, features=[by_id[u] for u in kept["utt_id"]],
                      config=config, skipped=list(skipped), cache_file=path)
