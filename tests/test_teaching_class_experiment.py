"""The class is the experiment (issue 16, part 5): notebook 05 records each student's (fold,
seed) pair of ``baseline`` and ``full`` with their answers, and the grading command pools the
class's pairs into the paired gain, its standard error and wins.

No model is trained here: the submissions are generated notebooks whose saved outputs carry
pairs built directly (what ``record_result(paired_run(...))`` leaves in a notebook). The
notebook's own run of ``paired_run`` is tested by ``tests/test_notebooks.py -k 05``.
"""

from __future__ import annotations

import csv
import json

import nbformat
import numpy as np
import pytest

from sertutor.cli import main
from sertutor.exercises import RESULT_MIME, check, record_result, recorded_results
from sertutor.experiments import (CLASS_PAIR, RECORDED_ABLATIONS, pair_for, pair_rows,
                                  pair_vs_recorded, paired_gains, paired_run,
                                  recorded_ablations)
from sertutor.teaching import (class_experiment, collect_pairs, grade, recorded_pairs,
                               summary_html)


def _pair(fold, seed, baseline, full, *, steps=200, **extra):
    """A row as :func:`sertutor.experiments.paired_run` returns it."""
    return {"experiment": CLASS_PAIR, "fold": fold, "seed": seed, "fraction": 0.1,
            "steps": steps, "preset": "classroom", "emotion_corpus": "synth-emo",
            "aux_corpus": "synth-aux", "reference": "baseline", "variant": "full",
            "baseline_uar": baseline, "baseline_wa": baseline, "baseline_seconds": 9.0,
            "full_uar": full, "full_wa": full, "full_seconds": 80.0, "gain": full - baseline,
            **extra}


def _output(row) -> nbformat.NotebookNode:
    """The output a Jupyter kernel saves for ``record_result(row)`` as a cell's last line."""
    bundle = record_result(row)._repr_mimebundle_()
    return nbformat.v4.new_output("execute_result", data=bundle, execution_count=3)


def _notebook(*rows, answered: bool = True) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    answer = "answer_frames = 251" if answered else "answer_frames = None"
    nb.cells = [nbformat.v4.new_code_cell("from sertutor.exercises import check"),
                nbformat.v4.new_code_cell(f"{answer}\ncheck('01.n_frames', answer_frames)")]
    for row in rows:  # the pair cell as saved; re-running it only prints (no training here)
        cell = nbformat.v4.new_code_cell("print('pair recorded')")
        cell.outputs = [_output(row)]
        cell.execution_count = 3
        nb.cells.append(cell)
    return nbformat.writes(nb)


@pytest.fixture
def no_progress(monkeypatch):
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")


# --------------------------------------------------------------------- recording a result
def test_record_result_keeps_the_row_with_the_answers(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SERTUTOR_PROGRESS_FILE", str(path))
    monkeypatch.delenv("SERTUTOR_PROGRESS", raising=False)
    assert check("01.n_frames", 251)
    row = _pair(np.int64(1), 0, np.float32(0.5), float("nan"))
    shown = record_result(row)
    assert shown["fold"] == 1 and shown.kind == CLASS_PAIR and shown.row["full_uar"] is None
    bundle = shown._repr_mimebundle_()
    assert bundle[RESULT_MIME]["row"] == shown.row and bundle[RESULT_MIME]["kind"] == CLASS_PAIR
    assert "Recorded" in bundle["text/html"] and "hand the notebook in" in bundle["text/html"]
    json.dumps(bundle[RESULT_MIME])  # JSON-ready: numpy scalars and NaN converted
    record_result({"score": 1.0}, kind="other")
    data = json.loads(path.read_text())
    assert "01.n_frames" in data["passed"]  # the checks' progress is kept beside the results
    assert [e["kind"] for e in data["results"]] == [CLASS_PAIR, "other"]
    assert [e["row"]["fold"] for e in recorded_results(CLASS_PAIR)] == [1]
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")  # recording off: shown, not stored
    record_result(_pair(2, 0, 0.5, 0.5))
    assert len(recorded_results()) == 2
    with pytest.raises(TypeError):
        record_result([1, 2])


def test_pair_for_and_paired_run_arguments():
    assert pair_for(0) == (0, 0) and pair_for(7) == (2, 1) and pair_for(29) == (4, 5)
    assert len({pair_for(n) for n in range(30)}) == 30
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError):
            pair_for(bad)
    for kwargs in ({"variants": ("full", "full")}, {"variants": ("baseline", "nope")},
                   {"fold": 5}, {"seed": -1}):
        with pytest.raises(ValueError):  # refused before any data is prepared
            paired_run(**kwargs)


