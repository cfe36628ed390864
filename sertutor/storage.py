"""Where sertutor writes, and how it writes without ever leaving half a file behind.

- :func:`data_dir` resolves the folder for generated corpora, feature caches and runs:
  ``$SERTUTOR_DATA_DIR`` if set, else ``data/`` of the checkout when sertutor runs from one,
  else ``~/.cache/sertutor``.
- :func:`atomic_write` and friends write to a temporary file in the target's folder and then
  ``os.replace`` it into place, so an interrupted write (Ctrl-C, a full disk, a killed kernel)
  leaves the previous file intact instead of a truncated one. Written files get the mode
  ``open()`` would give them (0666 minus the process's umask), not ``mkstemp``'s 0600.
- :func:`atomic_write_json` writes strict JSON: NaN and infinity become ``null``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["data_dir", "atomic_write", "atomic_write_text", "atomic_write_bytes",
           "atomic_write_json", "json_safe", "to_json"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(*, create: bool = True) -> Path:
    """The folder sertutor writes generated data to.

    Parameters
    ----------
    create : bool
        Create the folder if it does not exist yet.

    Returns
    -------
    pathlib.Path
        ``$SERTUTOR_DATA_DIR`` if set; else the checkout's ``data/`` folder when sertutor is
        imported from a source checkout (a ``pyproject.toml`` beside the package); else
        ``~/.cache/sertutor``.
    """
    env = os.environ.get("SERTUTOR_DATA_DIR", "").strip()
    if env:
        path = Path(env).expanduser()
    elif (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        path = _PACKAGE_DIR.parent / "data"
    else:
        path = Path.home() / ".cache" / "sertutor"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"cannot create the sertutor data folder {path} ({exc}); set "
                          "SERTUTOR_DATA_DIR to a writable folder") from exc
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success move it onto ``path`` atomically.

    On any exception the temporary file is removed and ``path`` keeps its old content.

    Examples
    --------
    >>> with atomic_write("model.pt") as f:            # doctest: +SKIP
    ...     torch.save(state, f)
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write supports modes 'w' and 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp creates 0600; give the file the mode open() would (0666 minus the umask),
        # so that others sharing a data folder (a teacher's prepared corpora) can read it
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if exc.filename is None and exc.errno is not None:  # e.g. a full disk inside torch.save
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not atomic, but brief)
    os.umask(mask)
    return mask


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None, recursively.

    Dicts, lists and tuples are copied; numpy scalars and arrays become Python numbers and
    lists. JSON has no NaN: ``json.dumps`` would write the invalid token ``NaN``.
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value``: NaN and inf written as ``null`` (see :func:`json_safe`).

    Keyword arguments go to :func:`json.dumps` (e.g. ``indent=2``, ``sort_keys=True``).
    """
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def atomic_write_json(path: str | os.PathLike, value: Any, *, indent: int | None = 2,
                      **kwargs: Any) -> Path:
    """Write ``value`` as strict JSON (NaN and inf as ``null``) to ``path`` atomically."""
    return atomic_write_text(path, to_json(value, indent=indent, **kwargs))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8) and return the path."""
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)
