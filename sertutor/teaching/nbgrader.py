"""An nbgrader course made from the tutorial notebooks.

:func:`nbgrader_notebook` / :func:`write_nbgrader_course` (``sertutor tutorials nbgrader
--out COURSE_DIR``): an nbgrader course (``COURSE_DIR/source/<assignment>/<notebook>.ipynb``
and ``nbgrader_config.py``): each exercise cell becomes an nbgrader solution cell (the
``<details>`` solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) and an
autograded test cell around its ``check`` call; the solution blocks are cut out.

This module does not import the nbgrader package (it writes the notebooks' metadata itself);
with absolute imports, ``import nbgrader`` anywhere still finds the third-party package.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Iterable

from ..storage import atomic_write_text
from ..tutorials import paste_solution, solution_cells
from .student import _ANY_CHECK, _source_notebooks, _src, student_notebook

# nbformat is imported inside the functions that read notebooks: `sertutor tutorials ...`
# starts without it.

#: nbgrader's cell-metadata schema version these notebooks are written in (nbgrader 0.9).
NBGRADER_SCHEMA = 3
_BEGIN_SOLUTION, _END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
_BEGIN_HIDDEN, _END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_GRADING_CELL = """\
# Graded with nbgrader: the checks below run in grading mode (an answer must be your own
# implementation, and a wrong answer's message does not show the expected value).
import os

os.environ["SERTUTOR_GRADING"] = "1"\
"""
#: ``c.ClearSolutions.code_stub``: what replaces a solution in the students' release. A
#: comment, not nbgrader's ``raise NotImplementedError()``: the ``answer = None`` placeholder
#: line above it stays, so Run All still runs past an unanswered exercise, as in the tutorials.
NBGRADER_CODE_STUB = "# YOUR ANSWER HERE: replace the None above (or define your function)"
_NBGRADER_CONFIG = """\
# nbgrader configuration of a course written by `sertutor tutorials nbgrader`.
# https://nbgrader.readthedocs.io/en/stable/configuration/config_options.html
c = get_config()  # noqa: F821 - nbgrader provides get_config

