"""Exercises of the tutorial notebooks, checked by ``check(name, answer)``.

>>> from sertutor.exercises import check, solution, list_exercises
>>> check("01.n_frames", None).pending          # the notebooks' placeholder: never raises
True

``progress()`` shows which exercises you have passed on this machine (a passed check is
recorded in ``progress.json`` in the data folder; nothing leaves the machine).
``record_result(row)`` keeps a result with your answers (notebook 05's class experiment): in
the same file, and in the notebook's saved output, where the grading command finds it.

One module per notebook (``nb00.py`` ... ``nb08.py``) registers its checkers with the
``@exercise`` decorator; the modules are imported lazily, on the first ``check``,
``solution`` or ``list_exercises`` call, and a module that fails to import is reported in a
warning without hiding the others. The answer convention is described in
:mod:`sertutor.exercises._core` and ``tutorials/README.md``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings

from ._core import (CheckResult, Exercise, Incorrect, call_learner, check, describe, exercise,
                    expect_array, expect_close, expect_mapping, expect_number, expect_type,
                    get_exercise, list_exercises, solution)
from ._core import _LOADERS
from ._progress import (RESULT_MIME, RecordedResult, passed_exercises, record_result,
                        recorded_results, reset_progress)
from ._progress_view import progress

__all__ = ["check", "solution", "list_exercises", "CheckResult", "Incorrect", "exercise",
           "Exercise", "get_exercise", "call_learner", "expect_type", "expect_number",
           "expect_close", "expect_array", "expect_mapping", "describe", "notebook_modules",
           "progress", "passed_exercises", "reset_progress", "record_result",
           "recorded_results", "RecordedResult", "RESULT_MIME"]

_MODULE_RE = re.compile(r"^nb\d\d$")
_loaded: set[str] = set()
_failed: dict[str, str] = {}


def notebook_modules() -> list[str]:
    """Names of the per-notebook checker modules present (``nb00``, ``nb01``, ...)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _MODULE_RE.match(m.name))


def _load_all() -> None:
    """Import every ``nbNN`` module once; a broken one warns and the rest still load."""
    for name in notebook_modules():
        if name in _loaded or name in _failed:
            continue
        try:
            importlib.import_module(f"{__name__}.{name}")
        except Exception as exc:  # noqa: BLE001 - one broken module must not hide the others
            _failed[name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"sertutor.exercises.{name} could not be imported ({_failed[name]}); "
                          f"its exercises are unavailable", RuntimeWarning, stacklevel=3)
        else:
            _loaded.add(name)


# _core asks for the checker modules through this hook (the first check, solution or list).
# A lambda, so that a test that replaces _load_all on the package is honoured.
_LOADERS.append(lambda: _load_all())
