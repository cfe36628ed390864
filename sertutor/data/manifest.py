"""The manifest: one schema for every corpus, one row per utterance.

Synthetic corpora and real-corpus loaders all return a pandas DataFrame with these columns
(a loader may add corpus-specific extra columns after them, e.g. IEMOCAP's ``improvised``):

===================  =====================================================================
column               meaning
===================  =====================================================================
``utt_id``           unique utterance id within the corpus (str)
``path``             audio file path (str), or empty when the audio is held in memory
``audio``            in-memory waveform, float32 16 kHz mono (numpy array), or None
``corpus``           corpus name, e.g. ``synth-emo``, ``ravdess`` (str)
``speaker``          speaker id, unique across the corpus (str)
``gender``           ``female`` / ``male``, or empty if unknown
``emotion``          common 4-class label (:data:`EMOTIONS`), or empty if outside the set
``emotion_extended`` extended label (:data:`EMOTIONS_EXTENDED`), or empty
``intensity``        expressed intensity in [0, 1] (float), NaN if unknown
``arousal``          1-5 scale (float), NaN if unknown
``valence``          1-5 scale (float), NaN if unknown
``dominance``        1-5 scale (float), NaN if unknown
``group``            split group for speaker-independent evaluation (str): a speaker, a
                     speaker group or a recording session
``transcript``       what was said (str), empty if unknown
===================  =====================================================================

"Empty" means ``""`` for text columns and NaN for numeric ones, so ``df[df.emotion != ""]``
selects the emotion-labelled rows.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..storage import atomic_write

__all__ = [
    "COLUMNS",
    "TEXT_COLUMNS",
    "NUMERIC_COLUMNS",
    "EMOTIONS",
    "EMOTIONS_EXTENDED",
    "GENDERS",
    "emotion_labels",
    "make_manifest",
    "validate_manifest",
    "read_manifest_csv",
    "write_manifest_csv",
]

#: The common 4-class emotion set, in the order class indices use.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry")
#: The extended emotion set (the 4 classes first, in the same order).
EMOTIONS_EXTENDED: tuple[str, ...] = ("neutral", "happy", "sad", "angry",
                                      "fear", "disgust", "surprise", "calm")
GENDERS: tuple[str, ...] = ("female", "male")


def emotion_labels(n: int = len(EMOTIONS)) -> tuple[str, ...]:
    """Names of a model's ``n`` emotion classes, in the order of its class indices.

    The first ``n`` of :data:`EMOTIONS` (``model.n_emotions`` is 4 in every preset); a model
    with more classes than :data:`EMOTIONS` names gets ``"emotion 0"``, ``"emotion 1"``, ...
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of emotion classes must be an int >= 0, got {n!r}")
    if n <= len(EMOTIONS):
        return EMOTIONS[:n]
    return tuple(f"emotion {i}" for i in range(n))

TEXT_COLUMNS = ("utt_id", "path", "corpus", "speaker", "gender", "emotion", "emotion_extended",
                "group", "transcript")
NUMERIC_COLUMNS = ("intensity", "arousal", "valence", "dominance")
COLUMNS: tuple[str, ...] = ("utt_id", "path", "audio", "corpus", "speaker", "gender", "emotion",
                            "emotion_extended", "intensity", "arousal", "valence", "dominance",
                            "group", "transcript")


