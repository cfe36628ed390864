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

A failure to record (a read-only disk, a broken file) never breaks a check: it is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["progress_path", "record_check", "passed_exercises", "reset_progress"]

PROGRESS_VERSION = 1


def progress_path() -> Path:
    """The progress file: ``$SERTUTOR_PROGRESS_FILE``, else ``<data dir>/progress.json``."""
    env = os.environ.get("SERTUTOR_PROGRESS_FILE", "").strip()
    if env:
        return Path(env).expanduser()
    from ..storage import data_dir

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
    from ..storage import atomic_write_json

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
