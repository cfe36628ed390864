"""The exercise registry: ``@exercise``, :class:`CheckResult`, ``check``, ``solution``.

The answer convention (every tutorial notebook follows it; see ``tutorials/README.md``)
-------------------------------------------------------------------------------------
1. An exercise cell starts with the learner's answer set to the placeholder ``None``::

       answer_count = None   # <- your answer: a dict {emotion: number of utterances}
       check("00.class_counts", answer_count)

   For a function, the placeholder is also ``None`` (``def my_db(power): ...`` is what the
   learner writes *instead* of ``my_db = None``).
2. ``check(name, None)`` never raises: it returns a *pending* :class:`CheckResult` (falsy,
   ``.pending`` is True) whose message says what to write and gives the hint. So a notebook
   runs top to bottom in CI, on Binder and in the static HTML export without anyone's answer,
   and the learner sees what to do.
3. A wrong answer (wrong value, wrong type, wrong shape, a function that raises) returns a
   failed result whose message names what is wrong, what was expected and a hint. It never
   raises: exceptions from the learner's code are caught and explained.
4. A right answer returns a passed result (truthy), shown as a green "Correct".
5. The solution is in a collapsed ``<details><summary>Solution</summary>`` markdown block
   right after the exercise, and ``solution(name)`` returns the same code as text.
6. Right answers are tested in ``tests/``: each checker's unit test feeds it the solution's
   value (and wrong ones). Notebooks never prefill answers, FAST or not.

Writing a checker (one module per notebook, ``sertutor/exercises/nbNN.py``)
---------------------------------------------------------------------------
::

    from ._core import exercise, Incorrect, expect_number

    @exercise("01.n_mels", title="How many mel bands?", hint="Look at config.features.",
              solution='''answer = cfg.features.n_mels''')
    def _n_mels(answer):
        value = expect_number(answer, what="the number of mel bands", integer=True)
        if value != 64:
            raise Incorrect(f"You gave {value}; the classroom preset uses 64 bands. ...")
        return "64 bands, from 0 Hz to 8 kHz."   # optional extra text shown under "Correct"

The checker receives the answer (never ``None``: the registry handles the placeholder unless
``allow_none=True``). It signals a wrong answer by raising :class:`Incorrect` (or returning
``False`` or a failed :class:`CheckResult`); it returns ``None``, ``True`` or a string (an
extra explanation) when the answer is right. Any other exception the checker raises (for
instance one coming out of the learner's function) becomes a failed result that quotes it.
``call_learner(fn, *args)`` runs a learner's function and turns its exceptions into
:class:`Incorrect` with the function's name and the arguments it was called with.

Checking never hangs a notebook: the checker (and so any learner function it calls) runs under
a time limit (:data:`DEFAULT_TIME_LIMIT` seconds, ``time_limit=`` per exercise, or the
``SERTUTOR_CHECK_TIME_LIMIT`` environment variable); an answer that loops or sleeps fails with
"did not return within N s". ``SystemExit`` from an answer is a failed check, and Ctrl-C /
Kernel > Interrupt still interrupts.

In grading mode (``SERTUTOR_GRADING=1``, which ``sertutor tutorials grade`` sets) an answer to
an exercise that asks for an implementation must be the learner's own: the library's function
itself, or a wrapper that calls it, fails (see :data:`sertutor.exercises._grading.LIBRARY_TWINS`).
In self-study such an answer passes, as before. In grading mode a wrong answer's message
also leaves out the clauses that state the expected value (the grading log keeps them).
"""

from __future__ import annotations

import contextlib
import difflib
import html
import math
import os
import reprlib
import signal
import threading
import traceback
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable

from ._grading import grading_mode, hide_expected, library_twins_used
from ._progress import record_check

__all__ = [
    "CheckResult",
    "Incorrect",
    "Exercise",
    "exercise",
    "check",
    "solution",
    "list_exercises",
    "get_exercise",
    "call_learner",
    "expect_type",
    "expect_number",
    "expect_close",
    "expect_array",
    "expect_mapping",
    "describe",
]


