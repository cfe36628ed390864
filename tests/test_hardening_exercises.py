"""exercises.check cannot hang or end a notebook (issue #15, item 2)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sertutor.exercises import _core, check
from sertutor.exercises._core import Exercise, call_learner


@pytest.fixture()
def fn_exercise(monkeypatch):
    """A throw-away exercise whose checker calls the learner's function with 3."""
    ex = Exercise(name="99.call", title="call it", solution="f = abs\n",
                  checker=lambda f: call_learner(f, 3) == 3 or False, time_limit=0.5)
    monkeypatch.setitem(_core._REGISTRY, ex.name, ex)
    monkeypatch.delenv("SERTUTOR_CHECK_TIME_LIMIT", raising=False)
    return ex.name


def _timed(name, answer):
    t0 = time.perf_counter()
    result = check(name, answer)
    return result, time.perf_counter() - t0


def test_a_looping_answer_fails_within_the_limit(fn_exercise):
    def loops(x):
        while True:
            pass

    result, seconds = _timed(fn_exercise, loops)
    assert not result and "did not return within 0.5 s" in result.message
    assert seconds < 3


def test_a_sleeping_answer_and_one_that_catches_everything_fail(fn_exercise):
    result, seconds = _timed(fn_exercise, lambda x: time.sleep(60))
    assert not result and "did not return" in result.message and seconds < 3

    def stubborn(x):
        while True:
            try:
                time.sleep(10)
            except Exception:  # the learner's own catch-all does not swallow the time limit
                pass

    result, seconds = _timed(fn_exercise, stubborn)
    assert not result and "did not return" in result.message and seconds < 3


def test_a_looping_repr_fails_within_the_limit(monkeypatch):
    class Weird:
        def __repr__(self):
            while True:
                pass

    check("00.class_counts", {})  # the checker's own first imports, which the limit waits for
    monkeypatch.setenv("SERTUTOR_CHECK_TIME_LIMIT", "0.5")
    result, seconds = _timed("00.class_counts", Weird())  # a checker that describes the answer
    assert not result and "did not return within 0.5 s" in result.message and seconds < 3


def test_the_environment_variable_sets_the_limit(monkeypatch):
    ex = _core.get_exercise("00.class_counts")
    monkeypatch.setenv("SERTUTOR_CHECK_TIME_LIMIT", "7")
    assert _core.time_limit_for(ex) == 7.0
    monkeypatch.setenv("SERTUTOR_CHECK_TIME_LIMIT", "nonsense")
    assert _core.time_limit_for(ex) == 60.0  # the exercise's own
    assert _core.time_limit_for(_core.get_exercise("01.power_to_db")) == \
        _core.DEFAULT_TIME_LIMIT


def test_system_exit_is_a_failed_check_not_the_end_of_the_kernel(fn_exercise):
    def quits(x):
        raise SystemExit(3)

    result = check(fn_exercise, quits)
    assert not result and "sys.exit(3)" in result.message


def test_keyboard_interrupt_still_interrupts(fn_exercise):
    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check(fn_exercise, interrupted)


def test_a_huge_answer_gives_a_short_message(fn_exercise):
    result = check("00.class_counts", list(range(10**6)))
    assert not result and len(result.message) < 1000
    huge = check(fn_exercise, lambda x: (_ for _ in ()).throw(ValueError("x" * 10**6)))
    assert not huge and len(huge.message) <= _core.MAX_MESSAGE + 200


def test_the_alarm_is_cleared_after_a_check(fn_exercise):
    import signal

    check(fn_exercise, abs)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None) or \
        not getattr(signal.getsignal(signal.SIGALRM), "__name__", "") == "on_alarm"
    np.testing.assert_equal(check(fn_exercise, abs).passed, True)


def test_the_limit_never_interrupts_an_import_half_way(fn_exercise, tmp_path, monkeypatch):
    """A slow first import (torch in a busy kernel) must finish: a module left partly
    initialised would break every later cell. The limit applies once the import is done."""
    import sys

    (tmp_path / "slow_module_for_check.py").write_text(
        "import time\ntime.sleep(1.0)\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_module_for_check", raising=False)

    def imports_then_loops(x):
        import slow_module_for_check  # noqa: F401 - takes 1 s, twice the limit

        while True:
            pass

    result, seconds = _timed(fn_exercise, imports_then_loops)
    assert not result and "did not return within 0.5 s" in result.message
    assert sys.modules["slow_module_for_check"].DONE is True  # fully initialised
    assert 1.0 <= seconds < 4