def test_a_pair_next_to_the_recorded_ablation():
    mine = _pair(0, 0, 0.40, 0.45)
    assert pair_rows(mine) == [
        {"variant": "baseline", "fraction": 0.1, "fold": 0, "seed": 0, "steps": 200,
         "uar": 0.40, "wa": 0.40},
        {"variant": "full", "fraction": 0.1, "fold": 0, "seed": 0, "steps": 200,
         "uar": 0.45, "wa": 0.45}]
    recorded = [{"variant": v, "fraction": f, "seed": s, "uar": u}
                for v, f, s, u in (("baseline", 0.1, 0, 0.5), ("full", 0.1, 0, 0.55),
                                   ("baseline", 0.1, 1, 0.4), ("full", 0.1, 1, 0.35),
                                   ("baseline", 0.3, 0, 0.9), ("aae", 0.1, 0, 0.9))]
    table = pair_vs_recorded(mine, recorded)
    assert [r["n"] for r in table] == [1, 2]
    assert table[0]["gain"] == pytest.approx(0.05) and table[0]["wins"] == 1
    assert table[1]["baseline_uar"] == pytest.approx(0.45)
    assert table[1]["full_uar"] == pytest.approx(0.45)
    assert table[1]["gain"] == pytest.approx(0.0) and table[1]["wins"] == 1
    assert table[1]["gain_se"] == pytest.approx(np.std([0.05, -0.05], ddof=1) / np.sqrt(2))
    assert pair_vs_recorded(mine) == table[:1]  # nothing recorded: the pair alone


