"""From a manifest to tensors the model trains on: features, a feature cache, segments, splits.

The pipeline, in the order the notebooks use it::

    fs = extract_features(manifest, config=cfg.features)          # log-mel per utterance, cached
    folds = group_folds(fs.manifest, n_folds=5)                    # speaker-independent splits
    train_idx, test_idx = folds[0]
    train, test = fs.subset(train_idx), fs.subset(test_idx)
    stats = NormStats.fit(train.features)                          # per-corpus normalisation
    maps = LabelMaps.fit(train.manifest)
    keep = label_subset(train.manifest, fraction=0.3)              # semi-supervised: 30 % labels
    seg = make_segments(train, stats=stats, label_maps=maps, label_mask=keep).to("cuda")

- :func:`extract_features` computes log-mel features (:func:`sertutor.features.log_mel`) in
  batches of similar-length utterances, on the CPU or a GPU, and caches them on disk under
  ``data_dir()/features/<corpus>-<key>.npz``. The key hashes the feature settings, the
  utterance ids and each file's size and modification time (or the samples of in-memory audio),
  so changing any of them makes a new cache. Cache files are written atomically; an unreadable
  one is reported and rebuilt.
- :func:`make_segments` normalises and cuts the features into fixed-length segments and holds
  them, with per-segment labels, as tensors in a :class:`SegmentSet`.
- :func:`group_folds`, :func:`leave_one_group_out` and :func:`split_groups` split by the
  manifest's ``group`` column (speaker or session), so no group is on both sides.
- :func:`label_subset` keeps the emotion labels of a stratified fraction of utterances.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..audio import SAMPLE_RATE, AudioError, check_waveform, load_audio
from ..config import FeatureConfig
from ..features import (FEATURE_VERSION, NormStats, SpeakerNormStats, log_mel, n_segments,
                        segment)
from ..storage import atomic_write, data_dir
from .manifest import EMOTIONS, GENDERS, validate_manifest

__all__ = [
    "FeatureSet",
    "extract_features",
    "cache_key",
    "cache_path",
    "LabelMaps",
    "SegmentSet",
    "make_segments",
    "dimension_bins",
    "group_folds",
    "leave_one_group_out",
    "split_groups",
    "label_subset",
    "NormStats",
    "SpeakerNormStats",
    "speaker_keys",
]

#: Bin edges of arousal / valence on the 1-5 scale: <= 2.5 low (0), (2.5, 3.5) mid (1),
#: >= 3.5 high (2).
BIN_EDGES = (2.5, 3.5)
BIN_NAMES = ("low", "mid", "high")


# ================================================================================ features
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


def _has_audio(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _corpus_name(manifest: pd.DataFrame) -> str:
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
        if _has_audio(audio[i]):
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
    """Where :func:`extract_features` caches this manifest's features.

    ``<cache_dir or data_dir()/features>/<corpus>-<cache_key>.npz``.
    """
    return _cache_file(manifest, cache_key(manifest, config), cache_dir)


def _cache_file(manifest: pd.DataFrame, key: str, cache_dir) -> Path:
    folder = Path(cache_dir) if cache_dir is not None else data_dir() / "features"
    return folder / f"{_corpus_name(manifest)}-{key}.npz"


def _approx_length(audio: Any, path: str, sample_rate: int) -> int:
    """Samples at ``sample_rate`` without decoding (0 when unknown: such rows go first)."""
    if _has_audio(audio):
        return int(np.size(audio) * sample_rate / SAMPLE_RATE)
    try:
        import soundfile as sf

        info = sf.info(path)
        return int(info.frames * sample_rate / info.samplerate)
    except Exception:
        return 0


def _waveform(row_audio: Any, path: str, utt_id: str, config: FeatureConfig) -> np.ndarray:
    """The row's audio as float32 at ``config.sample_rate``; raises AudioError."""
    if _has_audio(row_audio):
        source = path or f"{utt_id} (in-memory audio)"
        y = check_waveform(row_audio, source=source)
        if config.sample_rate != SAMPLE_RATE:
            import librosa

            y = librosa.resample(y, orig_sr=SAMPLE_RATE, target_sr=config.sample_rate)
            y = check_waveform(y, source=source)
        return y
    return load_audio(path, sample_rate=config.sample_rate)


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
    from tqdm.auto import tqdm

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
                wave = _waveform(audio[i], paths[i], ids[i], config)
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


