"""What ``check`` records: the learner's own progress, and a log for the grading command.

Progress (:func:`progress`)
    Every passed check is recorded in a small JSON file on this machine (no network):
    ``$SERTUTOR_PROGRESS_FILE`` if set, else ``progress.json`` in the sertutor data folder
    (:func:`sertutor.storage.data_dir`). It is written atomically under a lock, so two open
    notebooks cannot corrupt it. Checks record inside a Jupyter/IPython kernel (where learners
    work) or when ``SERTUTOR_PROGRESS_FILE`` is set; ``SERTUTOR_PROGRESS=0`` turns recording
    off (the notebook tests, the static export and the grading command set it).

Grading log
    When ``SERTUTOR_GRADING_LOG`` names a file, every check (passed, failed or pending)
    appends one JSON line ``{"exercise", "status", "message", "time"}`` to it; the grading
    command (:func:`sertutor.teaching.grade`) reads it back.

Results (:func:`record_result`)
    A result a learner computed that belongs with their answers, such as the (fold, seed) pair
    of runs of the class experiment in notebook 05 (:func:`sertutor.experiments.paired_run`),
    is kept in the same progress file (under ``"results"``, when recording is on) and travels
    in the notebook itself: ``record_result`` returns an object whose output carries the row
    as :data:`RESULT_MIME` JSON, so a saved (submitted) notebook holds it and the grading
    command can pool a class's rows (:func:`sertutor.teaching.class_experiment`).

A failure to record (a read-only disk, a broken file) never breaks a check: it is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from ..storage import atomic_write_json, data_dir, to_json

__all__ = ["progress_path", "record_check", "passed_exercises", "reset_progress",
           "record_result", "recorded_results", "RecordedResult", "RESULT_MIME"]

PROGRESS_VERSION = 1
#: The MIME type of a recorded result in a notebook's outputs (JSON: ``kind``, ``row``, ``time``).
RESULT_MIME = "application/vnd.sertutor.result+json"
#: How many results the progress file keeps (the oldest go first).
MAX_RESULTS = 200


def progress_path() -> Path:
    """The progress file: ``$SERTUTOR_PROGRESS_FILE``, else ``<data dir>/progress.json``."""
    env = os.environ.get("SERTUTOR_PROGRESS_FILE", "").strip()
    if env:
        return Path(env).expanduser()
    return data_dir() / "progress.json"


def _recording_enabled() -> bool:
    if os.environ.get("SERTUTOR_PROGRESS", "").strip() == "0":
        return False
    if os.environ.get("SERTUTOR_PROGRESS_FILE", "").strip():
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    # a Jupyter kernel's shell has a kernel; a plain IPython shell (e.g. made by a test) has not
    return getattr(get_ipython(), "kernel", None) is not None


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path.lock`` (POSIX ``flock``; elsewhere no lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace only
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": PROGRESS_VERSION, "passed": {}}
    if not isinstance(data, dict) or not isinstance(data.get("passed"), dict):
        return {"version": PROGRESS_VERSION, "passed": {}}
    return data


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def record_check(result: Any) -> None:
    """Record a :class:`~sertutor.exercises.CheckResult`: the grading log and, if it passed,
    the progress file. Never raises."""
    name = getattr(result, "name", "")
    if not name:
        return
    log = os.environ.get("SERTUTOR_GRADING_LOG", "").strip()
    if log:
        status = {"correct": "passed", "incorrect": "failed",
                  "pending": "not answered"}[result.status]
        line = json.dumps({"exercise": name, "status": status, "message": result.message,
                           "time": _now()}, ensure_ascii=False)
        with contextlib.suppress(OSError):
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    if result.passed and _recording_enabled():
        with contextlib.suppress(Exception):  # noqa: BLE001 - progress must never break a check
            _record_pass(name)


def _record_pass(name: str) -> None:
    path = progress_path()
    with _locked(path):
        data = _read(path)
        entry = data["passed"].get(name)
        now = _now()
        if isinstance(entry, dict):
            entry["last"] = now
            entry["count"] = int(entry.get("count", 0)) + 1
        else:
            data["passed"][name] = {"first": now, "last": now, "count": 1}
        data["version"] = PROGRESS_VERSION
        atomic_write_json(path, data)


def passed_exercises() -> dict[str, dict[str, Any]]:
    """``{exercise: {"first", "last", "count"}}`` for every exercise passed on this machine."""
    return dict(_read(progress_path())["passed"])


def reset_progress() -> None:
    """Forget every recorded pass (deletes the progress file)."""
    path = progress_path()
    with _locked(path):
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------- results
class RecordedResult:
    """What :func:`record_result` returns: the row, shown as a small table in Jupyter, whose
    output also carries the row as :data:`RESULT_MIME` JSON (so it is saved in the notebook).

    ``.row`` is the row (a dict), ``.kind`` its kind, ``.time`` when it was recorded;
    ``result["gain"]`` reads the row.
    """

    def __init__(self, row: dict[str, Any], kind: str, time_: str) -> None:
        self.row, self.kind, self.time = row, kind, time_

    def __getitem__(self, key: str) -> Any:
        return self.row[key]

    def _payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "row": self.row, "time": self.time}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={_fmt(v)}" for k, v in self.row.items())
        return f"recorded {self.kind}: {fields}"

    def _repr_html_(self) -> str:
        import html

        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                        f"<td>{html.escape(_fmt(v))}</td></tr>" for k, v in self.row.items())
        return (f"<div class='sertutor-result'><b>&#10004; Recorded ({html.escape(self.kind)},"
                f" {html.escape(self.time)})</b>: it is saved with this notebook's outputs "
                f"(hand the notebook in with its outputs) and in your progress file."
                f"<table>{cells}</table></div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": self._repr_html_(),
                RESULT_MIME: self._payload()}


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def record_result(row: dict[str, Any], *, kind: str | None = None) -> RecordedResult:
    """Record a result ``row`` with the learner's answers; return it for display.

    Parameters
    ----------
    row : dict
        The result, e.g. the row of :func:`sertutor.experiments.paired_run` (numbers,
        strings; numpy scalars are converted, NaN becomes ``None``).
    kind : str, optional
        What it is (default: ``row["experiment"]``, else ``"result"``).

    Returns
    -------
    RecordedResult
        Shown as a table; its output carries the row as :data:`RESULT_MIME` JSON, which is
        how a submitted notebook hands its result to the grading command. When recording is
        on (see the module's docstring) the row is also appended to the progress file
        (:func:`recorded_results`). Recording never raises.
    """
    if not isinstance(row, dict) or not row:
        raise TypeError(f"row must be a non-empty dict, got {type(row).__name__}")
    clean = json.loads(to_json(row))
    kind = str(kind or clean.get("experiment") or "result")
    result = RecordedResult(clean, kind, _now())
    if _recording_enabled():
        with contextlib.suppress(Exception):  # noqa: BLE001 - recording must never break it
            _record_result(result._payload())
    return result


def _record_result(entry: dict[str, Any]) -> None:
    path = progress_path()
    with _locked(path):
        data = _read(path)
        results = data.get("results") if isinstance(data.get("results"), list) else []
        data["results"] = (results + [entry])[-MAX_RESULTS:]
        data["version"] = PROGRESS_VERSION
        atomic_write_json(path, data)


def recorded_results(kind: str | None = None) -> list[dict[str, Any]]:
    """The results recorded on this machine (oldest first): ``{"kind", "row", "time"}``
    entries, only those of ``kind`` if given."""
    results = _read(progress_path()).get("results")
    if not isinstance(results, list):
        return []
    return [e for e in results if isinstance(e, dict) and isinstance(e.get("row"), dict)
            and (kind is None or e.get("kind") == kind)]
