"""``sertutor tutorials nbgrader`` (issue 16, part 2): an nbgrader course made from the notebooks.

The structure tests convert the nine tutorials (no kernel). The end-to-end test runs the real
nbgrader commands (``nbgrader generate_assignment``, then ``nbgrader autograde`` on a submission
with right, wrong and unanswered exercises and on the teacher's own source notebook) and reads
the scores from nbgrader's gradebook. It converts a small notebook written here in the
tutorials' exact exercise format (cheap checks of notebooks 06 and 07) through the same
function the command uses, so it stays fast.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from sertutor.cli import main
from sertutor.exercises import list_exercises, solution
from sertutor.teaching import NBGRADER_CODE_STUB, nbgrader_notebook, write_nbgrader_course
from sertutor.tutorials import kernel_env, list_notebooks

CHECK = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.]+)["']""")


def _nbgrader_cells(nb):
    return [(c, c.metadata["nbgrader"]) for c in nb.cells if "nbgrader" in c.metadata]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    return out, write_nbgrader_course(out)


def test_every_exercise_becomes_a_solution_cell_and_an_autograded_test(course):
    out, written = course
    teachers = list_notebooks()
    assert [p.relative_to(out).as_posix() for p in written] == \
        [f"source/{p.stem}/{p.name}" for p in teachers] + ["nbgrader_config.py"]
    config = (out / "nbgrader_config.py").read_text()
    assert "c.ClearSolutions.code_stub" in config and NBGRADER_CODE_STUB in config
    for path in teachers:
        teacher = nbformat.read(str(path), as_version=4)
        nb = nbformat.read(str(out / "source" / path.stem / path.name), as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["sertutor"]["copy"] == "nbgrader"
        text = "\n".join(c.source for c in nb.cells)
        assert "<summary>Solution" not in text and "</details>" not in text
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert CHECK.findall(code) == CHECK.findall(
            "\n".join(c.source for c in teacher.cells if c.cell_type == "code"))
        cells = _nbgrader_cells(nb)
        ids = [meta["grade_id"] for _, meta in cells]
        assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[\w-]+", i) for i in ids)
        assert ids[0] == "sertutor_grading_mode" and cells[0][1]["locked"]
        assert 'os.environ["SERTUTOR_GRADING"] = "1"' in cells[0][0].source
        exercises = [name for name, _ in list_exercises(path.name[:2] + ".")]
        answers = {meta["grade_id"]: cell for cell, meta in cells if meta["solution"]}
        tests = {meta["grade_id"]: (cell, meta) for cell, meta in cells if meta["grade"]}
        assert sorted(tests) == sorted(n.replace(".", "_") for n in exercises)
        for name in exercises:
            gid = name.replace(".", "_")
            answer = answers[f"{gid}_answer"].source
            begin = answer.index("### BEGIN SOLUTION\n")
            end = answer.index("\n### END SOLUTION")
            placeholder = re.search(r"^(\w+) = None\b.*$", answer[:begin], re.M)
            assert placeholder, name  # the learner's placeholder stays above the region
            assert answer[begin + 19:end] + "\n" == solution(name)  # the solution block's code
            test, meta = tests[gid]
            assert meta == {"grade": True, "grade_id": gid, "locked": True, "points": 1,
                            "schema_version": 3, "solution": False, "task": False}
            assert f'check("{name}", {placeholder.group(1)})' in test.source
            assert "### BEGIN HIDDEN TESTS\nassert _verdict.passed" in test.source
            assert not test.get("outputs")


def test_nbgrader_accepts_the_metadata(course):
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator

    out, _ = course
    for path in sorted((out / "source").glob("*/*.ipynb")):
        MetadataValidator().validate_nb(nbformat.read(str(path), as_version=4))


def test_the_course_is_deterministic_and_the_command_keeps_an_edited_config(course, tmp_path,
                                                                           capsys):
    out, written = course
    again = tmp_path / "again"
    assert main(["tutorials", "nbgrader", "--out", str(again)]) == 0
    assert "wrote 9 nbgrader source notebook(s)" in capsys.readouterr().out
    for path in written:
        assert (again / path.relative_to(out)).read_bytes() == path.read_bytes(), path.name
    (again / "nbgrader_config.py").write_text("c = get_config()  # mine\n")
    assert main(["tutorials", "nbgrader", "--out", str(again), "--points", "2",
                 "--visible-tests", "--no-grading-mode"]) == 0
    assert "kept the existing nbgrader_config.py" in capsys.readouterr().out
    assert (again / "nbgrader_config.py").read_text() == "c = get_config()  # mine\n"
    nb = nbformat.read(str(next((again / "source").glob("07_*/*.ipynb"))), as_version=4)
    metas = [meta for _, meta in _nbgrader_cells(nb)]
    assert "sertutor_grading_mode" not in [m["grade_id"] for m in metas]
    assert {m["points"] for m in metas if m["grade"]} == {2}
    assert not any("HIDDEN" in c.source for c in nb.cells)


def test_a_check_without_a_solution_block_is_refused():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('x = None\ncheck("07.ccc_shift", x)')]
    with pytest.raises(ValueError, match="no <details> Solution"):
        nbgrader_notebook(nb, name="x.ipynb")
    with pytest.raises(ValueError, match="points"):
        nbgrader_notebook(nb, points=0)