def _save_cache(path: Path, key: str, config: FeatureConfig, ids: list[str],
                feats: list[np.ndarray], skipped: list) -> None:
    lengths = np.array([f.shape[-1] for f in feats], dtype=np.int64)  # (n,)
    data = np.concatenate(feats, axis=-1)  # (C, n_mels, sum T)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, key=np.array(key), version=np.array(FEATURE_VERSION),
                 config=np.array(json.dumps(asdict(config), sort_keys=True)),
                 utt_ids=np.array(ids, dtype=str), n_frames=lengths, data=data,
                 skipped=np.array(json.dumps(skipped)))


def _load_cache(path: Path, key: str, config: FeatureConfig,
                manifest: pd.DataFrame) -> tuple[dict[str, np.ndarray], list]:
    """Read a cache file; raises (any exception) when it is unusable."""
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
        Read / write the cache file (:func:`cache_path`).
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
    path = _cache_file(manifest, key, cache_dir) if cache else None
    by_id: dict[str, np.ndarray] | None = None
    if path is not None and path.is_file():
        try:
            by_id, skipped = _load_cache(path, key, config, manifest)
        except Exception as exc:  # truncated zip, bad CRC, wrong contents...: rebuild
            warnings.warn(f"feature cache {path} is unreadable ({type(exc).__name__}: {exc}); "
                          "rebuilding it", UserWarning, stacklevel=2)
            by_id = None
    if by_id is None:
        by_id, skipped = _compute(manifest, config, str(device), int(batch_size), progress,
                                  desc=f"log-mel {_corpus_name(manifest)}")
        if by_id and path is not None:
            ids = [u for u in manifest["utt_id"] if u in by_id]
            _save_cache(path, key, config, ids, [by_id[u] for u in ids], skipped)
    _warn_skipped(skipped, len(manifest))
    if not by_id:
        reasons = "; ".join(f"{src}: {reason}" for _, src, reason in skipped[:5])
        raise ValueError(f"none of the {len(manifest)} utterances has usable audio ({reasons})")
    keep = manifest["utt_id"].isin(by_id).to_numpy()
    kept = manifest[keep].reset_index(drop=True)
    return FeatureSet(manifest=kept, features=[by_id[u] for u in kept["utt_id"]],
                      config=config, skipped=list(skipped), cache_file=path)


# ================================================================================== labels
def speaker_keys(manifest: pd.DataFrame) -> np.ndarray:
    """``corpus/speaker`` per row ('' where the speaker is unknown), shape (n,), object.

    Speaker ids are unique within a corpus only, so the key names the corpus too; it is what
    :class:`LabelMaps` and :class:`~sertutor.features.SpeakerNormStats` index speakers by.
    """
    return np.array([f"{c}/{s}" if s else "" for c, s in
                     zip(manifest["corpus"], manifest["speaker"])], dtype=object)


def _encode(values: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int64)


