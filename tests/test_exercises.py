"""The exercises API (registry, check, solution, CheckResult) and the checkers of notebooks
00, 01 and 08, with right and wrong answers; plus checks over every registered exercise and
every tutorial notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sertutor.exercises import (CheckResult, Incorrect, call_learner, check, exercise,
                                expect_array, expect_mapping, expect_number, list_exercises,
                                solution)
from sertutor.exercises import _core

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"


# ------------------------------------------------------------------------------ the core
@pytest.fixture
def toy():
    """Register two throw-away exercises; remove them afterwards."""
    names = ["99.toy", "99.fn"]

    @exercise("99.toy", title="Toy: the answer is 42", hint="Six times seven.",
              solution="answer = 42")
    def _toy(answer):
        value = expect_number(answer, what="the answer", integer=True)
        if value != 42:
            raise Incorrect(f"You gave {value}, expected 42.")
        return "Well done."

    @exercise("99.fn", title="Toy: a doubling function", solution="def f(x):\n    return 2 * x")
    def _fn(answer):
        out = call_learner(answer, 3, what="f")
        if out != 6:
            raise Incorrect(f"f(3) returned {out!r}, expected 6.")

    yield names
    for n in names:
        _core._REGISTRY.pop(n, None)


def test_check_states_and_truthiness(toy):
    pending = check("99.toy", None)
    assert isinstance(pending, CheckResult)
    assert not pending and pending.pending and pending.status == "pending"
    assert "replace the None placeholder" in pending.message
    assert "Six times seven" in pending.message

    wrong = check("99.toy", 41)
    assert not wrong and not wrong.pending and wrong.status == "incorrect"
    assert "You gave 41, expected 42." in wrong.message
    assert "Hint: Six times seven." in wrong.message

    right = check("99.toy", 42)
    assert right and right.passed and right.message == "Well done."
    passed, message = right  # NamedTuple-like unpacking
    assert passed is True and message == "Well done."
    assert right.name == "99.toy" and right.title.startswith("Toy")


def test_check_never_raises_on_bad_types(toy):
    for bad in ("42", [42], {"a": 1}, float("nan"), True, object()):
        result = check("99.toy", bad)
        assert not result and "Expected the answer as a" in result.message, bad


def test_learner_function_errors_become_explanations(toy):
    def broken(x):
        raise ZeroDivisionError("oops")

    r = check("99.fn", broken)
    assert not r and "raised ZeroDivisionError: oops" in r.message and "f" in r.message
    assert not check("99.fn", 6)  # not callable
    assert "a function" in check("99.fn", 6).message
    assert check("99.fn", lambda x: 2 * x)
    assert check("99.fn", lambda x: 2 * x).message == ""


def test_unexpected_checker_exception_is_reported_not_raised():
    @exercise("99.buggy", title="A checker with a bug", solution="x = 1")
    def _buggy(answer):
        return answer["missing"]

    try:
        r = check("99.buggy", {})
        assert not r and "raised KeyError" in r.message
    finally:
        _core._REGISTRY.pop("99.buggy", None)


def test_repr_and_html(toy):
    right, wrong, pending = check("99.toy", 42), check("99.toy", 1), check("99.toy", None)
    assert repr(right).startswith("[99.toy] Correct")
    assert repr(wrong).startswith("[99.toy] Not quite")
    assert repr(pending).startswith("[99.toy] Not answered yet")
    html_right, html_wrong = right._repr_html_(), wrong._repr_html_()
    assert "Correct" in html_right and "#1b5e20" in html_right
    assert "Not quite" in html_wrong and "#b71c1c" in html_wrong
    assert "expected 42" in html_wrong
    # the learner's text is escaped
    assert "<script>" not in CheckResult(False, "<script>x</script>")._repr_html_()


def test_registry_errors(toy):
    with pytest.raises(KeyError, match="did you mean '99.toy'"):
        check("99.tpy", 1)
    with pytest.raises(ValueError, match="NN.short_name"):
        exercise("toy", title="t", solution="s")
    with pytest.raises(ValueError, match="title"):
        exercise("99.x", title=" ", solution="s")
    with pytest.raises(ValueError, match="solution"):
        exercise("99.x", title="t", solution="")
    with pytest.raises(ValueError, match="registered twice"):
        @exercise("99.toy", title="again", solution="s")
        def _other(answer):  # a different function under the same name
            return None


def test_solution_and_listing(toy):
    text = solution("99.fn")
    assert isinstance(text, str) and text == "def f(x):\n    return 2 * x\n"
    assert "<pre><code>" in text._repr_html_()
    names = dict(list_exercises("99."))
    assert names == {"99.fn": "Toy: a doubling function", "99.toy": "Toy: the answer is 42"}


def test_helpers():
    assert expect_number(np.float32(2.5), what="x") == 2.5
    assert expect_number(np.array(3), what="x", integer=True) == 3
    with pytest.raises(Incorrect, match="whole number"):
        expect_number(2.5, what="x", integer=True)
    with pytest.raises(Incorrect, match="shape"):
        expect_array(np.zeros(3), np.zeros(4), what="the array")
    with pytest.raises(Incorrect, match="index"):
        expect_array([1.0, 2.0], [1.0, 3.0], what="the array")
    with pytest.raises(Incorrect, match="missing keys"):
        expect_mapping({"a": 1}, {"a": 1, "b": 2}, what="the counts")
    with pytest.raises(Incorrect, match="'b': you have 3, expected 2"):
        expect_mapping({"a": 1, "b": 3}, {"a": 1, "b": 2}, what="the counts")


def test_a_broken_module_does_not_hide_the_others(monkeypatch):
    import sertutor.exercises as ex

    monkeypatch.setattr(ex, "notebook_modules", lambda: ["nb00", "nb97"])
    monkeypatch.setattr(ex, "_failed", {})
    with pytest.warns(RuntimeWarning, match="nb97 could not be imported"):
        ex._load_all()
    assert "00.class_counts" in dict(list_exercises())


# ------------------------------------------------------------- every registered exercise
ALL = list_exercises()


def test_exercises_are_registered_for_each_notebook():
    prefixes = {name[:2] for name, _ in ALL}
    assert {"00", "01", "08"} <= prefixes


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_every_exercise_has_title_solution_and_never_raises(name):
    ex = _core.get_exercise(name)
    assert ex.title.strip() and len(ex.title) < 120
    assert ex.solution.strip() and solution(name) == ex.solution
    if not ex.allow_none:
        assert check(name, None).pending
    for junk in (object(), "not an answer", [[1, 2], [3]]):
        result = check(name, junk)  # must not raise
        assert isinstance(result, CheckResult) and not result.passed and result.message


def _notebooks():
    return sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_each_notebook_has_checked_exercises_with_solutions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"]
                         if c["cell_type"] == "markdown")
    calls = re.findall(r"\bcheck\(\s*[\"'](\d\d\.[\w.]+)[\"']", code)
    assert len(calls) >= 2, f"{path.name}: {len(calls)} check( calls; need at least 2"
    registered = dict(ALL)
    for name in calls:
        assert name in registered, f"{path.name} checks {name!r}, which is not registered"
        assert name[:2] == path.name[:2], f"{path.name} checks another notebook's {name!r}"
    n_solutions = len(re.findall(r"<details>\s*<summary>\s*Solution", markdown))
    assert n_solutions >= len(set(calls)), \
        f"{path.name}: {len(set(calls))} exercises but {n_solutions} <details> solutions"


# ---------------------------------------------------------------- notebook 00 checkers
def test_00_class_counts():
    def right(manifest):
        return manifest[manifest["emotion"] != ""]["emotion"].value_counts()

    assert check("00.class_counts", right)  # a Series is fine
    assert check("00.class_counts", lambda m: right(m).to_dict())
    r = check("00.class_counts", lambda m: m["emotion"].value_counts().to_dict())
    assert not r and "key ''" in r.message
    r = check("00.class_counts", lambda m: m["emotion_extended"].value_counts().to_dict())
    assert not r and "extended labels" in r.message
    r = check("00.class_counts", lambda m: dict(right(m).to_dict(), happy=int(right(m)["happy"])
                                                 + 1))
    assert not r and "'happy'" in r.message
    # numbers typed in (right for synth-emo itself) fail on the manifests the notebook never
    # shows; so does a dict, which is not a function
    from sertutor.data import load_corpus

    typed = right(load_corpus("synth-emo")).to_dict()
    r = check("00.class_counts", lambda m: typed)
    assert not r and "random half of synth-emo" in r.message
    assert "a function" in check("00.class_counts", typed).message
    # a class with no row may be left out (value_counts) or given as 0
    assert check("00.class_counts", lambda m: {e: int((m["emotion"] == e).sum())
                                               for e in ("neutral", "happy", "sad", "angry")})
    assert "a function" in check("00.class_counts", [80, 80, 80, 80]).message


def test_00_semitones():
    assert check("00.semitones", 200 * 2 ** (4.5 / 12))
    assert check("00.semitones", 259.5)
    assert "logarithmic" in check("00.semitones", 200 * (1 + 4.5 / 12)).message
    assert "ratio" in check("00.semitones", 204.5).message
    assert "above 200" in check("00.semitones", 150).message
    assert not check("00.semitones", 300)
    assert "number" in check("00.semitones", "259 Hz").message


def test_00_highest_f0():
    assert check("00.highest_f0", "happy") and check("00.highest_f0", " Happy ")
    assert "joy raises F0 more" in check("00.highest_f0", "angry").message
    assert "low-arousal" in check("00.highest_f0", "sad").message
    assert "extended emotion" in check("00.highest_f0", "surprise").message
    assert "not one of the four" in check("00.highest_f0", "excited").message
    assert "string" in check("00.highest_f0", 3).message


def test_00_highest_f0_is_what_the_voice_does():
    """The checker's answer is what the synthetic voice really does (measured)."""
    from sertutor.data.voice import synthesize_voice

    median = {}
    for emotion in ("neutral", "happy", "sad", "angry"):
        _, info = synthesize_voice(emotion=emotion, gender="female", speaker_seed=0, seed=0)
        f0 = info["f0"]
        median[emotion] = float(np.median(f0[f0 > 0]))
    assert check("00.highest_f0", max(median, key=median.get))


