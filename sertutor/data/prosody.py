"""A corpus's prosodic descriptors (:mod:`sertutor.features.prosody`), cached like its features.

pYIN takes about five seconds per minute of audio on one CPU core, so the descriptors of a
corpus are computed once and kept next to its log-mels, in
``<cache_dir>/prosody-<corpus>-<key>.npz`` (the key of :func:`~sertutor.data.cache.cache_key`
plus :data:`PROSODY_VERSION`), written atomically. An utterance whose audio cannot be read is
reported and gets NaN descriptors (no target); it is never fatal to the corpus.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import FeatureConfig
from ..features.prosody import PROSODY_NAMES, rows_descriptors, standardise_by_speaker
from ..runtime import choose_num_workers
from ..storage import atomic_write
from .cache import cache_key, cache_path_for_key, corpus_name
from .extract import FeatureSet
from .labels import speaker_keys

__all__ = ["corpus_prosody", "speaker_prosody", "prosody_cache_path", "PROSODY_VERSION"]

#: Bump when :func:`~sertutor.features.prosody.prosody_descriptors` changes its numbers.
PROSODY_VERSION = 1

#: Utterances per task handed to a worker process.
CHUNK = 16


def prosody_cache_path(manifest, config: FeatureConfig,
                       cache_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Where the descriptors of a corpus are cached (beside its log-mels for ``config``),
    and their key (``sertutor doctor`` asks whether the file is there)."""
    key = f"{cache_key(manifest, config)}-p{PROSODY_VERSION}"
    path = cache_path_for_key(manifest, key, cache_dir)  # <folder>/<corpus>-<key>.npz
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


#: Utterances per worker process below which the descriptors are computed in this process
#: (starting a worker imports numpy and librosa: a second or two).
MIN_UTTERANCES_PER_WORKER = 64


def corpus_prosody(fs: FeatureSet, *, cache_dir: str | os.PathLike | None = None,
                   progress: bool = False, workers: int | None = None) -> np.ndarray:
    """The raw descriptors of every utterance of ``fs``, shape (len(fs), 18), float32.

    Read from the cache when it holds this manifest's; otherwise computed from each row's
    audio (in memory or its file, resampled to ``fs.config.sample_rate``) and cached. A row
    whose audio cannot be read gets NaN, with one warning naming the files.

    ``workers`` processes share the computation (pYIN is single-threaded: two on Binder's two
    cores halve the wait); ``None`` chooses as torch's thread count is chosen
    (:func:`sertutor.runtime.choose_num_workers`: ``OMP_NUM_THREADS`` if set, else the free
    CPUs), with at least :data:`MIN_UTTERANCES_PER_WORKER` utterances each.
    """
    ids = fs.manifest["utt_id"].to_numpy(dtype=str)
    path, key = prosody_cache_path(fs.manifest, fs.config, cache_dir)
    if path.exists() and (values := _read(path, key, ids)) is not None:
        return values
    m = fs.manifest
    audio = m["audio"].tolist() if "audio" in m else [None] * len(m)
    paths = [p if isinstance(p, str) else "" for p in m.get("path", [""] * len(m))]
    rows = list(zip(audio, paths, ids))
    chunks = [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]
    if workers is None:
        workers, _ = choose_num_workers(tasks=len(rows),
                                        min_tasks_per_worker=MIN_UTTERANCES_PER_WORKER)
    rate = fs.config.sample_rate
    bar = tqdm(total=len(rows), desc=f"prosody {corpus_name(m)}", disable=not progress,
               leave=False)
    results: list[tuple[np.ndarray | None, str]] = []
    done = 0  # chunks finished
    if workers > 1:
        try:
            # spawn, not fork: a forked copy of a process that runs torch threads can deadlock
            with ProcessPoolExecutor(max_workers=workers,
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                for part in pool.map(partial(rows_descriptors, sample_rate=rate), chunks):
                    results += part
                    done += 1
                    bar.update(len(part))
        except (BrokenProcessPool, OSError) as err:  # a worker killed (memory), no processes
            warnings.warn(f"prosody: the worker processes failed ({err!r}); computing the "
                          f"remaining {len(rows) - len(results)} utterances in this process",
                          stacklevel=2)
    for chunk in chunks[done:]:
        results += rows_descriptors(chunk, sample_rate=rate)
        bar.update(len(chunk))
    bar.close()
    values = np.full((len(fs), len(PROSODY_NAMES)), np.nan, np.float32)
    bad = []
    for i, (row_values, reason) in enumerate(results):
        if row_values is None:
            bad.append(reason)
        else:
            values[i] = row_values
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
