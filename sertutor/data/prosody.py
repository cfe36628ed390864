"""A corpus's prosodic descriptors (:mod:`sertutor.features.prosody`), cached like its features.

pYIN takes about five seconds per minute of audio on one CPU core, so the descriptors of a
corpus are computed once and kept next to its log-mels, in
``<cache_dir>/prosody-<corpus>-<key>.npz`` (the key of :func:`~sertutor.data.cache.cache_key`
plus :data:`PROSODY_VERSION`), written atomically. An utterance whose audio cannot be read is
reported and gets NaN descriptors (no target); it is never fatal to the corpus.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..audio import AudioError
from ..features.prosody import PROSODY_NAMES, prosody_descriptors, standardise_by_speaker
from ..storage import atomic_write
from .cache import cache_key, cache_path_for_key, corpus_name
from .extract import FeatureSet, _waveform
from .labels import speaker_keys

__all__ = ["corpus_prosody", "speaker_prosody", "PROSODY_VERSION"]

#: Bump when :func:`~sertutor.features.prosody.prosody_descriptors` changes its numbers.
PROSODY_VERSION = 1


def _cache_file(fs: FeatureSet, cache_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """Where the descriptors of ``fs`` are cached (beside its log-mels), and their key."""
    key = f"{cache_key(fs.manifest, fs.config)}-p{PROSODY_VERSION}"
    path = cache_path_for_key(fs.manifest, key, cache_dir)  # <folder>/<corpus>-<key>.npz
    return path.with_name(f"prosody-{path.name}"), key


def _read(path: Path, key: str, ids: np.ndarray) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key or list(z["utt_ids"]) != list(ids):
                return None
            values = z["values"].astype(np.float32)
        return values if values.shape == (len(ids), len(PROSODY_NAMES)) else None
    except Exception:  # a damaged file is rebuilt
        return None


def corpus_prosody(fs: FeatureSet, *, cache_dir: str | os.PathLike | None = None,
                   progress: bool = False) -> np.ndarray:
    """The raw descriptors of every utterance of ``fs``, shape (len(fs), 18), float32.

    Read from the cache when it holds this manifest's; otherwise computed from each row's
    audio (in memory or its file, resampled to ``fs.config.sample_rate``) and cached. A row
    whose audio cannot be read gets NaN, with one warning naming the files.
    """
    ids = fs.manifest["utt_id"].to_numpy(dtype=str)
    path, key = _cache_file(fs, cache_dir)
    if path.exists() and (values := _read(path, key, ids)) is not None:
        return values
    values = np.full((len(fs), len(PROSODY_NAMES)), np.nan, np.float32)
    bad = []
    m = fs.manifest
    for i in tqdm(range(len(fs)), desc=f"prosody {corpus_name(m)}", disable=not progress,
                  leave=False):
        row = m.iloc[i]
        try:
            y = _waveform(row.get("audio"), row.get("path", ""), ids[i], fs.config)
            values[i] = prosody_descriptors(y, sample_rate=fs.config.sample_rate)
        except (AudioError, OSError, ValueError) as err:
            bad.append(f"{row.get('path') or ids[i]}: {err}")
    if bad:
        warnings.warn(f"prosody: {len(bad)} of {len(fs)} utterances unreadable, no target for "
                      f"them: {'; '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}",
                      stacklevel=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, key=np.array(key), utt_ids=ids, values=values,
                 names=np.array(PROSODY_NAMES))
    return values


def speaker_prosody(fs: FeatureSet, *, cache_dir: str | os.PathLike | None = None,
                    progress: bool = False) -> dict[str, np.ndarray]:
    """Descriptors z-scored within each speaker (all of the speaker's utterances in ``fs``,
    never their labels): ``{utt_id: (18,) float32}``, NaN where undefined."""
    values = standardise_by_speaker(corpus_prosody(fs, cache_dir=cache_dir, progress=progress),
                                    speaker_keys(fs.manifest))
    return dict(zip(fs.manifest["utt_id"].to_numpy(dtype=str), values))
