"""``sertutor tutorials grade`` (issue 16, part 3) on generated submissions.

The submissions are made from a small synthetic notebook (cheap exercises only), never from
the real tutorials: right, wrong and unanswered answers, a broken notebook, a file that is not
a notebook, an answer that loops, one that ignores the interrupt, one that blows up memory,
and an empty answer cell.
"""

from __future__ import annotations

import csv

import nbformat
import pytest

from sertutor.cli import main
from sertutor.exercises import list_exercises
from sertutor.teaching import GradeReport, GradeRow, grade, summary_html

RIGHT_CHANCE = '{"wa": 0.8, "uar": 0.25}'


def _notebook(frames_cell: str, chance_value: str | None, extra: list[str] = ()) -> str:
    """Three cells; ``chance_value=None`` leaves the 02.chance_uar cell empty."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = ["from sertutor.exercises import check", frames_cell,
             "" if chance_value is None
             else f"answer_chance = {chance_value}\ncheck('02.chance_uar', answer_chance)",
             *extra]
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    return nbformat.writes(nb)


def _frames(value: str) -> str:
    return f"answer_frames = {value}\ncheck('01.n_frames', answer_frames)"


STUBBORN = ("import time\nwhile True:\n    try:\n        time.sleep(1)\n"
            "    except KeyboardInterrupt:\n        pass\ncheck('01.n_frames', 251)")


@pytest.fixture
def submissions(tmp_path):
    root = tmp_path / "submitted"
    files = {
        "alice/02_small.ipynb": _notebook(_frames("251"), RIGHT_CHANCE),
        "bob/02_small.ipynb": _notebook(_frames("None"), '{"wa": 0.25, "uar": 0.8}', [
            "import sertutor.evaluate as E\nuar_from_confusion = lambda cm: E.uar([0], [0])\n"
            "check('02.uar_from_confusion', uar_from_confusion)"]),
        "carol/02_small.ipynb": '{"cells": [ this is not json',
        "carol/notes.txt": "I could not finish.",
        "dave/02_small.ipynb": _notebook("while True:\n    pass\ncheck('01.n_frames', 251)",
                                         RIGHT_CHANCE),
        "erin/02_small.ipynb": _notebook(_frames("None"), None),  # an emptied answer cell
        "frank/02_small.ipynb": _notebook(STUBBORN, RIGHT_CHANCE),
        "grace/02_small.ipynb": _notebook("blob = bytearray(2 ** 40)\n" + _frames("251"),
                                          RIGHT_CHANCE),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _snapshot(root):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.notebook
def test_grading_generated_submissions(submissions, tmp_path, capsys):
    before = _snapshot(submissions)
    out = tmp_path / "grades" / "grades.csv"
    # a cell limit that a cold `import torch` fits in on a loaded 2-core machine (bob's cell)
    assert main(["tutorials", "grade", str(submissions), "--out", str(out), "--timeout", "60",
                 "--cell-timeout", "20", "--memory-mb", "6000"]) == 0
    printed = capsys.readouterr()
    assert "not graded: carol/notes.txt" in printed.out
    assert "grading" in printed.err  # the tqdm bar
    assert _snapshot(submissions) == before  # nothing in the submissions was touched

    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["student", "notebook", "exercise", "status", "message"]
    got = {(r["student"], r["exercise"]): r for r in rows}
    status = {k: r["status"] for k, r in got.items()}
    # every exercise of the notebook's tutorial (02) is listed, plus the 01 one it checks
    expected = [n for n, _ in list_exercises("02.")] + ["01.n_frames"]
    assert sorted(e for s, e in got if s == "alice") == sorted(expected)
    assert status[("alice", "01.n_frames")] == status[("alice", "02.chance_uar")] == "passed"
    assert status[("alice", "02.most_confused")] == "not answered"
    assert status[("bob", "01.n_frames")] == "not answered"
    assert status[("bob", "02.chance_uar")] == "failed"
    assert "0.25" in got[("bob", "02.chance_uar")]["message"]
    # graded checks want the student's own implementation, not the library's
    assert status[("bob", "02.uar_from_confusion")] == "failed"
    assert "uses sertutor.evaluate.uar" in got[("bob", "02.uar_from_confusion")]["message"]
    assert status[("carol", "")] == "failed"
    assert "not a valid notebook" in got[("carol", "")]["message"]
    # a loop is interrupted after the cell limit; the next cells still run
    assert status[("dave", "01.n_frames")] == "failed"
    assert "did not finish within 20 s" in got[("dave", "01.n_frames")]["message"]
    assert status[("dave", "02.chance_uar")] == "passed"
    assert status[("erin", "01.n_frames")] == status[("erin", "02.chance_uar")] == "not answered"
    assert "no check of this exercise ran" in got[("erin", "02.chance_uar")]["message"]
    # a loop that swallows the interrupt: the notebook is stopped at its limit, grading goes on
    assert status[("frank", "01.n_frames")] == status[("frank", "02.chance_uar")] == "failed"
    assert "stopped after 60 s" in got[("frank", "02.chance_uar")]["message"]
    assert status[("frank", "02.most_confused")] == "not answered"  # never in the notebook
    # a memory blow-up fails that cell only
    assert status[("grace", "01.n_frames")] == "failed"
    assert "ran out of memory (the limit is 6000 MB)" in got[("grace", "01.n_frames")]["message"]
    assert status[("grace", "02.chance_uar")] == "passed"

    page = out.with_suffix(".html").read_text()
    # alice, dave and grace pass of six; erin did not answer
    assert "<td>02.chance_uar</td><td>6</td><td>50%</td><td>1</td>" in page
    assert "carol/notes.txt" in page and "not a valid notebook" in page
    assert "<td>alice</td><td>2</td><td>4</td>" in page


def test_grade_validates_its_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="submissions folder not found"):
        grade(tmp_path / "missing", out=tmp_path / "g.csv")
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        grade(tmp_path / "subs", out=tmp_path / "g.csv", timeout=0)
    with pytest.raises(ValueError, match="inside the submissions folder"):
        grade(tmp_path / "subs", out=tmp_path / "subs" / "g.csv")
    empty = grade(tmp_path / "subs", out=tmp_path / "g.csv", progress=False)
    assert empty.rows == [] and (tmp_path / "g.csv").read_text().startswith("student,")


def test_summary_counts_the_most_common_failures():
    rows = [GradeRow(s, "02_x.ipynb", "02.chance_uar", st, msg) for s, st, msg in [
        ("a", "failed", "WA: you gave 0.25\nHint: x"), ("b", "failed", "WA: you gave 0.25"),
        ("c", "failed", "UAR is wrong"), ("d", "passed", "")]]
    page = summary_html(GradeReport(rows))
    assert "<td>02.chance_uar</td><td>4</td><td>25%</td><td>0</td>" in page
    assert page.index("2 × WA: you gave 0.25") < page.index("1 × UAR is wrong")