def test_the_recorded_ablations_come_today_s_protocol_first(tmp_path):
    assert recorded_ablations(results_dir=tmp_path) == []  # a pip install: no benchmarks/
    older, today = RECORDED_ABLATIONS[1], RECORDED_ABLATIONS[0]
    (tmp_path / f"{older}.json").write_text(json.dumps({"summary": [{"variant": "ae"}]}))
    (tmp_path / "ablation_other.json").write_text("{}")  # not one of the shown files
    assert [r["file"] for r in recorded_ablations(results_dir=tmp_path)] == [f"{older}.json"]
    (tmp_path / f"{today}.json").write_text(json.dumps({"summary": [], "rows": [1]}))
    got = recorded_ablations(results_dir=tmp_path)
    assert [r["file"] for r in got] == [f"{today}.json", f"{older}.json"]
    assert got[0]["rows"] == [1] and got[1]["summary"] == [{"variant": "ae"}]
    (tmp_path / f"{today}.json").write_text("{not json")
    with pytest.raises(ValueError, match=f"{today}.json.*not a JSON"):
        recorded_ablations(results_dir=tmp_path)
    (tmp_path / f"{today}.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="'summary' list"):
        recorded_ablations(results_dir=tmp_path)


def test_the_checkout_s_recorded_ablations_load():
    """The files the notebooks show exist in this checkout and pair today's protocol."""
    got = recorded_ablations()
    assert [r["file"] for r in got] == [f"{n}.json" for n in RECORDED_ABLATIONS]
    today = {(r["variant"], r["fraction"]) for r in got[0]["rows"]}
    assert {("baseline", 0.1), ("full", 0.1), ("baseline", 1.0)} <= today


# ------------------------------------------------------------------------ pooling a class
CLASS = {  # student -> pairs (fold, seed, baseline UAR, full UAR)
    "s00": [(0, 0, 0.40, 0.47)], "s01": [(1, 0, 0.50, 0.48)], "s02": [(2, 0, 0.45, 0.50)],
    "s03": [(3, 0, 0.38, 0.44)], "s04": [(4, 0, 0.52, 0.52)],
    "s05": [(0, 1, 0.42, 0.45), (1, 1, 0.48, 0.46)],        # ran two numbers
    "twin": [(0, 0, 0.42, 0.47)],                           # the same pair as s00
}


@pytest.fixture
def submissions(tmp_path, no_progress):
    root = tmp_path / "submitted"
    for student, pairs in CLASS.items():
        folder = root / student / "05_semi_supervised"  # nbgrader's submitted/ layout
        folder.mkdir(parents=True)
        rows = [_pair(*p) for p in pairs]
        if student == "s05":  # recorded one pair twice: the last one counts
            rows.insert(0, _pair(0, 1, 0.10, 0.90))
        (folder / "05_semi_supervised.ipynb").write_text(_notebook(*rows))
    odd = root / "zed"
    odd.mkdir()
    tampered = _pair(2, 1, 0.5, 1.7)  # a UAR above 1: left out
    (odd / "05_semi_supervised.ipynb").write_text(_notebook(tampered, _pair(9, 9, 0.5, 0.5,
                                                                           steps=20)))
    (odd / "notes.txt").write_text("not a notebook")
    (root / "nobody.ipynb").write_text(_notebook())  # no pair
    return root


def _expected():
    """Per distinct (fold, seed): UARs averaged over the students who ran it."""
    cells: dict[tuple, list] = {}
    for pairs in CLASS.values():
        for fold, seed, b, f in pairs:
            cells.setdefault((fold, seed), []).append((b, f))
    return {k: (np.mean([b for b, _ in v]), np.mean([f for _, f in v]))
            for k, v in cells.items()}


def test_the_class_pairs_are_pooled_into_a_paired_gain(submissions):
    pairs = collect_pairs(submissions)
    assert len(pairs) == 9  # 8 of CLASS (s05's repeat counted once) + zed's 20-step pair
    result = class_experiment(pairs)
    assert len(result["pairs"]) == 9
    main_cell, short = sorted(result["summary"], key=lambda r: -r["steps"])
    expected = _expected()
    gains = np.array([f - b for b, f in expected.values()])
    assert main_cell["reference"] == "baseline" and main_cell["variant"] == "full"
    assert (main_cell["fraction"], main_cell["steps"]) == (0.1, 200)
    assert main_cell["pairs"] == len(expected) == 7 and main_cell["students"] == 7
    assert main_cell["repeated_pairs"] == 1
    assert main_cell["gain"] == pytest.approx(gains.mean())
    assert main_cell["gain_sd"] == pytest.approx(gains.std(ddof=1))
    assert main_cell["gain_se"] == pytest.approx(gains.std(ddof=1) / np.sqrt(7))
    assert main_cell["wins"] == int((gains > 0).sum()) == 4
    assert main_cell["reference_uar"] == pytest.approx(np.mean([b for b, _ in
                                                                expected.values()]))
    # the same numbers as sertutor.experiments.paired_gains on the distinct pairs
    rows = [r for (fold, seed), (b, f) in expected.items()
            for r in pair_rows(_pair(fold, seed, b, f))]
    reference = paired_gains(rows, pair=("fold", "seed"), by=())[0]
    assert main_cell["gain"] == pytest.approx(reference["gain_mean"])
    assert main_cell["gain_se"] == pytest.approx(reference["gain_se"])
    assert (short["steps"], short["pairs"], short["students"]) == (20, 1, 1)
    # one notebook's record, as read from its saved outputs
    nb = nbformat.read(str(submissions / "s05" / "05_semi_supervised" /
                           "05_semi_supervised.ipynb"), as_version=4)
    assert [(p["fold"], p["seed"], p["variant_uar"]) for p in recorded_pairs(nb)] == \
        [(0, 1, 0.45), (1, 1, 0.46)]


def test_the_class_experiment_command_writes_the_tables(submissions, tmp_path, capsys):
    out = tmp_path / "out" / "class_experiment.csv"
    assert main(["tutorials", "class-experiment", str(submissions), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "full - baseline at fraction 0.1, 200 steps: gain" in printed
    assert "4 wins of 7 pair(s), 7 student(s)" in printed
    table = list(csv.DictReader(out.open()))
    assert [(r["steps"], r["pairs"], r["wins"]) for r in table] == [("20", "1", "0"),
                                                                     ("200", "7", "4")]
    assert set(table[0]) >= {"gain", "gain_se", "wins", "students", "reference_uar"}
    pairs = list(csv.DictReader((out.parent / "class_pairs.csv").open()))
    assert len(pairs) == 9 and {p["student"] for p in pairs} >= {"s00", "twin", "zed"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["tutorials", "class-experiment", str(empty), "--out", str(out)]) == 1


def test_pairs_with_and_without_the_prosody_target_are_not_pooled(capsys, tmp_path):
    """decoder_prosody (the default since session 21) is part of the protocol: a pair trained
    with the paper's decoder, or recorded before the field existed, pools apart."""
    pairs = [{"student": "a", **_pair(0, 0, 0.40, 0.50, decoder_prosody=True)},
             {"student": "b", **_pair(1, 0, 0.40, 0.46, decoder_prosody=True)},
             {"student": "c", **_pair(0, 0, 0.40, 0.38, decoder_prosody=False)},
             {"student": "d", **_pair(0, 0, 0.45, 0.45)},
             {"student": "e", **_pair(2, 0, 0.45, 0.40, decoder_prosody="yes")}]  # malformed
    result = class_experiment(pairs)
    cells = {r["decoder_prosody"]: r for r in result["summary"]}
    assert set(cells) == {None, False, True}
    assert cells[True]["pairs"] == 2 and cells[True]["gain"] == pytest.approx(0.08)
    assert cells[False]["gain"] == pytest.approx(-0.02)
    assert cells[None]["pairs"] == 2  # not recorded: "d", and "e" whose value is not a bool
    assert [r["decoder_prosody"] for r in result["summary"]] == [None, False, True]
    root = tmp_path / "submitted" / "a"
    root.mkdir(parents=True)
    (root / "05_semi_supervised.ipynb").write_text(
        _notebook(*[_pair(f, 0, 0.4, 0.5, decoder_prosody=True) for f in range(2)]))
    out = tmp_path / "class_experiment.csv"
    assert main(["tutorials", "class-experiment", str(tmp_path / "submitted"),
                 "--out", str(out)]) == 0
    assert "prosody target on: gain +0.100" in capsys.readouterr().out
    assert [r["decoder_prosody"] for r in csv.DictReader(out.open())] == ["True"]


def test_pairs_trained_with_another_weight_average_are_not_pooled(tmp_path, capsys):
    # the same (fold, seed) run by a student with today's default (0.99), one with it off and
    # one on a version that did not record it: three protocols, three cells, nothing pooled
    pairs = [{"student": "a", **_pair(0, 0, 0.40, 0.50, ema_decay=0.99)},
             {"student": "a", **_pair(1, 0, 0.40, 0.44, ema_decay=0.99)},
             {"student": "b", **_pair(0, 0, 0.30, 0.20, ema_decay=0.0)},
             {"student": "c", **_pair(0, 0, 0.45, 0.45)}]
    result = class_experiment(pairs)
    cells = {r["ema_decay"]: r for r in result["summary"]}
    assert set(cells) == {None, 0.0, 0.99}
    assert (cells[0.99]["pairs"], cells[0.99]["repeated_pairs"]) == (2, 0)
    assert cells[0.99]["gain"] == pytest.approx(0.07)
    assert cells[0.0]["gain"] == pytest.approx(-0.10) and cells[None]["gain"] == 0
    assert [r["ema_decay"] for r in result["summary"]] == [None, 0.0, 0.99]
    # the notebook record keeps the field; the tables and the command say it
    nb = nbformat.reads(_notebook(_pair(0, 0, 0.4, 0.5, ema_decay=0.99)), as_version=4)
    assert recorded_pairs(nb)[0]["ema_decay"] == 0.99
    root = tmp_path / "submitted" / "a"
    root.mkdir(parents=True)
    (root / "05_semi_supervised.ipynb").write_text(
        _notebook(*[_pair(f, 0, 0.4, 0.5, ema_decay=0.99) for f in range(2)]))
    out = tmp_path / "class_experiment.csv"
    assert main(["tutorials", "class-experiment", str(tmp_path / "submitted"),
                 "--out", str(out)]) == 0
    assert "200 steps, weight average 0.99: gain +0.100" in capsys.readouterr().out
    assert [r["ema_decay"] for r in csv.DictReader(out.open())] == ["0.99"]


def test_pairs_trained_with_another_speaker_weight_are_not_pooled(tmp_path, capsys):
    # today's default trains no speaker head (0); a notebook of sessions 13-14 recorded the
    # weight average but not the speaker weight (then 0.3): two protocols, two cells
    pairs = [{"student": "a", **_pair(0, 0, 0.40, 0.50, ema_decay=0.99, w_speaker=0.0)},
             {"student": "b", **_pair(1, 0, 0.40, 0.30, ema_decay=0.99, w_speaker=0.3)},
             {"student": "c", **_pair(0, 0, 0.40, 0.40, ema_decay=0.99)}]
    result = class_experiment(pairs)
    cells = {r["w_speaker"]: r for r in result["summary"]}
    assert set(cells) == {None, 0.0, 0.3} and all(c["pairs"] == 1 for c in cells.values())
    assert cells[0.0]["gain"] == pytest.approx(0.10)
    assert cells[0.3]["gain"] == pytest.approx(-0.10) and cells[None]["gain"] == 0
    root = tmp_path / "submitted" / "a"
    root.mkdir(parents=True)
    (root / "05_semi_supervised.ipynb").write_text(
        _notebook(_pair(0, 0, 0.4, 0.5, ema_decay=0.99, w_speaker=0.0)))
    out = tmp_path / "class_experiment.csv"
    assert main(["tutorials", "class-experiment", str(tmp_path / "submitted"),
                 "--out", str(out)]) == 0
    assert "weight average 0.99, speaker weight 0: gain +0.100" in capsys.readouterr().out
    assert [r["w_speaker"] for r in csv.DictReader(out.open())] == ["0"]
    assert [r["w_speaker"] for r in csv.DictReader((tmp_path / "class_pairs.csv").open())] \
        == ["0"]


def test_pairs_trained_with_another_speaker_gradient_are_not_pooled(tmp_path, capsys):
    # the same speaker weight, a speaker task (+1, before session 17) or an adversary (-1,
    # today's default), or not recorded (a notebook of sessions 15-16): three cells
    pairs = [{"student": "a", **_pair(0, 0, 0.40, 0.50, ema_decay=0.99, w_speaker=0.3,
                                      speaker_grad=-1.0)},
             {"student": "b", **_pair(1, 0, 0.40, 0.30, ema_decay=0.99, w_speaker=0.3,
                                      speaker_grad=1.0)},
             {"student": "c", **_pair(0, 0, 0.40, 0.45, ema_decay=0.99, w_speaker=0.3)}]
    result = class_experiment(pairs)
    cells = {r["speaker_grad"]: r for r in result["summary"]}
    assert set(cells) == {None, -1.0, 1.0} and all(c["pairs"] == 1 for c in cells.values())
    assert cells[-1.0]["gain"] == pytest.approx(0.10)
    assert cells[1.0]["gain"] == pytest.approx(-0.10)
    assert cells[None]["gain"] == pytest.approx(0.05)
    root = tmp_path / "submitted" / "a"
    root.mkdir(parents=True)
    (root / "05_semi_supervised.ipynb").write_text(
        _notebook(_pair(0, 0, 0.4, 0.5, ema_decay=0.99, w_speaker=0.3, speaker_grad=-1.0)))
    out = tmp_path / "class_experiment.csv"
    assert main(["tutorials", "class-experiment", str(tmp_path / "submitted"),
                 "--out", str(out)]) == 0
    assert "speaker weight 0.3, speaker gradient -1: gain +0.100" in capsys.readouterr().out
    assert [r["speaker_grad"] for r in csv.DictReader(out.open())] == ["-1"]
    assert [r["speaker_grad"] for r in
            csv.DictReader((tmp_path / "class_pairs.csv").open())] == ["-1"]


@pytest.mark.notebook
def test_grading_pools_the_pairs_next_to_the_grades(tmp_path, no_progress):
    root = tmp_path / "collected"
    (root / "ann").mkdir(parents=True)  # one kernel: a student who ran two class numbers
    (root / "ann" / "05_semi_supervised.ipynb").write_text(
        _notebook(_pair(0, 0, 0.40, 0.50), _pair(1, 0, 0.50, 0.45)))
    before = {p: p.read_bytes() for p in root.rglob("*.ipynb")}
    report = grade(root, out=tmp_path / "grades" / "grades.csv", progress=False, fast=True,
                   timeout=120, cell_timeout=60, memory_mb=6000)
    assert {p: p.read_bytes() for p in root.rglob("*.ipynb")} == before
    assert report.totals() == {"ann": (1, 3)}  # 01.n_frames and 05's two exercises
    assert report.class_csv == tmp_path / "grades" / "class_experiment.csv"
    assert report.class_pairs_csv == tmp_path / "grades" / "class_pairs.csv"
    (cell,) = report.class_experiment["summary"]
    assert (cell["pairs"], cell["wins"]) == (2, 1)
    assert cell["gain"] == pytest.approx(0.025)
    assert cell["gain_se"] == pytest.approx(np.std([0.10, -0.05], ddof=1) / np.sqrt(2))
    page = report.html.read_text()
    assert "Class experiment (notebook 05)" in page and "+0.025" in page and "1 / 2" in page
    assert "Class experiment" not in summary_html(type(report)(report.rows))