# ------------------------------------------------------------------------------ end to end
def _solution_md(code: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(
        f"<details><summary>Solution</summary>\n\n```python\n{code}```\n\nWhy it is so.\n"
        "</details>")


def _small_tutorial() -> nbformat.NotebookNode:
    """Three exercises in the tutorials' format (placeholder line, check, <details>)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb.cells = [
        md("# 97 · A small graded notebook\n\n**Time.** About 5 minutes."),
        code("import numpy as np\n\nfrom sertutor.exercises import check"),
        md("### Exercise 1 · CCC of a shifted prediction"),
        code('answer_ccc = None  # your answer: a number\n\ncheck("07.ccc_shift", answer_ccc)'),
        _solution_md(solution("07.ccc_shift")),
        md("### Exercise 2 · CCC"),
        code('ccc = None  # your answer: def ccc(pred, target): ...\n\ncheck("06.ccc", ccc)'),
        _solution_md(solution("06.ccc")),
        md("### Exercise 3 · A gain"),
        code('gain = None  # your answer: def gain(summary, variant, reference="baseline", '
             'fraction=0.1): ...\n\ncheck("07.ablation_gain", gain)'),
        _solution_md(solution("07.ablation_gain")),
        md("## Summary\n\nThree checks."),
    ]
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"
    return nb


def _nbgrader(course_dir, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                          env=kernel_env(fast=True), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stderr


@pytest.mark.notebook
def test_nbgrader_generates_and_autogrades_a_converted_notebook(tmp_path):
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    tutorial = tmp_path / "97_small.ipynb"
    nbformat.write(_small_tutorial(), str(tutorial))
    course_dir = tmp_path / "course"
    write_nbgrader_course(course_dir, notebooks=[tutorial])
    name = "97_small"
    _nbgrader(course_dir, "generate_assignment", name)

    release = nbformat.read(str(course_dir / "release" / name / f"{name}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in release.cells)
    for leak in ("2 * 2.0 / (2.0 + 2.0", "def ccc(pred, target):\n", "uar_of(variant)",
                 "BEGIN SOLUTION", "assert _verdict", "<summary>Solution"):
        assert leak not in text, leak
    assert text.count(NBGRADER_CODE_STUB) == 3 and text.count("= None  # your answer") == 3
    assert len(CHECK.findall(text)) == 3

    def submit(student: str, nb) -> None:
        folder = course_dir / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{name}.ipynb"))

    answers = {  # wrong (the library's function: grading mode), right (with a warning)
        "06_ccc_answer": "import sertutor.evaluate\nccc = sertutor.evaluate.concordance_cc",
        "07_ablation_gain_answer": (
            "import warnings\n\ndef gain(summary, variant, reference='baseline', fraction=0.1):"
            "\n    warnings.warn('a warning on stderr must not cost the point')"
            "\n    uar = {(r['variant'], r['fraction']): r['uar_mean'] for r in summary}"
            "\n    return uar[(variant, fraction)] - uar[(reference, fraction)]"),
    }  # and 07.ccc_shift unanswered
    alice = nbformat.read(str(course_dir / "release" / name / f"{name}.ipynb"), as_version=4)
    for cell in alice.cells:
        extra = answers.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if extra:
            cell.source += "\n" + extra
    submit("alice", alice)
    submit("teacher", nbformat.read(str(course_dir / "source" / name / f"{name}.ipynb"),
                                    as_version=4))
    _nbgrader(course_dir, "autograde", name, "--create")

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        scores = {}
        for student in ("alice", "teacher"):
            sub = gb.find_submission_notebook(name, name, student)
            scores[student] = {g.name: g.score for g in sub.grades
                               if g.name != "sertutor_grading_mode"}
    assert scores["alice"] == {"07_ccc_shift": 0, "06_ccc": 0, "07_ablation_gain": 1}
    assert scores["teacher"] == {"07_ccc_shift": 1, "06_ccc": 1, "07_ablation_gain": 1}

    graded = nbformat.read(str(course_dir / "autograded" / "alice" / name / f"{name}.ipynb"),
                           as_version=4)
    errors = {c.metadata["nbgrader"]["grade_id"]: o.evalue for c in graded.cells
              if c.cell_type == "code" for o in c.outputs if o.output_type == "error"}
    assert set(errors) == {"06_ccc", "07_ccc_shift"}  # the hidden asserts were restored
    assert "the library's own version" in errors["06_ccc"]  # grading mode was on
    assert "Not answered yet" in errors["07_ccc_shift"]
    shutil.rmtree(course_dir)