# ------------------------------------------------------------------------------- results
class Incorrect(Exception):
    """Raised by a checker for a wrong answer; its message is shown to the learner."""


_CheckResultBase = namedtuple("_CheckResultBase", ["passed", "message"])


class CheckResult(_CheckResultBase):
    """The outcome of :func:`check`: ``.passed`` (bool) and ``.message`` (str).

    Truthy exactly when passed. ``.name`` is the exercise, ``.title`` its title and
    ``.pending`` is True when no answer was given yet (the ``None`` placeholder). In Jupyter
    it renders as a green "Correct", an orange "Not answered yet" or a red explanation.
    """

    def __new__(cls, passed: bool, message: str = "", *, name: str = "", title: str = "",
                pending: bool = False):
        obj = super().__new__(cls, bool(passed), str(message))
        obj.name = name
        obj.title = title
        obj.pending = bool(pending) and not passed
        return obj

    def __bool__(self) -> bool:
        return self.passed

    @property
    def status(self) -> str:
        """``"correct"``, ``"pending"`` or ``"incorrect"``."""
        return "correct" if self.passed else ("pending" if self.pending else "incorrect")

    def _headline(self) -> str:
        return {"correct": "Correct", "pending": "Not answered yet",
                "incorrect": "Not quite"}[self.status]

    def __repr__(self) -> str:
        label = f"[{self.name}] " if self.name else ""
        text = f"{label}{self._headline()}"
        return f"{text}: {self.message}" if self.message else text

    __str__ = __repr__

    def _repr_html_(self) -> str:
        colour, background, mark = {
            "correct": ("#1b5e20", "#e8f5e9", "&#10004;"),
            "pending": ("#8a5300", "#fff8e1", "&#9998;"),
            "incorrect": ("#b71c1c", "#ffebee", "&#10008;"),
        }[self.status]
        name = (f" <span style='opacity:0.7'>({html.escape(self.name)}"
                f"{': ' + html.escape(self.title) if self.title else ''})</span>"
                if self.name else "")
        body = html.escape(self.message).replace("\n", "<br>")
        return (f"<div class='sertutor-check sertutor-check-{self.status}' style='border-left:"
                f"4px solid {colour};background:{background};padding:6px 10px;margin:4px 0;"
                f"color:{colour}'><b>{mark} {self._headline()}</b>{name}"
                f"{'<br>' + body if body else ''}</div>")


# ------------------------------------------------------------------------------ registry
@dataclass(frozen=True)
class Exercise:
    """One registered exercise."""

    name: str
    title: str
    solution: str
    checker: Callable[[Any], Any]
    hint: str = ""
    allow_none: bool = False
    time_limit: float | None = None  # seconds the check may take (None: DEFAULT_TIME_LIMIT)


#: Seconds a check may take before it fails as "did not return" (per exercise: time_limit=).
DEFAULT_TIME_LIMIT = 5.0


class _TimeLimit(BaseException):
    """Raised inside a check that ran out of time (a BaseException, so that the learner's
    ``except Exception`` cannot swallow it)."""


def time_limit_for(ex: "Exercise") -> float:
    """The time limit of a check: ``SERTUTOR_CHECK_TIME_LIMIT`` if set, else the exercise's
    own, else :data:`DEFAULT_TIME_LIMIT`."""
    env = os.environ.get("SERTUTOR_CHECK_TIME_LIMIT", "").strip()
    with contextlib.suppress(ValueError):
        if env and float(env) > 0:
            return float(env)
    return ex.time_limit if ex.time_limit is not None else DEFAULT_TIME_LIMIT


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise :class:`_TimeLimit` in this thread after ``seconds`` (SIGALRM; main thread of a
    Unix process, which is where a Jupyter kernel runs cells). Elsewhere: no limit."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        # Never stop an import half-way: a module left partly initialised (torch, on a cold
        # first import in a busy kernel) breaks every later cell. Wait for it, then stop.
        f = frame
        while f is not None:
            if f.f_code.co_filename.startswith("<frozen importlib"):
                signal.setitimer(signal.ITIMER_REAL, 0.25)
                return
            f = f.f_back
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_REGISTRY: dict[str, Exercise] = {}