def make_manifest(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a manifest from rows (dicts) or a DataFrame, filling missing fields as empty.

    Columns come in :data:`COLUMNS` order, followed by any extra columns the rows carry.
    Text columns hold ``str`` (missing: ``""``), numeric columns ``float`` (missing: NaN),
    ``audio`` holds arrays or None. The result is validated (:func:`validate_manifest`).
    """
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for col in TEXT_COLUMNS:
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                              else str(v))
    for col in NUMERIC_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
        df[col] = _to_numeric(df[col], col)
    if "audio" not in df.columns:
        df["audio"] = None
    df["audio"] = df["audio"].astype(object)
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra].reset_index(drop=True)
    validate_manifest(df)
    return df


_MISSING_TOKENS = {"", "nan", "na", "n/a", "none", "null"}  # numeric cells read as unknown


def _to_numeric(values: pd.Series, col: str, *, first_line: int | None = None) -> pd.Series:
    """A numeric column as float, missing values NaN; ``ValueError`` naming the rows whose
    value is not a number (``first_line``: CSV line of row 0, to name lines instead)."""
    out = pd.to_numeric(values, errors="coerce").astype(float)
    missing = values.map(lambda v: v is None or (isinstance(v, float) and np.isnan(v))
                         or (isinstance(v, str) and v.strip().lower() in _MISSING_TOKENS))
    bad = np.flatnonzero(out.isna().to_numpy() & ~missing.to_numpy().astype(bool))
    if len(bad):
        where = (lambda i: f"line {first_line + i}") if first_line is not None \
            else (lambda i: f"row {i}")
        shown = ", ".join(f"{where(i)}: {values.iloc[i]!r}" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"column {col!r} must hold numbers (or be empty), found "
                         f"{len(bad)} other value(s): {shown}{more}")
    return out


def validate_manifest(df: pd.DataFrame, *, name: str = "manifest") -> pd.DataFrame:
    """Check a manifest against the schema; raise ``ValueError`` naming what is wrong.

    Checks: all columns present; utterance ids unique and non-empty; every row has a path or
    in-memory audio; gender and emotion labels from the known sets; dimensional values in
    [1, 5] and intensity in [0, 1] where given.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; a manifest needs {list(COLUMNS)}")
    if len(df) == 0:
        return df
    if (df["utt_id"] == "").any():
        raise ValueError(f"{name}: {int((df['utt_id'] == '').sum())} rows have an empty utt_id")
    dup = df["utt_id"][df["utt_id"].duplicated()]
    if len(dup):
        raise ValueError(f"{name}: duplicate utt_id values, e.g. {list(dup[:3])}")
    no_audio = (df["path"] == "") & df["audio"].isna()
    if no_audio.any():
        raise ValueError(f"{name}: rows without path or audio, e.g. utt_id "
                         f"{list(df.loc[no_audio, 'utt_id'][:3])}")
    for col, allowed in (("gender", GENDERS), ("emotion", EMOTIONS),
                         ("emotion_extended", EMOTIONS_EXTENDED)):
        bad = sorted(set(df[col]) - set(allowed) - {""})
        if bad:
            raise ValueError(f"{name}: column {col!r} has unknown values {bad}; "
                             f"expected one of {list(allowed)} or empty")
    for col, lo, hi in (("intensity", 0.0, 1.0), ("arousal", 1.0, 5.0), ("valence", 1.0, 5.0),
                        ("dominance", 1.0, 5.0)):
        values = df[col].dropna()
        if len(values) and (values.min() < lo or values.max() > hi):
            raise ValueError(f"{name}: column {col!r} must lie in [{lo}, {hi}], found "
                             f"[{values.min():.3g}, {values.max():.3g}]")
    return df


def write_manifest_csv(df: pd.DataFrame, path) -> None:
    """Write a manifest as CSV atomically (the ``audio`` column is not written)."""
    validate_manifest(df, name=str(path))
    with atomic_write(path, "w") as handle:
        df.drop(columns=["audio"]).to_csv(handle, index=False)


def _ids_from_paths(paths: list[str]) -> list[str]:
    """Utterance ids for a CSV without ``utt_id``: the file stems when they are unique, else
    the paths without extension (``Actor_01/03-01-01``), made unique."""
    from pathlib import PurePath

    stems = [PurePath(p).stem if p else "" for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    ids = [str(PurePath(p).with_suffix("")) if p else "" for p in paths]
    return ids


def _first_bad_byte(path) -> str:
    """Where a file stops being UTF-8: "byte 0xfc on line 2"."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f"byte {data[exc.start]:#04x} on line {line}"
    return "undecodable bytes"


def read_manifest_csv(path, *, corpus: str | None = None) -> pd.DataFrame:
    """Read a manifest CSV; relative ``path`` entries are resolved against the CSV's folder.

    The CSV needs a ``path`` column; without ``utt_id`` the ids are the files' names without
    extension (or their relative paths when names repeat). Other manifest columns are optional,
    extra ones are kept. ``corpus`` fills the corpus column where it is empty.

    Raises ``FileNotFoundError`` naming the file, or ``ValueError`` naming the file when it is
    empty, not UTF-8 text, lacks the ``path`` column (listing the columns it has next to the
    expected ones) or holds a non-number in a numeric column (naming the line and column).
    """
    import difflib
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "not found"
        raise FileNotFoundError(f"manifest CSV {path} {what}")
    expected = [c for c in COLUMNS if c != "audio"]
    try:
        df = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS + NUMERIC_COLUMNS},
                         keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: manifest CSV is empty; expected a header line with a path "
                         f"column (and optionally {expected}) and one row per utterance") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: manifest CSV is not UTF-8 text ({_first_bad_byte(path)}); "
                         f"save it as UTF-8 CSV") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a readable CSV ({str(exc).strip()})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if "path" not in df.columns:
        found = list(df.columns)
        hints = [f"{c!r} -> {m[0]!r}" for c in found
                 if c not in COLUMNS and (m := difflib.get_close_matches(c, expected, 1, 0.75))]
        raise ValueError(f"{path}: manifest CSV lacks the required column 'path'; the file's "
                         f"columns are {found}, expected 'path' plus any of {expected}"
                         + (f" (misspelt? {', '.join(hints)})" if hints else ""))
    for col in NUMERIC_COLUMNS:
        if col in df.columns:
            try:
                df[col] = _to_numeric(df[col], col, first_line=2)  # line 1 is the header
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    base = path.parent
    df["path"] = [p if (p == "" or Path(p).is_absolute()) else str(base / p) for p in df["path"]]
    if "utt_id" not in df.columns:
        relative = [str(Path(p).relative_to(base)) if p and Path(p).is_relative_to(base) else p
                    for p in df["path"]]
        df.insert(0, "utt_id", _ids_from_paths(relative))
    if corpus is not None:
        if "corpus" not in df.columns:
            df["corpus"] = corpus
        df["corpus"] = df["corpus"].replace("", corpus)
    try:
        return make_manifest(df)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
