"""What every corpus loader shares: finding files, parsing names, checking audio, one warning.

A loader in this package does four things, and only the first two are its own:

1. check the corpus's published layout (:func:`require_dir`, :func:`require_file`), read its
   label and metadata files, and list its audio (:func:`audio_files`);
2. parse each file name into a manifest row (a ``parse(path) -> dict`` closure that raises
   :class:`BadName` for a name that breaks the convention; :func:`check_fields` checks several
   fields at once);
3. :func:`parse_files` applies that parser to every file and collects the rows and the
   ``(path, reason)`` of each file it had to skip;
4. :func:`finish` drops duplicate ids, optionally caps utterances per speaker, checks the audio
   (without ever opening a pipe or a device), issues ONE :class:`CorpusWarning` listing every
   skipped file, raises :class:`ValueError` when nothing is usable, and builds the manifest
   (:func:`sertutor.data.manifest.make_manifest`).

:func:`shared_doc` fills in the numpydoc ``check_audio`` parameter and ``Returns`` section
that all the loaders share.
"""

from __future__ import annotations

import math
import os
import re
import stat
import textwrap
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd

from ...audio import MIN_SAMPLES, SAMPLE_RATE, AudioError, load_audio
from ..manifest import make_manifest

PathLike = str | os.PathLike

#: Gender letters as the corpora write them (IEMOCAP, MSP-IMPROV, LibriSpeech, VoxCeleb1).
GENDER_LETTER = {"F": "female", "M": "male", "f": "female", "m": "male"}

# --------------------------------------------------------------------------------------------
# Shared docstring sections
# --------------------------------------------------------------------------------------------

#: The numpydoc pieces every loader's docstring shares, by placeholder name.
SHARED_DOC: dict[str, str] = {
    "check_audio": ("check_audio : bool\n"
                    "    Validate each file and skip unusable ones (listed in a "
                    ":class:`CorpusWarning`)."),
    "returns": "Returns\n-------\npandas.DataFrame\n    The manifest, one row per utterance.",
}
_PLACEHOLDER = re.compile(r"^( *)\{(" + "|".join(SHARED_DOC) + r")\}$", re.MULTILINE)

_F = TypeVar("_F", bound=Callable[..., Any])


def shared_doc(loader: _F) -> _F:
    """Decorator: replace each ``{check_audio}`` / ``{returns}`` line of the docstring.

    The placeholder stands alone on its line; its indentation is kept for every line of the
    inserted text (:data:`SHARED_DOC`), so ``help(load_ravdess)`` shows complete numpydoc.
    """
    if loader.__doc__:
        loader.__doc__ = _PLACEHOLDER.sub(
            lambda m: textwrap.indent(SHARED_DOC[m.group(2)], m.group(1)), loader.__doc__)
    return loader


# --------------------------------------------------------------------------------------------
# Find files, parse names, collect reasons, check audio, build the manifest
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


class BadName(ValueError):
    """Raised by a loader's name parser: the file breaks the corpus's naming convention."""


_MAX_LISTED = 20  # skipped files shown in a warning message


def require_dir(path: PathLike, corpus: str, expected: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "not found"
        raise FileNotFoundError(f"{corpus}: folder {path} {what}; the {corpus} layout expects "
                                f"{expected} there")
    return path


def require_file(path: Path, corpus: str, expected: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{corpus}: file {path} not found; the {corpus} layout expects "
                                f"{expected} there")
    return path


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def audio_files(folder: Path, exts: Iterable[str] = (".wav",)) -> list[Path]:
    """All files under ``folder`` (recursively) with one of ``exts`` (any case), sorted.

    Sub-folders that cannot be listed are returned too (as the folder's path), so that
    :func:`parse_files` reports them by name instead of losing their files silently.
    """
    exts = tuple(e.lower() for e in exts)
    found = []

    def unreadable(exc: OSError) -> None:
        if exc.filename is not None:
            found.append(Path(exc.filename))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        found += [Path(dirpath, f) for f in filenames
                  if not is_hidden(f) and f.lower().endswith(exts)]
    return sorted(found)


def _shown(path: str | os.PathLike) -> str:
    """A path printable whatever its bytes: undecodable bytes shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISDIR, "a folder"))


def _not_a_usable_file(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as an audio file without opening it (None: it can).

    Only regular files are accepted: opening a named pipe or a device such as /dev/zero
    would block or never end. Folders are reported as unreadable when they cannot be listed.
    Names that are not valid UTF-8 are refused (they cannot be stored in a manifest CSV).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot access it ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        try:
            os.listdir(path)
        except OSError as exc:
            return (f"folder cannot be read ({exc.strerror or exc}); its files were not "
                    f"loaded")
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _FILE_KINDS if test(mode)), "not a regular file")
        return f"{kind}, not a regular audio file; only regular files are read"
    name = os.fspath(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return ("file name is not valid UTF-8 (shown with \\x escapes); rename the file "
                "with UTF-8 characters")
    return None


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


def parse_files(files: Iterable[Path], parse: Callable[[Path], dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Apply a loader's name parser to each file; collect rows and (path, reason) failures."""
    rows, skipped = [], []
    for path in files:
        problem = _not_a_usable_file(path)
        if problem is not None:
            skipped.append((_shown(path), problem))
            continue
        try:
            row = parse(path)
        except BadName as exc:
            skipped.append((str(path), str(exc)))
            continue
        if row is not None:  # None: deliberately left out (e.g. RAVDESS song), no warning
            row["path"] = str(path)
            rows.append(row)
    return rows, skipped


def finish(corpus: str, root: Path, rows: list[dict[str, Any]],
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
        if row.get("path") and (check_audio or os.path.lexists(row["path"])):
            problem = _not_a_usable_file(row["path"])  # never open a pipe or a device
            if problem is not None:
                skipped.append((_shown(row["path"]), problem))
                continue
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


def emotion_labels(table: Mapping[str, tuple[str, str]], code: str) -> tuple[str, str]:
    return table.get(code, ("", ""))


def read_text(path: Path) -> str:
    """A label, transcript or metadata text file; undecodable bytes replaced, never an error."""
    return path.read_text(encoding="utf-8", errors="replace")


def check_fields(checks: Iterable[tuple[bool, str]]) -> None:
    """Raise :class:`BadName` with the reason of the first ``(ok, reason)`` that is not ok."""
    for ok, reason in checks:
        if not ok:
            raise BadName(reason)


def missing_gender_note(ids: Sequence[str], source: object, *, who: str = "speaker",
                        limit: int | None = 10) -> list[str]:
    """The warning note for speakers missing from a metadata file (none: ``[]``).

    Shows the first ``limit`` ids (all with ``limit=None``), then `` ...`` if there are more.
    """
    if not ids:
        return []
    more = " ..." if limit is not None and len(ids) > limit else ""
    return [f"{who}(s) {', '.join(ids[:limit])}{more} not in {source}: gender left empty"]
