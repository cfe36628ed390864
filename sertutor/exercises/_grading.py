"""Checks fit for grading: an answer must be the learner's own implementation.

Several exercises ask the learner to write a function the libraries already have (the checker
compares with that function): ``04.discriminator_loss`` is ``sertutor.losses.
discriminator_loss``, ``01.power_to_db`` is ``librosa.power_to_db``, and so on
(:data:`LIBRARY_TWINS`). Passing the library's function, or a wrapper that calls it, would pass
the comparison without any work. In grading mode (:func:`grading_mode`, ``SERTUTOR_GRADING=1``)
``check`` fails such an answer. :func:`library_twins_used` tells: the answer itself, a
``functools.partial`` or ``__wrapped__`` of it, a callable object of the library's class, and any
function whose code (nested functions and the learner's own helpers included, through their
globals and closures) refers to the library's function, under its name or another.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import types
from typing import Any

__all__ = ["LIBRARY_TWINS", "library_twins_used", "grading_mode", "hide_expected"]

_EXPECTED_CLAUSE = re.compile(r"\b(expected|expect|gives)\b[^.;:]*\d")
HIDDEN = "(the expected value is not shown while grading)"


def hide_expected(message: str) -> str:
    """``message`` with every clause that states an expected number replaced by a note.

    Clauses are split at ``;`` and at sentence ends; a clause saying "expected 251" or
    "reconstruction_loss gives 0.12" goes, the rest of the explanation (and the hint) stays.
    """
    out_lines = []
    for line in message.split("\n"):
        if line.startswith("Hint:"):
            out_lines.append(line)
            continue
        parts = re.split(r"(;\s+|\.\s+|\.$)", line)
        kept = []
        for k in range(0, len(parts), 2):
            clause, sep = parts[k], parts[k + 1] if k + 1 < len(parts) else ""
            if _EXPECTED_CLAUSE.search(clause):
                clause = HIDDEN
            kept.append(clause + sep)
        out_lines.append("".join(kept))
    return "\n".join(out_lines)


def grading_mode() -> bool:
    """True when ``SERTUTOR_GRADING=1``: ``check`` then insists on the learner's own
    implementation (set it on a graded JupyterHub too, so students see what the grader sees)."""
    return os.environ.get("SERTUTOR_GRADING", "").strip() == "1"

#: Exercise -> dotted names of the library functions (or classes) it asks the learner to write.
LIBRARY_TWINS: dict[str, tuple[str, ...]] = {
    "01.power_to_db": ("librosa.power_to_db", "librosa.amplitude_to_db",
                       "librosa.core.spectrum.power_to_db",
                       "torchaudio.transforms.AmplitudeToDB",
                       "torchaudio.functional.amplitude_to_DB"),
    "02.uar_from_confusion": ("sertutor.evaluate.uar", "sklearn.metrics.balanced_accuracy_score",
                              "sklearn.metrics.recall_score"),
    "03.masked_mse": ("sertutor.losses.reconstruction_loss",),
    "04.discriminator_loss": ("sertutor.losses.discriminator_loss",),
    "04.generator_loss": ("sertutor.losses.generator_loss",),
    "05.label_split": ("sertutor.data.dataset.label_subset",),
    "06.ccc": ("sertutor.evaluate.concordance_cc",),
}

_LIBRARIES = ("sertutor", "numpy", "torch", "librosa", "torchaudio", "sklearn", "scipy",
              "pandas", "builtins", "functools", "math")


def _resolve(dotted: str) -> Any:
    """The object called ``dotted`` (importing its module), or None if it cannot be found."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - an optional library that is not installed
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _is_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] in _LIBRARIES


def library_twins_used(exercise: str, answer: Any, *, depth: int = 3) -> list[str]:
    """Dotted names of the library functions of ``exercise`` that ``answer`` is or calls.

    Parameters
    ----------
    exercise : str
        The exercise (``"NN.name"``); exercises without a library twin give ``[]``.
    answer : object
        The learner's answer (only callables are inspected).
    depth : int
        How many levels of the learner's own helper functions to follow.

    Returns
    -------
    list of str
        Empty when the answer is (as far as can be told) the learner's own implementation.
    """
    dotted = LIBRARY_TWINS.get(exercise, ())
    if not dotted or not callable(answer):
        return []
    objects = {name: _resolve(name) for name in dotted}
    by_id: dict[int, str] = {}
    for name, obj in objects.items():  # the first (public) name of an object is reported
        if obj is not None:
            by_id.setdefault(id(obj), name)
    short: dict[str, str] = {}
    for name in dotted:
        short.setdefault(name.rsplit(".", 1)[-1], name)
    found: list[str] = []
    seen: set[int] = set()

    def visit(fn: Any, level: int) -> None:
        if id(fn) in seen or len(found) > 0:
            return
        seen.add(id(fn))
        if id(fn) in by_id:
            found.append(by_id[id(fn)])
            return
        if isinstance(fn, functools.partial):
            visit(fn.func, level)
            return
        if id(type(fn)) in by_id:  # an instance of a library class, e.g. AmplitudeToDB()
            found.append(by_id[id(type(fn))])
            return
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            visit(wrapped, level)
        func = getattr(fn, "__func__", fn)  # a bound method
        if not isinstance(func, types.FunctionType):
            call = type(fn).__dict__.get("__call__")  # a callable object of the learner's
            if isinstance(call, types.FunctionType) and not _is_library(type(fn)):
                func = call
            else:
                return
        if _is_library(func):
            return  # library code is not the learner's
        env = func.__globals__
        for name in sorted(_code_names(func.__code__)):
            target = env.get(name)
            if target is not None and id(target) in by_id:
                found.append(by_id[id(target)])
                return
            if name in short and (target is None or isinstance(target, types.ModuleType)):
                found.append(short[name])  # an attribute: librosa.power_to_db, L.uar, ...
                return
            if (level > 0 and isinstance(target, types.FunctionType) and target is not func
                    and not _is_library(target)):
                visit(target, level - 1)  # the learner's own helper
        for cell in func.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if id(value) in by_id:
                found.append(by_id[id(value)])
                return
            if level > 0 and callable(value) and not _is_library(value):
                visit(value, level - 1)

    visit(answer, depth)
    return found
