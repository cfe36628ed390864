"""The feature cache: one ``.npz`` file of log-mels per corpus and feature settings.

Computing log-mels for a corpus takes seconds to minutes, and every notebook and training run
needs them again, so :func:`~sertutor.data.extract.extract_features` keeps them on disk under
``data_dir()/features/<corpus>-<key>.npz`` (:func:`cache_path`). The key
(:func:`cache_key`) hashes everything the numbers depend on: the feature settings (but not
the normalisation ones, which act after the cache),
:data:`sertutor.features.FEATURE_VERSION`, and per utterance its id and either the file's
path, size and modification time or the in-memory samples. Changing any of them makes a new
cache file; nothing is ever read from a stale one.

A cache file is written atomically (:func:`sertutor.storage.atomic_write`), so an interrupted
run leaves no half-written file, and :func:`read_cache` checks what it reads (key, shapes,
ids, finite values) and raises on anything unusable, so the caller rebuilds it.

Layout of a cache file: ``data`` (C, n_mels, sum of T_i) float32, every utterance's frames
one after the other; ``n_frames`` (n,) the T_i; ``utt_ids`` (n,); ``skipped`` (JSON list of
rows whose audio could not be used); ``key``, ``version`` and ``config`` (JSON).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import has_audio
from ..config import FeatureConfig
from ..features import FEATURE_VERSION
from ..storage import atomic_write, data_dir

__all__ = ["cache_key", "cache_path", "cache_path_for_key", "read_cache", "write_cache",
           "corpus_name", "has_audio"]


def corpus_name(manifest: pd.DataFrame) -> str:
    """The corpora of a manifest as a file-name part, e.g. ``"synth-emo"`` (at most 60 chars)."""
    names = sorted({c for c in manifest["corpus"] if c}) or ["corpus"]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "+".join(names))
    return name[:60]


#: FeatureConfig fields that act after the cached log-mels (normalisation): changing them
#: must not rebuild the cache, and leaving them out keeps the keys of older caches.
_NOT_IN_CACHE_KEY = ("normalise", "speaker_prior_utts")


def cache_key(manifest: pd.DataFrame, config: FeatureConfig) -> str:
    """Hash of everything the features depend on (hex, 20 characters).

    The feature settings (but not the normalisation ones, which act after the cache),
    :data:`sertutor.features.FEATURE_VERSION`, and per utterance (sorted
    by ``utt_id``): the id and either the file path with its size and modification time, or a
    hash of the in-memory samples.
    """
    h = hashlib.blake2b(digest_size=10)
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_IN_CACHE_KEY}
    h.update(json.dumps({"config": settings, "version": FEATURE_VERSION},
                        sort_keys=True).encode())
    order = np.argsort(manifest["utt_id"].to_numpy(dtype=str), kind="stable")
    ids, paths, audio = manifest["utt_id"].to_numpy(), manifest["path"].to_numpy(), \
        manifest["audio"].to_numpy()
    for i in order:
        h.update(f"\0{ids[i]}\0".encode())
        if has_audio(audio[i]):
            a = np.ascontiguousarray(audio[i])
            h.update(f"mem:{a.dtype.str}:{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
        else:
            try:
                st = os.stat(paths[i])
                h.update(f"file:{paths[i]}:{st.st_size}:{st.st_mtime_ns}".encode())
            except OSError:
                h.update(f"missing:{paths[i]}".encode())
    return h.hexdigest()


def cache_path(manifest: pd.DataFrame, config: FeatureConfig,
               cache_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`~sertutor.data.extract.extract_features` caches this manifest's features.

    ``<cache_dir or data_dir()/features>/<corpus>-<cache_key>.npz``.
    """
    return cache_path_for_key(manifest, cache_key(manifest, config), cache_dir)


def cache_path_for_key(manifest: pd.DataFrame, key: str,
                       cache_dir: str | os.PathLike | None) -> Path:
    """:func:`cache_path` for an already computed ``key``."""
    folder = Path(cache_dir) if cache_dir is not None else data_dir() / "features"
    return folder / f"{corpus_name(manifest)}-{key}.npz"


def write_cache(path: Path, key: str, config: FeatureConfig, ids: list[str],
                feats: list[np.ndarray], skipped: list) -> None:
    """Write ``feats`` (n arrays (C, n_mels, T_i)) of utterances ``ids`` atomically."""
    lengths = np.array([f.shape[-1] for f in feats], dtype=np.int64)  # (n,)
    data = np.concatenate(feats, axis=-1)  # (C, n_mels, sum T)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, key=np.array(key), version=np.array(FEATURE_VERSION),
                 config=np.array(json.dumps(asdict(config), sort_keys=True)),
                 utt_ids=np.array(ids, dtype=str), n_frames=lengths, data=data,
                 skipped=np.array(json.dumps(skipped)))


def read_cache(path: Path, key: str, config: FeatureConfig,
               manifest: pd.DataFrame) -> tuple[dict[str, np.ndarray], list]:
    """Read a cache file: features by utt_id, each (C, n_mels, T_i), and the skipped rows.

    Raises (any exception) when the file is unusable.
    """
    with np.load(path, allow_pickle=False) as z:
        if str(z["key"]) != key:
            raise ValueError(f"cache key {str(z['key'])!r} does not match {key!r}")
        ids = [str(u) for u in z["utt_ids"]]
        lengths = z["n_frames"].astype(np.int64)
        data = z["data"]
        skipped = [tuple(s) for s in json.loads(str(z["skipped"]))]
    expected = (config.n_channels, config.n_mels)
    if data.ndim != 3 or data.shape[:2] != expected or data.dtype != np.float32:
        raise ValueError(f"features have shape {data.shape} / dtype {data.dtype}; expected "
                         f"{expected + ('T',)} float32")
    if len(lengths) != len(ids) or lengths.sum() != data.shape[-1] or (lengths < 1).any():
        raise ValueError("frame counts do not match the stored features")
    if len(ids) + len(skipped) != len(manifest) or \
            not set(ids) | {s[0] for s in skipped} == set(manifest["utt_id"]):
        raise ValueError("utterance ids do not match the manifest")
    if not np.all(np.isfinite(data)):
        raise ValueError("features hold non-finite values")
    pieces = [np.ascontiguousarray(p)  # n x (C, n_mels, T_i)
              for p in np.split(data, np.cumsum(lengths)[:-1], axis=-1)]
    return dict(zip(ids, pieces)), skipped