# ---------------------------------------------------------------- notebook 01 checkers
def test_01_n_frames():
    from sertutor.features import n_frames

    assert check("01.n_frames", int(n_frames(40000)))
    assert check("01.n_frames", np.int64(251))
    assert "one more" in check("01.n_frames", 250).message
    assert "without centring" in check("01.n_frames", 248).message
    assert "samples" in check("01.n_frames", 40000).message
    assert not check("01.n_frames", 252)
    assert "whole number" in check("01.n_frames", 251.5).message


def test_01_power_to_db_right_and_wrong():
    import librosa

    def right(power, top_db=80.0):
        return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=top_db)

    assert check("01.power_to_db", right)

    def torch_version(power, top_db=80.0):
        import torch

        db = 10 * torch.log10(torch.clamp(torch.as_tensor(power), min=1e-10))
        return db if top_db is None else torch.maximum(db, db.max() - top_db)

    assert check("01.power_to_db", torch_version)

    wrong = {
        "no floor": (lambda p, top_db=80.0: 10 * np.log10(p), "-inf"),
        "20 log10": (lambda p, top_db=80.0: 20 * np.log10(np.maximum(p, 1e-10)), "20 * log10"),
        "no clip": (lambda p, top_db=80.0: 10 * np.log10(np.maximum(p, 1e-10)), "not clipped"),
        "absolute clip": (lambda p, top_db=80.0: np.maximum(
            10 * np.log10(np.maximum(p, 1e-10)), -top_db if top_db else -np.inf),
            "relative to the loudest"),
        "wrong shape": (lambda p, top_db=80.0: np.zeros(3), "shape"),
        "no top_db arg": (lambda p: p, "unexpected keyword"),
    }
    for label, (fn, phrase) in wrong.items():
        with np.errstate(divide="ignore"):
            r = check("01.power_to_db", fn)
        assert not r and phrase in r.message, (label, r.message)
    assert "function" in check("01.power_to_db", 3.0).message


