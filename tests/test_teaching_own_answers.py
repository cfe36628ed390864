"""Checks fit for grading (issue 16, part 0): the library's function is not an answer."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import sertutor.losses as L
from sertutor.evaluate import concordance_cc
from sertutor.exercises import check, solution
from sertutor.exercises._grading import LIBRARY_TWINS, library_twins_used
from sertutor.losses import discriminator_loss as renamed


@pytest.fixture
def grading(monkeypatch):
    monkeypatch.setenv("SERTUTOR_GRADING", "1")
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")


def _own(name: str, variable: str):
    """The learner's own answer: the exercise's solution, run as a notebook would."""
    namespace = {"__name__": "__main__"}
    exec(solution(name), namespace)  # noqa: S102 - the package's own solution text
    return namespace[variable]


def _helper_calling_the_library(a, b):
    return L.discriminator_loss(a, b)


def _outer(a, b):
    return _helper_calling_the_library(a, b) * 1.0


class _Callable:
    def __call__(self, a, b):
        return renamed(a, b)


WRAPPERS = {
    "the function itself": L.discriminator_loss,
    "a lambda through the module": lambda a, b: L.discriminator_loss(a, b),
    "an alias imported under another name": lambda a, b: renamed(a, b),
    "a partial": functools.partial(L.discriminator_loss),
    "the learner's helper that calls it": _outer,
    "a callable object": _Callable(),
}


@pytest.mark.parametrize("how", list(WRAPPERS))
def test_library_function_and_wrappers_fail_in_grading_mode(grading, how):
    result = check("04.discriminator_loss", WRAPPERS[how])
    assert not result and "sertutor.losses.discriminator_loss" in result.message
    assert "write the computation yourself" in result.message


def test_own_implementations_pass_in_grading_mode(grading):
    for name, variable in [("04.discriminator_loss", "discriminator_loss"),
                           ("04.generator_loss", "generator_loss"), ("06.ccc", "ccc"),
                           ("01.power_to_db", "power_to_db"),
                           ("02.uar_from_confusion", "uar_from_confusion"),
                           ("05.label_split", "label_split")]:
        answer = _own(name, variable)
        assert library_twins_used(name, answer) == [], name
        assert check(name, answer), name


def test_other_libraries_and_closures_are_caught(grading):
    import librosa

    result = check("01.power_to_db", lambda p, top_db=80.0: librosa.power_to_db(p, top_db=top_db))
    assert not result and "librosa.power_to_db" in result.message

    def make():
        fn = concordance_cc

        def ccc(x, y):
            return fn(np.asarray(x), np.asarray(y))
        return ccc

    assert library_twins_used("06.ccc", make()) == ["sertutor.evaluate.concordance_cc"]
    assert library_twins_used("01.n_frames", L.discriminator_loss) == []  # no twin: not checked
    assert set(LIBRARY_TWINS) >= {"04.discriminator_loss", "06.ccc", "05.label_split",
                                  "01.power_to_db"}


def test_self_study_still_accepts_a_wrapper(monkeypatch):
    monkeypatch.delenv("SERTUTOR_GRADING", raising=False)
    assert check("04.discriminator_loss", lambda a, b: L.discriminator_loss(a, b))


def test_grading_mode_hides_expected_values_but_the_log_keeps_them(grading, monkeypatch,
                                                                    tmp_path):
    import json

    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("SERTUTOR_GRADING_LOG", str(log))
    result = check("01.n_frames", 300)
    assert not result and "251" not in result.message and "not shown while grading" in \
        result.message
    assert "Hint:" in result.message  # the hint stays
    assert "expected 251" in json.loads(log.read_text())["message"]  # for the teacher
    monkeypatch.delenv("SERTUTOR_GRADING")
    assert "expected 251" in check("01.n_frames", 300).message  # self-study: unchanged


def test_hide_expected_keeps_the_rest():
    from sertutor.exercises._grading import HIDDEN, hide_expected

    text = ("Test 2 (shifted): you returned 0.5000; sertutor.losses.generator_loss gives 0.6931."
            "\nHint: use logits.")
    expected = f"Test 2 (shifted): you returned 0.5000; {HIDDEN}.\nHint: use logits."
    assert hide_expected(text) == expected
    assert hide_expected("Your dict lacks 'uar'.") == "Your dict lacks 'uar'."