c.CourseDirectory.course_id = {course_id!r}
# the exercise cells keep their `answer = None` placeholder above the solution region, so the
# release's stub is a comment (nbgrader's default stub raises NotImplementedError)
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# the tutorials train small models: a cell may take minutes on a 2-core CPU (nbgrader's
# default is 30 s); `sertutor tutorials grade` has its own limits
c.Execute.timeout = 600
"""


def _nb_meta(grade_id: str, *, solution: bool, grade: bool, locked: bool,
             points: float | None = None) -> dict[str, Any]:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": NBGRADER_SCHEMA, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def nbgrader_notebook(nb, *, name: str = "notebook", points: float = 1,
                      hidden_asserts: bool = True, grading_mode: bool = True):
    """An nbgrader *source* notebook made from the tutorial notebook ``nb``.

    The exercises are found as ``python -m pytest tests/test_notebooks.py`` finds them
    (:func:`sertutor.tutorials.solution_cells`: the cell calling ``check("NN.name",
    variable)`` above each ``<details>`` solution). Each exercise cell becomes two cells:

    1. an nbgrader **solution cell** (``solution: true``, grade id ``NN_name_answer``): the
       cell's own lines, its ``variable = None  # your answer ...`` placeholder kept, followed
       by the solution code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
       ``generate_assignment`` replaces that region with :data:`NBGRADER_CODE_STUB`);
    2. an **autograded test cell** (``grade: true``, ``locked: true``, ``points``, grade id
       ``NN_name``) that runs ``check("NN.name", variable)`` (warnings silenced: nbgrader
       gives no points to a test cell that writes to stderr), displays the verdict and
       asserts that it passed. With ``hidden_asserts`` the assert is an nbgrader hidden test: the
       students' release shows the verdict without failing (Run All goes on past an
       unanswered exercise, as in the tutorials) and ``nbgrader autograde`` restores it.

    Then, as for a student copy (:func:`student_notebook`), the ``<details>`` solution blocks
    are cut out and outputs cleared. With ``grading_mode`` a locked cell before the first
    code cell sets ``SERTUTOR_GRADING=1`` (see :mod:`sertutor.exercises._grading`).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A tutorial notebook (format 4); it is not modified.
    name : str
        The notebook's name, for error messages.
    points : float
        Points of each exercise.
    hidden_asserts : bool
        Hide the assert of each test cell from the release (see above).
    grading_mode : bool
        Add the cell that turns grading mode on.

    Returns
    -------
    nbformat.NotebookNode
        ``metadata.sertutor.copy`` is ``"nbgrader"``. The same notebook gives the same bytes.

    Raises
    ------
    ValueError
        If a cell calls ``check`` without a solution block under it (it could not become a
        solution cell), or an exercise cell has no ``variable = None`` placeholder line.
    """
    import nbformat

    if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
        raise ValueError(f"points must be a positive number, got {points!r}")
    exercises = {sol.index: sol for sol in solution_cells(nb)}
    for index, cell in enumerate(nb.cells):
        if (cell.cell_type == "code" and index not in exercises
                and _ANY_CHECK.search(_src(cell))):
            raise ValueError(f"{name}: cell {index} calls check but no <details> Solution "
                             "block follows it, so it cannot become an nbgrader exercise")
    out = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(out.cells):
        sol = exercises.get(index)
        if sol is None:
            cells.append(cell)
            continue
        grade_id = sol.name.replace(".", "_")
        lines = sol.source.splitlines()
        body = "\n".join(ln for ln in lines if not _ANY_CHECK.search(ln)).rstrip()
        placeholder = next((ln for ln in lines
                            if re.match(rf"{re.escape(sol.variable)}\s*=\s*None\b", ln)), None)
        if placeholder is None:
            raise ValueError(f"{name}: exercise {sol.name} (cell {index}) has no placeholder "
                             f"line '{sol.variable} = None'")
        region = "\n".join([placeholder, _BEGIN_SOLUTION, sol.solution.rstrip("\n"),
                            _END_SOLUTION])
        cell.source = paste_solution(body, sol.variable, region)
        cell.metadata.update(_nb_meta(f"{grade_id}_answer", solution=True, grade=False,
                                      locked=False))
        assert_lines = ["assert _verdict.passed, str(_verdict)"]
        if hidden_asserts:
            assert_lines = [_BEGIN_HIDDEN, *assert_lines, _END_HIDDEN]
        test = nbformat.v4.new_code_cell("\n".join([
            "import warnings",
            "",
            "with warnings.catch_warnings():  # nbgrader gives 0 points to a test cell that "
            "writes to stderr",
            "    warnings.simplefilter(\"ignore\")",
            f"    _verdict = check(\"{sol.name}\", {sol.variable})  # autograded: "
            f"{points:g} point{'s' if points != 1 else ''}",
            "display(_verdict)", *assert_lines]))
        test.metadata = nbformat.NotebookNode(_nb_meta(grade_id, solution=False, grade=True,
                                                       locked=True, points=points))
        _set_id(test, cell, "test")
        cells += [cell, test]
    if grading_mode:
        setup = nbformat.v4.new_code_cell(_GRADING_CELL)
        setup.metadata = nbformat.NotebookNode(_nb_meta("sertutor_grading_mode", solution=False,
                                                        grade=False, locked=True))
        first_code = next((k for k, c in enumerate(cells) if c.cell_type == "code"),
                          len(cells))
        _set_id(setup, cells[first_code] if first_code < len(cells) else None, "grading")
        cells.insert(first_code, setup)
    out.cells = cells
    out = student_notebook(out, name=name)  # the solution blocks go, as in a student copy
    out.metadata["sertutor"]["copy"] = "nbgrader"
    return out


def _set_id(cell, neighbour, suffix: str) -> None:
    """A deterministic id for a new cell (nbformat 4.5 ids), or none if the notebook has none."""
    base = neighbour.get("id") if neighbour is not None else None
    if base:
        cell["id"] = f"{base}-{suffix}"[:64]
    else:
        cell.pop("id", None)


def write_nbgrader_course(out_dir: str | os.PathLike, *,
                          notebooks: Iterable[str | os.PathLike] | None = None,
                          points: float = 1, hidden_asserts: bool = True,
                          grading_mode: bool = True, course_id: str = "sertutor") -> list[Path]:
    """Write an nbgrader course folder made from the tutorial notebooks.

    ``out_dir/source/<assignment>/<notebook>.ipynb`` (one assignment per notebook, named
    after it, e.g. ``05_semi_supervised``; see :func:`nbgrader_notebook`) and a minimal
    ``out_dir/nbgrader_config.py`` (kept if it exists: the teacher may have edited it). Then,
    in ``out_dir``: ``nbgrader generate_assignment 05_semi_supervised``, release, collect,
    ``nbgrader autograde 05_semi_supervised`` (see ``tutorials/TEACHING.md``).

    Parameters
    ----------
    out_dir : path-like
        The course folder (created); not the tutorials folder.
    notebooks : iterable of path-like, optional
        The notebooks (default: every numbered notebook of :func:`tutorials_dir`).
    points, hidden_asserts, grading_mode
        See :func:`nbgrader_notebook`.
    course_id : str
        ``c.CourseDirectory.course_id`` of the config.

    Returns
    -------
    list of pathlib.Path
        The files written, in order (the config last, if it was written). The same notebooks
        give the same bytes.
    """
    import nbformat

    out = Path(out_dir)
    paths = _source_notebooks(notebooks, out, what="convert")
    converted = []
    for path in paths:  # convert all first: a notebook that fails writes nothing
        nb = nbformat.read(str(path), as_version=4)
        text = nbformat.writes(nbgrader_notebook(nb, name=path.name, points=points,
                                                 hidden_asserts=hidden_asserts,
                                                 grading_mode=grading_mode))
        converted.append((path, text if text.endswith("\n") else text + "\n"))
    written = []
    for path, text in converted:
        folder = out / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write_text(folder / path.name, text))
    config = out / "nbgrader_config.py"
    if not config.exists():
        written.append(atomic_write_text(config, _NBGRADER_CONFIG.format(
            course_id=course_id, stub=NBGRADER_CODE_STUB)))
    return written