def test_01_normalise_right_and_wrong():
    from sertutor.features import NormStats

    assert check("01.normalise", lambda x, m, s: (x - m[..., None]) / s[..., None])
    assert check("01.normalise", lambda x, m, s: NormStats(m, s, 1).apply(x))
    assert "did not divide" in check("01.normalise", lambda x, m, s: x - m[..., None]).message
    assert "this one array" in check("01.normalise",
                                     lambda x, m, s: (x - x.mean()) / x.std()).message
    r = check("01.normalise", lambda x, m, s: (x - m[..., None]) / s[..., None] ** 2)
    assert not r and "differs" in r.message
    r = check("01.normalise", lambda x, m, s: (x - m) / s)  # broadcasting over the wrong axis
    assert not r and "raised ValueError" in r.message


# ---------------------------------------------------------------- notebook 08 checkers
@pytest.fixture
def wav(tmp_path):
    from sertutor.audio import write_wav

    return write_wav(tmp_path / "clip.wav", np.zeros(4000, np.float32) + 0.01)


def test_08_manifest_row(wav):
    row = {"utt_id": "u1", "path": str(wav), "speaker": "s1", "gender": "female",
           "emotion": "happy"}
    assert check("08.manifest_row", row)
    assert check("08.manifest_row", dict(row, corpus="mine", arousal=4.0))
    cases = {
        "missing emotion": ({k: v for k, v in row.items() if k != "emotion"}, "'emotion'"),
        "bad gender": (dict(row, gender="f"), "validate_manifest rejects"),
        "missing file": (dict(row, path=str(wav) + ".nope"), "not an existing file"),
        "extended emotion": (dict(row, emotion="fear"), "emotion_extended"),
        "unknown column": (dict(row, label="happy"), "Unknown column"),
        "arousal out of range": (dict(row, arousal=7.0), "must lie in [1.0, 5.0]"),
        "a list": ([row], "as a dict"),
    }
    for label, (answer, phrase) in cases.items():
        r = check("08.manifest_row", answer)
        assert not r and phrase in r.message, (label, r.message)