@dataclass
class LabelMaps:
    """Class lists that turn manifest labels into indices (what checkpoints store).

    Attributes
    ----------
    emotions : tuple of str
        Emotion classes (:data:`~sertutor.data.manifest.EMOTIONS`; index = class).
    speakers : tuple of str
        Speaker keys ``"<corpus>/<speaker>"`` (speaker ids are unique within a corpus only).
    genders : tuple of str
        ``("female", "male")``: 0 female, 1 male.
    """

    emotions: tuple[str, ...] = EMOTIONS
    speakers: tuple[str, ...] = ()
    genders: tuple[str, ...] = GENDERS

    def __post_init__(self):
        self.emotions, self.speakers, self.genders = (tuple(self.emotions),
                                                      tuple(self.speakers), tuple(self.genders))

    @classmethod
    def fit(cls, manifest: pd.DataFrame) -> "LabelMaps":
        """Speakers (sorted) of a manifest, usually the auxiliary training corpus."""
        validate_manifest(manifest)
        return cls(speakers=tuple(sorted(set(speaker_keys(manifest)) - {""})))

    @property
    def n_emotions(self) -> int:
        return len(self.emotions)

    @property
    def n_speakers(self) -> int:
        return len(self.speakers)

    def encode_emotion(self, manifest: pd.DataFrame) -> np.ndarray:
        """Emotion index per row, shape (n,), -1 where unlabelled or outside the classes."""
        return _encode(manifest["emotion"], self.emotions)

    def encode_speaker(self, manifest: pd.DataFrame) -> np.ndarray:
        """Speaker index per row, shape (n,), -1 for speakers not in :attr:`speakers`."""
        return _encode(speaker_keys(manifest), self.speakers)

    def encode_gender(self, manifest: pd.DataFrame) -> np.ndarray:
        """Gender index per row, shape (n,): 0 female, 1 male, -1 unknown."""
        return _encode(manifest["gender"], self.genders)

    def to_dict(self) -> dict[str, list[str]]:
        return {"emotions": list(self.emotions), "speakers": list(self.speakers),
                "genders": list(self.genders)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelMaps":
        try:
            return cls(emotions=tuple(data["emotions"]), speakers=tuple(data["speakers"]),
                       genders=tuple(data["genders"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"LabelMaps.from_dict needs keys emotions, speakers, genders "
                             f"({exc})") from exc


def dimension_bins(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Arousal / valence (1-5 scale) as classes: <= 2.5 low 0, (2.5, 3.5) mid 1, >= 3.5 high 2.

    NaN (unknown) gives -1. Returns int64 of the input's shape.
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.where(v <= BIN_EDGES[0], 0, np.where(v >= BIN_EDGES[1], 2, 1)).astype(np.int64)
    out[np.isnan(v)] = -1
    return out


# ================================================================================ segments
_TENSORS = ("x", "mask", "utt", "emotion", "speaker", "gender", "arousal", "valence",
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
        for name in _TENSORS:
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
        return SegmentSet(**{k: getattr(self, k).to(device) for k in _TENSORS},
                          n_utterances=self.n_utterances)

    def subset(self, index: Tensor | np.ndarray | Sequence[int]) -> "SegmentSet":
        """The segments selected by a boolean mask (N_seg,) or an index array."""
        if not isinstance(index, Tensor):
            index = torch.as_tensor(np.asarray(index))
        if index.dtype == torch.bool and index.shape != (len(self),):
            raise ValueError(f"a boolean mask must have shape ({len(self)},), got "
                             f"{tuple(index.shape)}")
        index = index.to(self.device)
        return SegmentSet(**{k: getattr(self, k)[index] for k in _TENSORS},
                          n_utterances=self.n_utterances)


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
        :func:`speaker_keys`; rows of unknown speakers with the reference statistics).
    frames, hop : int, optional
        Segment length and shift in frames (default: ``fs.config.segment_frames`` /
        ``segment_hop``); see :func:`sertutor.features.segment`.
    label_maps : LabelMaps, optional
        Label indices (default: ``LabelMaps.fit(fs.manifest)``).
    label_mask : numpy.ndarray of bool, shape (len(fs),), optional
        Rows whose emotion labels are kept (:func:`label_subset`); other rows get emotion -1
        and unknown arousal / valence, i.e. become unlabelled data.

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


# ================================================================================== splits
def _groups(manifest: pd.DataFrame) -> np.ndarray:
    """The ``group`` column, falling back to ``corpus/speaker`` where it is empty."""
    if not isinstance(manifest, pd.DataFrame) or "group" not in manifest.columns:
        raise ValueError("manifest must be a DataFrame with a 'group' column")
    groups = manifest["group"].to_numpy(dtype=object).copy()
    empty = groups == ""
    if empty.any():
        groups[empty] = speaker_keys(manifest[empty])
        still = groups == ""
        if still.any():
            raise ValueError(f"manifest: {int(still.sum())} rows have neither a group nor a "
                             f"speaker, e.g. utt_id {list(manifest['utt_id'][still][:3])}; "
                             "speaker-independent splits need one")
    return groups.astype(str)


def group_folds(manifest: pd.DataFrame, *, n_folds: int,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """K speaker-independent folds: every group is in exactly one test fold.

    Uses sklearn's ``StratifiedGroupKFold`` (stratified by emotion, groups shuffled by ``seed``)
    when the manifest has more than one emotion value, else ``GroupKFold``.

    Returns
    -------
    list of (train_idx, test_idx)
        Row positions (int64), ``n_folds`` pairs; no group appears on both sides.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = _groups(manifest)
    n_groups = len(set(groups))
    if not isinstance(n_folds, (int, np.integer)) or not 2 <= n_folds <= n_groups:
        raise ValueError(f"n_folds must be an int in [2, {n_groups}] (the number of groups), "
                         f"got {n_folds!r}")
    X = np.zeros((len(groups), 1))
    y = manifest["emotion"].to_numpy(dtype=str)
    folds = None
    if len(set(y)) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "least populated class" notices
            splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            folds = [(tr, te) for tr, te in splitter.split(X, y, groups)]
        if any(len(te) == 0 for _, te in folds):
            folds = None
    if folds is None:
        splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = list(splitter.split(X, None, groups))
    return [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in folds]


def leave_one_group_out(manifest: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fold per group (speaker or session), groups in sorted order.

    Returns
    -------
    list of (train_idx, test_idx)
        Row positions (int64); fold ``k`` tests on the ``k``-th group alone.
    """
    from sklearn.model_selection import LeaveOneGroupOut

    groups = _groups(manifest)
    if len(set(groups)) < 2:
        raise ValueError("leave_one_group_out needs at least 2 groups, found "
                         f"{len(set(groups))}")
    X = np.zeros((len(groups), 1))
    return [(tr.astype(np.int64), te.astype(np.int64))
            for tr, te in LeaveOneGroupOut().split(X, None, groups)]


def split_groups(manifest: pd.DataFrame, *, fraction: float,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random ``fraction`` of the groups (e.g. validation speakers).

    ``round(fraction * n_groups)`` groups are held out, at least 1 when ``fraction > 0`` and at
    most ``n_groups - 1``.

    Returns
    -------
    (train_idx, held_idx)
        Row positions (int64, sorted); no group is on both sides.
    """
    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    groups = _groups(manifest)
    unique = np.array(sorted(set(groups)))
    if fraction == 0.0:
        return np.arange(len(groups), dtype=np.int64), np.zeros(0, dtype=np.int64)
    if len(unique) < 2:
        raise ValueError(f"split_groups needs at least 2 groups, found {len(unique)}")
    n_held = min(max(1, int(round(fraction * len(unique)))), len(unique) - 1)
    held_groups = np.random.default_rng(seed).permutation(unique)[:n_held]
    held = np.isin(groups, held_groups)
    return np.flatnonzero(~held).astype(np.int64), np.flatnonzero(held).astype(np.int64)


def label_subset(manifest: pd.DataFrame, *, fraction: float, seed: int = 0) -> np.ndarray:
    """Which rows keep their emotion label when only a ``fraction`` of labels is used.

    Stratified by emotion: of each class's labelled rows, ``round(fraction * n_class)`` (at
    least 1) are kept, chosen at random with ``seed``. Rows without an emotion label are never
    kept. ``fraction=1.0`` keeps every labelled row.

    Returns
    -------
    numpy.ndarray of bool, shape (len(manifest),)
    """
    if not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if not isinstance(manifest, pd.DataFrame) or "emotion" not in manifest.columns:
        raise ValueError("manifest must be a DataFrame with an 'emotion' column")
    emotion = manifest["emotion"].to_numpy(dtype=str)
    keep = np.zeros(len(emotion), dtype=bool)
    rng = np.random.default_rng(seed)
    classes = [e for e in EMOTIONS if e in set(emotion)] + \
        sorted(set(emotion) - set(EMOTIONS) - {""})
    for label in classes:
        rows = np.flatnonzero(emotion == label)
        n_keep = len(rows) if fraction >= 1.0 else max(1, int(round(fraction * len(rows))))
        keep[rng.permutation(rows)[:n_keep]] = True
    return keep
