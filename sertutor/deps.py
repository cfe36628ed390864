"""The torch / torchaudio pair sertutor needs, and a guarded torchaudio import.

torchaudio ships compiled code linked against one torch build. When the two do not match (a
newer torchaudio beside an older torch, or PyPI's CUDA torchaudio beside a CPU-only torch),
``import torchaudio`` fails deep in the dynamic linker with a 20-line traceback ending in
``undefined symbol: ...`` or ``libc10_cuda.so: cannot open shared object file``. sertutor
imports torchaudio only through :func:`import_torchaudio`, which turns that into one line naming
both versions and the command that installs the pair sertutor is tested with.

The pair comes from the package's own requirements (``pyproject.toml``), so the message and
``sertutor doctor`` never disagree with what ``pip install`` asked for.
"""

from __future__ import annotations

import re
from importlib import metadata

__all__ = ["DependencyError", "pinned_versions", "installed_version", "fix_command",
           "import_torchaudio", "torch_pair_problem"]

#: Used only when the package metadata cannot be read (e.g. running from a source tree that
#: was never installed); keep in step with ``pyproject.toml``.
_FALLBACK_PINS = {"torch": "2.14.1", "torchaudio": "2.11.1"}


class DependencyError(ImportError):
    """A required package is missing or cannot be loaded with the installed torch."""


def pinned_versions() -> dict[str, str]:
    """``{"torch": "X", "torchaudio": "Y"}``: the exact versions sertutor's requirements pin."""
    pins = dict(_FALLBACK_PINS)
    try:
        requires = metadata.requires("sertutor") or []
    except metadata.PackageNotFoundError:
        return pins
    for req in requires:
        m = re.match(r"^\s*(torch|torchaudio)\s*==\s*([0-9][^;,\s]*)", req)
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or ``None`` if it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def fix_command() -> str:
    """The pip command that installs the torch / torchaudio pair sertutor is tested with."""
    pins = pinned_versions()
    return f'pip install "torch=={pins["torch"]}" "torchaudio=={pins["torchaudio"]}"'


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip():
        text = str(cause).strip().splitlines()[-1]  # the linker's own line, e.g. 'undefined symbol'
    return text[:200]


def torch_pair_problem() -> str | None:
    """``None`` if torch and torchaudio import together, else a one-line explanation."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # a broken torch install: anything can come out of its loader
        return (f"torch {installed_version('torch') or '(not installed)'} cannot be imported "
                f"({_describe(exc)}); fix: {fix_command()}")
    try:
        import torchaudio  # noqa: F401
    except Exception as exc:
        return (f"torchaudio {installed_version('torchaudio') or '(not installed)'} cannot be "
                f"loaded with torch {installed_version('torch')} ({_describe(exc)}); fix: "
                f"{fix_command()}")
    return None


def import_torchaudio():
    """``import torchaudio``, or a :class:`DependencyError` with one line saying how to fix it.

    The linker's traceback is dropped (``from None``): the line names both versions, the
    loader's last words and the pip command.
    """
    try:
        import torchaudio
    except Exception:
        problem = torch_pair_problem()
        raise DependencyError(problem or "torchaudio cannot be imported; fix: "
                              + fix_command()) from None
    return torchaudio