def _valid_name(name: str) -> bool:
    prefix, dot, rest = name.partition(".")
    return bool(dot) and len(prefix) == 2 and prefix.isdigit() and bool(rest)


def exercise(name: str, *, title: str, solution: str, hint: str = "",
             allow_none: bool = False,
             time_limit: float | None = None) -> Callable[[Callable], Callable]:
    """Register the decorated function as the checker of exercise ``name`` ("NN.short_name").

    ``title`` is a one-line description, ``solution`` the solution code (text), ``hint`` a
    nudge shown with a pending or wrong answer. With ``allow_none=True`` the checker also
    receives ``None`` (for exercises where ``None`` is a meaningful answer). ``time_limit``:
    seconds the check may take (default :data:`DEFAULT_TIME_LIMIT`; raise it for a checker
    that trains something).
    """
    if not isinstance(name, str) or not _valid_name(name):
        raise ValueError(f"exercise name must look like 'NN.short_name', got {name!r}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"exercise {name!r} needs a non-empty title")
    if not isinstance(solution, str) or not solution.strip():
        raise ValueError(f"exercise {name!r} needs a non-empty solution text")

    def register(fn: Callable) -> Callable:
        existing = _REGISTRY.get(name)
        if existing is not None and (existing.checker.__module__, existing.checker.__qualname__) \
                != (fn.__module__, fn.__qualname__):
            raise ValueError(f"exercise {name!r} is registered twice "
                             f"({existing.checker.__module__} and {fn.__module__})")
        _REGISTRY[name] = Exercise(name=name, title=title.strip(),
                                   solution=_dedent(solution), checker=fn, hint=hint.strip(),
                                   allow_none=allow_none, time_limit=time_limit)
        return fn

    return register


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n") + "\n"


#: Functions that import the checker modules (``nbNN.py``); the package's ``__init__`` adds
#: its loader here, so this module never imports the package that imports it.
_LOADERS: list[Callable[[], None]] = []


def _ensure_loaded() -> None:
    for load in _LOADERS:
        load()


def get_exercise(name: str) -> Exercise:
    """The registered :class:`Exercise` called ``name``; ``KeyError`` suggests close names."""
    _ensure_loaded()
    if not isinstance(name, str):
        raise TypeError(f"exercise name must be a str like '00.class_counts', "
                        f"got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no exercise called {name!r}{hint} "
                       f"(list_exercises() shows all {len(_REGISTRY)})") from None


def list_exercises(prefix: str = "") -> list[tuple[str, str]]:
    """``(name, title)`` of every registered exercise (optionally those starting ``prefix``)."""
    _ensure_loaded()
    return [(n, e.title) for n, e in sorted(_REGISTRY.items()) if n.startswith(prefix)]


class SolutionText(str):
    """The solution code: a ``str`` that renders as a code block in Jupyter."""

    def _repr_html_(self) -> str:
        return f"<pre><code>{html.escape(str(self))}</code></pre>"

    def _repr_markdown_(self) -> str:
        return f"```python\n{self}```"


def solution(name: str) -> SolutionText:
    """The solution text of exercise ``name`` (also shown in the notebook's collapsed block)."""
    return SolutionText(get_exercise(name).solution)


def check(name: str, answer: Any) -> CheckResult:
    """Check the learner's ``answer`` to exercise ``name``; never raises for any answer.

    ``answer`` may be a value, an array, a dict or a function the checker calls. ``None`` (the
    notebooks' placeholder) gives a pending result that says what to do. A passed check is
    recorded in the learner's progress file (:func:`sertutor.exercises.progress`), and with
    ``SERTUTOR_GRADING_LOG`` set every check appends a JSON line to that file (see
    :mod:`sertutor.exercises._progress`).
    """
    ex = get_exercise(name)
    result = _run_check(ex, answer)
    record_check(result)  # the grading log (full message) and the learner's progress file
    if grading_mode() and result.status == "incorrect":  # the learner sees no expected value
        return CheckResult(False, hide_expected(result.message), name=ex.name, title=ex.title)
    return result


def _run_check(ex: Exercise, answer: Any) -> CheckResult:
    """The body of :func:`check`: the verdict, without recording it."""
    meta = {"name": ex.name, "title": ex.title}
    hint = f"\nHint: {ex.hint}" if ex.hint else ""
    if answer is None and not ex.allow_none:
        return CheckResult(False, f"{ex.title}: replace the None placeholder with your answer "
                                  f"and run the cell again.{hint}", pending=True, **meta)
    try:
        twins = library_twins_used(ex.name, answer) if grading_mode() else []
    except Exception:  # noqa: BLE001 - an answer too odd to inspect is left to the checker
        twins = []
    if twins:
        return CheckResult(False, f"Your answer uses {twins[0]}, the library's own version of "
                                  f"what this exercise asks you to write: write the computation "
                                  f"yourself (numpy or torch building blocks are fine).{hint}",
                           **meta)
    limit = time_limit_for(ex)
    try:
        with _deadline(limit):
            out = ex.checker(answer)
            message = None if isinstance(out, (bool, type(None))) else _short(out)
    except _TimeLimit:
        return CheckResult(False, f"Your answer did not return within {limit:g} s (an endless "
                                  f"loop, or a very slow step?): check your loops, then run "
                                  f"the cell again.{hint}", **meta)
    except Incorrect as exc:
        return CheckResult(False, _short(f"{exc}") + hint, **meta)
    except SystemExit as exc:  # exit() in an answer must not end the kernel
        return CheckResult(False, f"Your answer called exit() or sys.exit({exc.code!r}); "
                                  f"remove that call.{hint}", **meta)
    except Exception as exc:  # noqa: BLE001 - a learner never sees a bare traceback
        return CheckResult(False, _short(_explain_exception(exc)) + hint, **meta)
    if isinstance(out, CheckResult):
        return CheckResult(out.passed, message, pending=out.pending, **meta)
    if out is False:
        return CheckResult(False, f"That is not the expected answer.{hint}", **meta)
    if out is None or out is True:
        return CheckResult(True, "", **meta)
    return CheckResult(True, message, **meta)


#: Longest message a check shows (a huge answer quoted in full would flood the notebook).
MAX_MESSAGE = 2000


def _short(value: Any) -> str:
    text = value.message if isinstance(value, CheckResult) else str(value)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 40] + f" ... ({len(text) - MAX_MESSAGE + 40} more characters)"
    return text