def test_08_manifest_row_paths(wav, tmp_path, monkeypatch):
    """Relative paths (read from the CSV's folder) pass, as the lesson says; existing files
    that are not audio, and paths leaving the CSV's folder, do not."""
    row = {"utt_id": "u1", "speaker": "s1", "gender": "female", "emotion": "happy"}
    r = check("08.manifest_row", dict(row, path="clips/clip00.wav"))
    assert r and "relative" in r.message and "CSV's folder" in r.message
    monkeypatch.chdir(wav.parent)  # a relative path that exists from here
    assert check("08.manifest_row", dict(row, path=wav.name))
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not a wav file")
    wrong = {
        "/etc/passwd": (dict(row, path="/etc/passwd"), "does not name an audio file"),
        "text file named .wav": (dict(row, path=str(not_audio)), "not audio"),
        "relative text file named .wav": (dict(row, path=not_audio.name), "not audio"),
        "leaves the folder": (dict(row, path="../clips/clip00.wav"), "'..'"),
        "relative, not audio": (dict(row, path="clips/notes.txt"), "audio file"),
    }
    for label, (answer, phrase) in wrong.items():
        r = check("08.manifest_row", answer)
        assert not r and phrase in r.message, (label, r.message)


def test_08_n_segments_matches_segment():
    import math

    from sertutor import get_config
    from sertutor.features import n_frames, segment

    f = get_config("paper").features
    T = int(n_frames(int(3.2 * f.sample_rate), config=f))
    segs, _ = segment(np.zeros((1, 4, T), np.float32), frames=f.segment_frames,
                      hop=f.segment_hop)
    assert check("08.n_segments", len(segs))
    assert "ceil" in check("08.n_segments", len(segs) - 1).message
    assert "overlap" in check("08.n_segments", math.ceil(T / 128)).message
    assert "classroom" in check("08.n_segments", 1 + math.ceil((T - 96) / 48)).message
    assert not check("08.n_segments", 7)


def test_08_global_batch():
    from sertutor import get_config

    b = get_config("paper").train.batch_size
    assert check("08.global_batch", 4 * b)
    assert "one process's batch" in check("08.global_batch", b).message
    assert "per process" in check("08.global_batch", b // 4).message
    assert not check("08.global_batch", 3 * b)


# ------------------------------------------------------------ the solutions are right
def _run_solution(name, namespace):
    exec(compile(solution(name), f"<solution {name}>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("name,variable", [
    ("00.class_counts", "count_classes"), ("00.semitones", "answer_hz"),
    ("00.highest_f0", "answer_emotion"), ("01.n_frames", "answer_frames"),
    ("01.power_to_db", "power_to_db"), ("01.normalise", "normalise"),
    ("08.n_segments", "answer_segments"), ("08.global_batch", "answer_global_batch"),
    ("08.manifest_row", "answer_row"),
])
def test_solutions_pass_their_checkers(name, variable, wav):
    import sertutor
    from sertutor.data import load_corpus

    # only what the notebooks define above the exercise (sertutor, load_corpus, wav_paths);
    # tests/test_notebooks.py runs every solution in its notebook's real state after Run All
    ns = _run_solution(name, {"load_corpus": load_corpus, "sertutor": sertutor,
                              "wav_paths": [wav]})
    result = check(name, ns[variable])
    assert result, result.message
