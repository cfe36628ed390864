"""Student copies of the notebooks (issue 16, part 1): no solutions, every check kept."""

from __future__ import annotations

import re

import nbformat
import pytest

from sertutor.cli import main
from sertutor.exercises import list_exercises, solution
from sertutor.teaching import student_notebook, write_student_copies
from sertutor.tutorials import execute_notebook, list_notebooks

CHECK = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.]+)["']""")


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _source(nb, keep=lambda cell: True) -> str:
    return "\n".join(cell.source for cell in nb.cells if keep(cell))


def _code(nb) -> str:
    return _source(nb, lambda cell: cell.cell_type == "code")


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return out, write_student_copies(out)


def test_no_solution_text_survives_in_a_student_copy(copies):
    out, written = copies
    teachers = list_notebooks()
    assert [p.name for p in written] == [p.name for p in teachers] + ["README.md"]
    checked = 0
    for teacher_path in teachers:
        teacher = nbformat.read(str(teacher_path), as_version=4)
        student = nbformat.read(str(out / teacher_path.name), as_version=4)
        student_text = _source(student)
        assert "<summary>Solution" not in student_text and "</details>" not in student_text
        # lines of the solution that the rest of the teacher's notebook does not contain
        others = _lines(_source(teacher, lambda c: "<summary>Solution" not in c.source))
        student_lines = _lines(student_text)
        for name, _ in list_exercises(teacher_path.name[:2] + "."):
            own = [ln for ln in _lines(solution(name)) if ln not in others and len(ln) >= 8]
            assert own, name  # every solution has lines of its own to look for
            assert all(ln in _source(teacher) for ln in own), name  # the teacher copy has them
            leaked = [ln for ln in own if ln in student_lines]
            assert not leaked, f"{teacher_path.name}: solution of {name} leaks: {leaked}"
            checked += 1
        # every check is kept, in order; outputs are cleared; the copy says what it is
        assert CHECK.findall(_code(student)) == CHECK.findall(_code(teacher))
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
        assert student.metadata["sertutor"]["copy"] == "student"
        nbformat.validate(student)
    assert checked == len(list_exercises())


def test_student_copies_are_deterministic(copies, tmp_path, capsys):
    out, written = copies
    assert main(["tutorials", "student", "--out", str(tmp_path / "again")]) == 0
    assert "9 student notebook(s)" in capsys.readouterr().out
    for path in written:
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_student_notebook_cuts_blocks_and_solution_calls():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Before.\n\n<details><summary>Solution</summary>\n\n"
                                      "```python\nanswer = 42\n```\n</details>\n\nAfter."),
        nbformat.v4.new_code_cell("answer = None\ncheck('01.n_frames', answer)\n"
                                  "solution('01.n_frames')"),
        nbformat.v4.new_code_cell("from sertutor.exercises import solution\n"
                                  "solution(\"01.n_frames\")"),
        nbformat.v4.new_markdown_cell("<details>\n<summary>Solution</summary>x</details>"),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="251")]
    out = student_notebook(nb)
    assert [c.source for c in out.cells] == [
        "Before.\n\nAfter.", "answer = None\ncheck('01.n_frames', answer)",
        "from sertutor.exercises import solution"]
    assert out.cells[1].outputs == [] and nb.cells[1].outputs  # the original is untouched
    assert "answer = 42" in nb.cells[0].source
    broken = nbformat.v4.new_notebook()
    broken.cells = [nbformat.v4.new_markdown_cell("<details><summary>Solution</summary> 42")]
    with pytest.raises(ValueError, match="without a closing </details>"):
        student_notebook(broken, name="x.ipynb")


def test_student_copies_refuse_the_tutorials_folder(tmp_path):
    with pytest.raises(ValueError, match="own folder"):
        write_student_copies(list_notebooks()[0].parent)
    with pytest.raises(FileNotFoundError, match="notebook not found"):
        write_student_copies(tmp_path, notebooks=[tmp_path / "missing.ipynb"])


@pytest.mark.notebook
def test_a_student_copy_runs_unanswered(copies):
    out, _ = copies
    path = out / "00_welcome_and_data.ipynb"
    nb = execute_notebook(path, fast=True, timeout=300)
    texts = [o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
    pending = [t for t in texts if "Not answered yet" in t]
    assert len(pending) == len(list_exercises("00."))
    assert not [t for t in texts if "Correct" in t or "Not quite" in t]
