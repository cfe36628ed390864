"""Every exercise's ``<details>`` solution, pasted into its exercise cell, runs in the
notebook's own state after Run All (``execute_notebook(..., solutions=True)``, used by
``tests/test_notebooks.py``). These tests check the machinery quickly: which cells are
exercises, how a solution is pasted, and that a solution failing in the notebook's state is
caught (a name the notebook never defines, a file a later cell deletes, a wrong answer)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sertutor.exercises import solution
from sertutor.tutorials import (NotebookError, append_solution_checks, paste_solution,
                                solution_cells)

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_cell_has_its_solution_and_it_pastes(path):
    nb = _nb(path)
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    checked = re.findall(r"\bcheck\(\s*[\"'](\d\d\.[\w.]+)[\"']", code)
    sols = solution_cells(nb)
    assert [s.name for s in sols] == checked, \
        f"{path.name}: every exercise cell needs exactly one <details> solution right after it"
    for sol in sols:
        # the notebook shows what solution() returns
        assert sol.solution.strip() == solution(sol.name).strip(), \
            f"{path.name}: the <details> solution of {sol.name} differs from solution()"
        pasted = paste_solution(sol.source, sol.variable, sol.solution)
        compile(pasted, sol.name, "exec")
        assert not re.search(rf"^{sol.variable}\s*=\s*None\b", pasted, re.M)
        assert f'check("{sol.name}", {sol.variable})' in pasted


def test_paste_solution_replaces_only_the_placeholder():
    cell = 'print("before")\nanswer = None  # your answer: an int\n\ncheck("99.x", answer)'
    out = paste_solution(cell, "answer", "import math\nanswer = math.floor(2.5)\n")
    assert out == ('print("before")\nimport math\nanswer = math.floor(2.5)\n\n'
                   'check("99.x", answer)')
    with pytest.raises(ValueError, match="placeholder"):
        paste_solution("check('99.x', y)", "y", "y = 1")


def test_solution_cells_rejects_an_orphan_solution():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {},
                     "source": "<details><summary>Solution</summary>\n\n```python\nx = 1\n```"
                               "\n</details>"}]}
    with pytest.raises(ValueError, match="no exercise cell"):
        solution_cells(nb)


def _toy_notebook(tmp_path: Path, solution_code: str, last_cell: str = "") -> Path:
    """A notebook with one real exercise (00.semitones) whose solution uses the notebook's
    own variable ``neutral_hz``; ``last_cell`` runs after the exercise, as a cleanup might."""
    nbformat = pytest.importorskip("nbformat")
    v4 = nbformat.v4
    cells = [v4.new_code_cell("from sertutor.exercises import check\nneutral_hz = 200.0"),
             v4.new_code_cell('answer_hz = None  # your answer\n\ncheck("00.semitones", '
                              'answer_hz)'),
             v4.new_markdown_cell(f"<details><summary>Solution</summary>\n\n```python\n"
                                  f"{solution_code}\n```\n</details>")]
    if last_cell:
        cells.append(v4.new_code_cell(last_cell))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_append_solution_checks_adds_a_paste_and_a_verdict_per_exercise():
    nb = pytest.importorskip("nbformat").read(str(NOTEBOOKS[0]), as_version=4)
    out = append_solution_checks(nb)
    n = len(solution_cells(nb))
    assert n >= 2 and len(out.cells) == len(nb.cells) + 2 * n
    added = out.cells[len(nb.cells):]
    assert all(c.cell_type == "code" and c.metadata["sertutor_solution"] for c in added)
    assert "assert _sertutor_result.passed" in added[1].source
    assert len(nb.cells) == len(_nb(NOTEBOOKS[0])["cells"])  # the input is not modified


@pytest.mark.notebook
def test_solutions_run_in_the_notebooks_state(tmp_path):
    """One kernel per case: a right solution passes; one that needs what a later cell removed,
    or that its checker rejects, fails on the appended cells."""
    pytest.importorskip("nbclient")
    from sertutor.tutorials import execute_notebook

    good = "answer_hz = neutral_hz * 2 ** (4.5 / 12)"
    execute_notebook(_toy_notebook(tmp_path, good), fast=True, timeout=120, solutions=True)
    # without solutions=True nothing is appended: a deleted variable goes unnoticed
    execute_notebook(_toy_notebook(tmp_path, good, "del neutral_hz"), fast=True, timeout=120)
    with pytest.raises(NotebookError, match="NameError") as info:
        execute_notebook(_toy_notebook(tmp_path, good, "del neutral_hz"), fast=True,
                         timeout=120, solutions=True)
    assert "00.semitones" in info.value.source
    with pytest.raises(NotebookError, match="solution of 00.semitones fails after Run All"):
        execute_notebook(_toy_notebook(tmp_path, "answer_hz = 300.0"), fast=True,
                         timeout=120, solutions=True)