def _explain_exception(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for fr in reversed(frames):
        if "sertutor" not in fr.filename.replace("\\", "/").split("/site-packages/")[-1]:
            where = f" (line {fr.lineno}: {fr.line})" if fr.line else f" (line {fr.lineno})"
            break
    return f"Checking your answer raised {type(exc).__name__}: {exc}{where}"


# ---------------------------------------------------------------------- checker helpers
def describe(value: Any, limit: int = 80) -> str:
    """A short, readable description of a value for messages (type, shape, a preview)."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float)):
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    text = _REPR.repr(value)  # bounded: a huge list or string is not rendered in full
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 200, 200, 12, 12


def call_learner(fn: Any, *args: Any, what: str = "your function", **kwargs: Any) -> Any:
    """Call the learner's function; a non-callable or an exception becomes :class:`Incorrect`."""
    if not callable(fn):
        raise Incorrect(f"Expected {what} (a function you define with def), got "
                        f"{describe(fn)}.")
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        shown = ", ".join([describe(a, 40) for a in args]
                          + [f"{k}={describe(v, 40)}" for k, v in kwargs.items()])
        raise Incorrect(f"Calling {what} with {shown} raised {type(exc).__name__}: {exc}") \
            from exc


def expect_type(answer: Any, types: type | tuple[type, ...], *, what: str) -> Any:
    """Raise :class:`Incorrect` unless ``answer`` is an instance of ``types``."""
    if not isinstance(answer, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise Incorrect(f"Expected {what} as a {names}, got {describe(answer)}.")
    return answer


def expect_number(answer: Any, *, what: str, integer: bool = False) -> float | int:
    """Return ``answer`` as a Python number; a string, list, NaN or bool is explained."""
    import numbers

    import numpy as np

    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        answer = answer.item()
    if hasattr(answer, "item") and getattr(answer, "numel", lambda: 2)() == 1:
        answer = answer.item()  # a one-element torch tensor
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        kind = "a whole number (int)" if integer else "a number"
        raise Incorrect(f"Expected {what} as {kind}, got {describe(answer)}.")
    if not math.isfinite(float(answer)):
        raise Incorrect(f"Expected {what} as a finite number, got {answer}.")
    if integer:
        if float(answer) != int(answer):
            raise Incorrect(f"Expected {what} as a whole number, got {answer}.")
        return int(answer)
    return float(answer)


def expect_close(answer: Any, expected: float, *, what: str, rtol: float = 1e-6,
                 atol: float = 1e-9, hint: str = "") -> float:
    """Raise :class:`Incorrect` unless the number ``answer`` is close to ``expected``."""
    value = expect_number(answer, what=what)
    if not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        extra = f" {hint}" if hint else ""
        raise Incorrect(f"{what[:1].upper() + what[1:]}: you gave {value:.6g}, expected "
                        f"{expected:.6g}.{extra}")
    return value


def expect_array(answer: Any, expected: Any, *, what: str, rtol: float = 1e-5,
                 atol: float = 1e-6, hint: str = "") -> Any:
    """Compare an array-like answer with ``expected`` (shape first, then values)."""
    import numpy as np

    if hasattr(answer, "detach"):  # torch tensor
        answer = answer.detach().cpu().numpy()
    if isinstance(answer, (str, bytes, dict)) or answer is None:
        raise Incorrect(f"Expected {what} as an array, got {describe(answer)}.")
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise Incorrect(f"Expected {what} as an array of numbers, got {describe(answer)}.") \
            from None
    exp = np.asarray(expected, dtype=float)
    extra = f" {hint}" if hint else ""
    if arr.shape != exp.shape:
        raise Incorrect(f"{what[:1].upper() + what[1:]} has shape {arr.shape}; expected "
                        f"{exp.shape}.{extra}")
    if not np.all(np.isfinite(arr) | ~np.isfinite(exp)):
        raise Incorrect(f"{what[:1].upper() + what[1:]} contains NaN or infinite values.{extra}")
    bad = ~np.isclose(arr, exp, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Incorrect(f"{what[:1].upper() + what[1:]} differs from the expected values at "
                        f"{int(bad.sum())} of {bad.size} positions; e.g. at index {idx} you "
                        f"have {arr[idx]:.6g}, expected {exp[idx]:.6g}.{extra}")
    return arr


def expect_mapping(answer: Any, expected: dict, *, what: str, tol: float = 0.0) -> dict:
    """Compare a dict answer with ``expected``: missing, extra and wrong entries are named."""
    import collections.abc

    if hasattr(answer, "to_dict") and not isinstance(answer, dict):  # a pandas Series
        answer = answer.to_dict()
    if not isinstance(answer, collections.abc.Mapping):
        raise Incorrect(f"Expected {what} as a dict, got {describe(answer)}.")
    answer = dict(answer)
    missing = [k for k in expected if k not in answer]
    extra = [k for k in answer if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if extra:
            parts.append(f"unexpected keys {extra}")
        raise Incorrect(f"{what[:1].upper() + what[1:]}: {'; '.join(parts)}. Expected the keys "
                        f"{list(expected)}.")
    wrong = []
    for key, exp in expected.items():
        got = answer[key]
        try:
            ok = (math.isclose(float(got), float(exp), abs_tol=tol)
                  if isinstance(exp, (int, float)) and not isinstance(got, (str, bool))
                  else got == exp)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            wrong.append(f"{key!r}: you have {got!r}, expected {exp!r}")
    if wrong:
        raise Incorrect(f"{what[:1].upper() + what[1:]}: " + "; ".join(wrong[:4])
                        + (f" (and {len(wrong) - 4} more)" if len(wrong) > 4 else "") + ".")
    return answer
