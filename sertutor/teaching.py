"""The teacher kit: student copies of the notebooks, a grading command, lab preparation.

- :func:`student_notebook` / :func:`write_student_copies` (``sertutor tutorials student
  --out DIR``): the notebooks without their ``<details><summary>Solution</summary>`` blocks
  (or any ``solution("NN.name")`` call), outputs cleared, every ``check`` kept. The output is
  byte-for-byte the same for the same notebooks. :func:`export_with_student_copies`
  (``sertutor tutorials export``) adds executed student copies to the static HTML.
- :func:`grade` (``sertutor tutorials grade SUBMISSIONS --out grades.csv``): executes every
  submitted notebook in its own kernel, in a child process with a memory limit
  (``RLIMIT_AS``) and a wall-clock limit, on a copy (a submission is never modified); every
  ``check`` the notebook runs appends its verdict to a log (``SERTUTOR_GRADING_LOG``), which
  becomes one CSV row per student, notebook and exercise, plus an HTML summary.
- :func:`nbgrader_notebook` / :func:`write_nbgrader_course` (``sertutor tutorials nbgrader
  --out COURSE_DIR``): an nbgrader course (``COURSE_DIR/source/<assignment>/<notebook>.ipynb``
  and ``nbgrader_config.py``): each exercise cell becomes an nbgrader solution cell (the
  ``<details>`` solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``) and an
  autograded test cell around its ``check`` call; the solution blocks are cut out.
- :func:`prepare` (``sertutor tutorials prepare``): corpora, feature caches, the pretrained
  model and numba's UMAP cache, then ``sertutor doctor``.
- :func:`class_experiment` (part of :func:`grade`): the pairs of runs the students of a class
  recorded in notebook 05 (:func:`sertutor.exercises.record_result`), pooled into the paired
  gain of ``full`` over ``baseline`` with its standard error and wins.

Submissions are laid out one folder per student (``SUBMISSIONS/<student>/03_autoencoder.ipynb``,
as nbgrader collects them); a notebook directly in ``SUBMISSIONS`` is graded with its file name
(without ``.ipynb``) as the student. Other files are listed as not graded.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import csv
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import doctor, pretrained
from .data import prepare_corpora
from .storage import atomic_write_text
from . import tutorials
from .tutorials import kernel_env, list_notebooks

__all__ = ["student_notebook", "write_student_copies", "export_with_student_copies",
           "EXPORT_STUDENT_COPIES", "nbgrader_notebook",
           "write_nbgrader_course", "grade", "GradeRow", "GradeReport", "summary_html",
           "prepare", "STATUSES", "class_experiment", "recorded_pairs", "collect_pairs",
           "write_class_experiment"]

#: The status of an exercise in a graded notebook.
STATUSES = ("passed", "failed", "not answered")

_DETAILS_SOLUTION = re.compile(
    r"<details>\s*<summary>\s*(?:<b>|<strong>)?\s*Solution\b.*?</details>[ \t]*\n?", re.S | re.I)
_SOLUTION_MARK = re.compile(r"<summary>\s*(?:<b>|<strong>)?\s*Solution\b", re.I)
_SOLUTION_CALL = re.compile(r"""\bsolution\(\s*["']\d\d\.[\w.]+["']\s*\)""")
_ANY_CHECK = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.]+)["']""")


# ------------------------------------------------------------------------- student copies
def student_notebook(nb, *, name: str = "notebook"):
    """A student copy of the notebook ``nb``: no solutions, no outputs, every check kept.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook (format 4); it is not modified.
    name : str
        The notebook's name, for error messages.

    Returns
    -------
    nbformat.NotebookNode
        The copy: each ``<details><summary>Solution</summary> ... </details>`` block is cut
        out of its markdown cell (a cell left empty is dropped), each line calling
        ``solution("NN.name")`` is removed from code cells, outputs and execution counts are
        cleared, and ``metadata.sertutor.copy`` is ``"student"``.

    Raises
    ------
    ValueError
        If a solution block is not closed by ``</details>`` (it would otherwise survive), or
        the copy lost a ``check`` call.
    """
    out = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(out.cells):
        source = "".join(cell.source) if isinstance(cell.source, list) else cell.source
        if cell.cell_type == "markdown":
            stripped = _DETAILS_SOLUTION.sub("", source)
            if _SOLUTION_MARK.search(stripped):
                raise ValueError(f"{name}: cell {index} has a Solution block without a closing "
                                 "</details>")
            if stripped != source:
                if not stripped.strip():
                    continue
                source = re.sub(r"\n{3,}", "\n\n", stripped).strip("\n")
        elif cell.cell_type == "code":
            lines = source.splitlines()
            kept = [ln for ln in lines if not _SOLUTION_CALL.search(ln)]
            if len(kept) != len(lines):
                source = "\n".join(kept)
                if not source.strip():
                    continue
            cell.outputs = []
            cell.execution_count = None
            for key in ("execution", "sertutor_solution"):
                cell.metadata.pop(key, None)
        cell.source = source
        cells.append(cell)
    out.cells = cells
    before = _ANY_CHECK.findall("\n".join(_src(c) for c in nb.cells if c.cell_type == "code"))
    after = _ANY_CHECK.findall("\n".join(_src(c) for c in out.cells if c.cell_type == "code"))
    if before != after:
        raise ValueError(f"{name}: the student copy lost check calls "
                         f"{sorted(set(before) - set(after))}")
    out.metadata.pop("widgets", None)
    out.metadata.setdefault("sertutor", {})["copy"] = "student"
    return out


def _src(cell) -> str:
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


def _source_notebooks(notebooks: Iterable[str | os.PathLike] | None, out: Path, *,
                      what: str) -> list[Path]:
    """The tutorials to ``what`` (copy, convert): ``notebooks`` or all of them, each checked to
    exist and not to sit in ``out`` (writing there would overwrite the teacher's notebooks)."""
    paths = [Path(p) for p in notebooks] if notebooks is not None else list_notebooks()
    if not paths:
        raise FileNotFoundError(f"no notebooks to {what}")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
        if out.exists() and path.parent.resolve() == out.resolve():
            raise ValueError(f"--out {out} is the notebooks' own folder: choose another folder")
    return paths


def write_student_copies(out_dir: str | os.PathLike, *,
                         notebooks: Iterable[str | os.PathLike] | None = None,
                         readme: bool = True) -> list[Path]:
    """Write student copies (:func:`student_notebook`) of the tutorial notebooks.

    Parameters
    ----------
    out_dir : path-like
        Folder to write to (created); it must not be the tutorials folder itself.
    notebooks : iterable of path-like, optional
        The notebooks (default: every numbered notebook of :func:`tutorials_dir`).
    readme : bool
        Also copy ``README.md`` of the notebooks' folder (the notebooks link to it).

    Returns
    -------
    list of pathlib.Path
        The files written, in order. The same notebooks give the same bytes.
    """
    import nbformat

    out = Path(out_dir)
    paths = _source_notebooks(notebooks, out, what="copy")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        student = student_notebook(nb, name=path.name)
        text = nbformat.writes(student)
        written.append(atomic_write_text(out / path.name, text if text.endswith("\n")
                                         else text + "\n"))
    source_readme = paths[0].parent / "README.md"
    if readme and source_readme.is_file():
        written.append(atomic_write_text(out / "README.md",
                                         source_readme.read_text(encoding="utf-8")))
    return written


#: The notebooks whose student copy the static export includes by default: the lab notebook.
EXPORT_STUDENT_COPIES = ("05",)


def export_with_student_copies(out_dir: str | os.PathLike, *,
                               notebooks: Iterable[str | os.PathLike] | None = None,
                               student: Iterable[str] = EXPORT_STUDENT_COPIES,
                               fast: bool = False, timeout: int = 600, log=print) -> list:
    """Static HTML of the teacher copies and, under ``out_dir/student/``, of student copies.

    The teacher pages are :func:`sertutor.tutorials.export`'s (solutions included). For each
    notebook whose two-digit number is in ``student`` (and among ``notebooks``), the student
    copy (:func:`student_notebook`) is executed as a student receives it, exercises
    unanswered (their checks print "Not answered yet"), and written to
    ``out_dir/student/NN_name.html``. One ``index.html`` lists both, each labelled.

    Returns
    -------
    list of sertutor.tutorials.ExportResult
        The teacher pages, then the student pages (``extra["copy"] == "student"``).
    """
    out = Path(out_dir)
    paths = _source_notebooks(notebooks, out, what="export")
    wanted = {str(n).zfill(2) for n in student}
    results = tutorials.export(out, fast=fast, notebooks=paths, timeout=timeout, log=log,
                               index=False)
    chosen = [p for p in paths if p.name[:2] in wanted]
    if chosen:
        with tempfile.TemporaryDirectory(prefix="sertutor-student-") as tmp:
            copies = [c for c in write_student_copies(tmp, notebooks=chosen)
                      if c.suffix == ".ipynb"]
            copied = tutorials.export(out / "student", fast=fast, notebooks=copies,
                                      timeout=timeout, log=log, index=False)
        for result in copied:
            result.extra["copy"] = "student"
        results += copied
    tutorials.write_index(out, results)
    return results


# ------------------------------------------------------------------------ nbgrader course
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

    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from .tutorials import paste_solution, solution_cells

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


# -------------------------------------------------------------------------------- grading
@dataclass(frozen=True)
class GradeRow:
    """One line of the grades CSV."""

    student: str
    notebook: str
    exercise: str
    status: str
    message: str = ""


@dataclass
class GradeReport:
    """What :func:`grade` found: the rows, the files it did not grade, and the outputs."""

    rows: list[GradeRow]
    not_graded: list[str] = field(default_factory=list)
    csv: Path | None = None
    html: Path | None = None
    seconds: float = 0.0
    #: The class experiment (:func:`class_experiment`): ``{"pairs": [...], "summary": [...]}``,
    #: empty lists when no submission recorded a pair.
    class_experiment: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"pairs": [], "summary": []})
    class_csv: Path | None = None
    class_pairs_csv: Path | None = None

    def totals(self) -> dict[str, tuple[int, int]]:
        """``{student: (passed, exercises)}``."""
        out: dict[str, list[int]] = {}
        for row in self.rows:
            if row.exercise:
                t = out.setdefault(row.student, [0, 0])
                t[0] += row.status == "passed"
                t[1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def _submissions(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """``(student, notebook)`` pairs, and the files that are not notebooks."""
    found, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.startswith("__"):
            continue
        if entry.is_dir():
            for f in sorted(entry.rglob("*")):
                rel = f.relative_to(folder)
                if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                    continue
                if f.suffix == ".ipynb":
                    found.append((entry.name, f))
                else:
                    skipped.append(str(rel))
        elif entry.suffix == ".ipynb":
            found.append((entry.stem, entry))
        elif entry.is_file():
            skipped.append(entry.name)
    return found, skipped


def _expected_exercises(nb, filename: str) -> list[str]:
    """The exercises a submitted notebook should answer: those of its tutorial (by its
    ``NN_`` prefix) and any other that its cells check."""
    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from .exercises import list_exercises

    names = []
    if re.match(r"^\d\d_", filename):
        names += [n for n, _ in list_exercises(filename[:2] + ".")]
    for cell in nb.cells:
        if cell.cell_type == "code":
            names += _ANY_CHECK.findall(_src(cell))
    registered = {n for n, _ in list_exercises()}
    return [n for n in dict.fromkeys(names) if n in registered]


def _read_log(path: Path) -> dict[str, dict[str, str]]:
    """The last logged verdict of each exercise."""
    out: dict[str, dict[str, str]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("exercise"):
                out[str(entry["exercise"])] = entry
    return out


def _cell_problem(nb, exercise: str, cell_timeout: float, memory_mb: int) -> str | None:
    """Why the cell checking ``exercise`` did not log a verdict, if it shows an error."""
    for cell in nb.cells:
        if cell.cell_type != "code" or exercise not in _ANY_CHECK.findall(_src(cell)):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if out.get("ename") == "KeyboardInterrupt":
                    return f"its cell did not finish within {cell_timeout:g} s"
                if out.get("ename") == "MemoryError":
                    return f"its cell ran out of memory (the limit is {memory_mb} MB)"
                return f"its cell raised {out.get('ename')}: {out.get('evalue', '')}"[:500]
        if cell.get("execution_count") is None:
            return "its cell did not run (an earlier cell stopped the notebook)"
    return None


def _worker(nb_path: str, pid_path: str, cell_timeout: float, status_path: str) -> None:
    """In the child process: execute ``nb_path`` in a fresh kernel, errors allowed, and write
    it back; the kernel's pid goes to ``pid_path`` so the parent can kill it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    client = NotebookClient(nb, timeout=int(max(1, cell_timeout)), kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(Path(nb_path).parent)}})

    def started(**_):
        with contextlib.suppress(Exception):
            Path(pid_path).write_text(str(client.km.provisioner.process.pid))

    client.on_notebook_start = started
    status = "ok"
    try:
        client.execute(cwd=str(Path(nb_path).parent))
    except Exception as exc:  # noqa: BLE001 - a dead kernel: say so, keep what ran
        status = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    nbformat.write(nb, nb_path)
    Path(status_path).write_text(status)


def _kill(proc: subprocess.Popen, pid_file: Path) -> None:
    """Kill a running worker: first the kernel's process group (the kernel has its own session;
    its pid cannot have been reused while its parent, the worker, still runs), then the
    worker's own group."""
    pids = []
    if proc.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(pid_file.read_text().strip()))
    pids.append(proc.pid)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def _limits(memory_mb: int) -> Callable[[], None]:
    def apply() -> None:  # in the child, before exec
        os.setsid()
        import resource

        limit = int(memory_mb) * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def grade_notebook(path: str | os.PathLike, *, student: str, timeout: float = 600,
                   cell_timeout: float = 120, memory_mb: int = 8192, fast: bool = False,
                   workdir: str | os.PathLike | None = None) -> list[GradeRow]:
    """Grade one submitted notebook; see :func:`grade`. The file is only read."""
    import nbformat

    path = Path(path)
    name = path.name
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's problem
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [GradeRow(student, name, "", "failed",
                         f"not a valid notebook ({type(exc).__name__}: {first[:300]})")]
    expected = _expected_exercises(nb, name)
    checked = {n for cell in nb.cells if cell.cell_type == "code"
               for n in _ANY_CHECK.findall(_src(cell))}  # exercises the submission checks
    with tempfile.TemporaryDirectory(prefix="sertutor-grade-", dir=workdir) as tmp:
        work = Path(tmp) / name
        nbformat.write(nb, str(work))  # a copy: the submission is never touched
        log, pid_file, status_file = (Path(tmp) / n for n in ("checks.jsonl", "kernel.pid",
                                                                "status.txt"))
        env = kernel_env(fast=fast, extra={"SERTUTOR_GRADING_LOG": str(log),
                                           "SERTUTOR_GRADING": "1", "SERTUTOR_PROGRESS": "0"})
        code = ("import sys; from sertutor.teaching import _worker; "
                "_worker(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])")
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", code, str(work), str(pid_file),
                                 str(cell_timeout), str(status_file)],
                                env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, preexec_fn=_limits(memory_mb))
        stopped = ""
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc, pid_file)
            stopped = f"the notebook was stopped after {timeout:g} s (its time limit)"
            err = b""
        seconds = time.monotonic() - t0
        status = status_file.read_text() if status_file.is_file() else ""
        if not stopped and status != "ok":
            tail = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
            stopped = ("the notebook's kernel died (memory limit of "
                       f"{memory_mb} MB?): {status or tail[0]}")[:500]
        logged = _read_log(log)
        executed = None
        if status_file.is_file():
            with contextlib.suppress(Exception):
                executed = nbformat.read(str(work), as_version=4)
    rows = []
    for exercise in expected:
        entry = logged.get(exercise)
        if entry is not None:
            status_ = entry.get("status", "failed")
            rows.append(GradeRow(student, name, exercise,
                                 status_ if status_ in STATUSES else "failed",
                                 str(entry.get("message", ""))))
            continue
        problem = (_cell_problem(executed, exercise, cell_timeout, memory_mb) if executed
                   else None)
        if problem is None and stopped and exercise in checked:
            problem = stopped
        if problem:
            rows.append(GradeRow(student, name, exercise, "failed", problem))
        else:
            rows.append(GradeRow(student, name, exercise, "not answered",
                                 "no check of this exercise ran"))
    if not expected:
        rows.append(GradeRow(student, name, "", "failed" if stopped else "not answered",
                             stopped or f"no exercise found (ran in {seconds:.0f} s)"))
    return rows


def grade(submissions: str | os.PathLike, *, out: str | os.PathLike,
          html_out: str | os.PathLike | None = None, timeout: float = 600,
          cell_timeout: float = 120, memory_mb: int = 8192, fast: bool = False,
          progress: bool = True) -> GradeReport:
    """Grade a folder of submitted notebooks; write a CSV and an HTML summary.

    Parameters
    ----------
    submissions : path-like
        ``SUBMISSIONS/<student>/<notebook>.ipynb`` (a notebook directly in the folder is
        graded with its file name as the student). Nothing in it is modified.
    out : path-like
        The CSV to write: ``student, notebook, exercise, status, message``, one row per
        exercise (``status`` is ``passed``, ``failed`` or ``not answered``); a notebook that
        could not be read has one row with an empty ``exercise``.
    html_out : path-like, optional
        The HTML summary (default: ``out`` with the suffix ``.html``).
    timeout : float
        Seconds one notebook may run in all; past it its kernel is killed, its remaining
        exercises fail, and grading goes on with the next notebook.
    cell_timeout : float
        Seconds one cell may run; past it the cell is interrupted and the next cells run.
    memory_mb : int
        Address-space limit (``RLIMIT_AS``) of each notebook's processes, in MiB. Importing
        torch alone reserves about 3.5 GB of address space, so keep this at 6000 or more.
    fast : bool
        Run with ``SERTUTOR_FAST=1``.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    GradeReport
        With the class experiment: when submitted notebooks carry recorded pairs of runs
        (notebook 05, :func:`sertutor.exercises.record_result`), they are pooled
        (:func:`class_experiment`) into ``class_experiment.csv`` and ``class_pairs.csv``
        next to ``out`` and a section of the HTML summary. The pairs are read from the
        notebooks as submitted (the students' own runs), not from the re-execution.
    """
    folder = Path(submissions)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {folder}")
    for value, what in ((timeout, "timeout"), (cell_timeout, "cell_timeout"),
                        (memory_mb, "memory_mb")):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{what} must be a positive number, got {value!r}")
    out = Path(out)
    html_path = Path(html_out) if html_out is not None else out.with_suffix(".html")
    for target in (out, html_path):
        if target.resolve().is_relative_to(folder.resolve()):
            raise ValueError(f"--out {target} is inside the submissions folder: write the "
                             "grades elsewhere")
    found, skipped = _submissions(folder)
    from tqdm.auto import tqdm

    t0 = time.monotonic()
    rows: list[GradeRow] = []
    bar = tqdm(found, desc="grading", unit="notebook", disable=not progress)
    for student, path in bar:
        bar.set_postfix_str(f"{student}/{path.name}", refresh=False)
        rows += grade_notebook(path, student=student, timeout=timeout,
                               cell_timeout=cell_timeout, memory_mb=memory_mb, fast=fast)
    report = GradeReport(rows, skipped, seconds=time.monotonic() - t0)
    report.class_experiment = class_experiment(_pairs_of(found))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "notebook", "exercise", "status", "message"])
    for row in rows:
        writer.writerow([row.student, row.notebook, row.exercise, row.status, row.message])
    out.parent.mkdir(parents=True, exist_ok=True)
    report.csv = atomic_write_text(out, buffer.getvalue())
    if report.class_experiment["pairs"]:
        report.class_csv, report.class_pairs_csv = write_class_experiment(
            report.class_experiment, out.with_name(CLASS_CSV))
    html_path.parent.mkdir(parents=True, exist_ok=True)
    report.html = atomic_write_text(html_path, summary_html(report))
    return report


def summary_html(report: GradeReport, *, top: int = 3) -> str:
    """The HTML summary of a :class:`GradeReport`: per exercise the share passing and the
    ``top`` most common failure messages, per student a total, and the files not graded."""
    esc = html.escape
    per_ex: dict[str, list[GradeRow]] = collections.defaultdict(list)
    problems = []
    for row in report.rows:
        if row.exercise:
            per_ex[row.exercise].append(row)
        else:
            problems.append(row)
    ex_rows = []
    for name in sorted(per_ex):
        rs = per_ex[name]
        n_pass = sum(r.status == "passed" for r in rs)
        n_na = sum(r.status == "not answered" for r in rs)
        common = collections.Counter(_first_line(r.message) for r in rs if r.status == "failed")
        fails = "".join(f"<li>{count} × {esc(msg)}</li>" for msg, count in common.most_common(top))
        ex_rows.append(f"<tr><td>{esc(name)}</td><td>{len(rs)}</td>"
                       f"<td>{n_pass / len(rs):.0%}</td><td>{n_na}</td>"
                       f"<td><ul>{fails}</ul></td></tr>")
    st_rows = "".join(f"<tr><td>{esc(s)}</td><td>{p}</td><td>{n}</td><td>{p / n:.0%}</td></tr>"
                      for s, (p, n) in report.totals().items())
    prob = "".join(f"<li>{esc(r.student)} / {esc(r.notebook)}: {esc(r.message)}</li>"
                   for r in problems)
    skipped = "".join(f"<li>{esc(f)}</li>" for f in report.not_graded)
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
             "vertical-align:top}ul{margin:0;padding-left:1.2em}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sertutor grades</title>"
            f"<style>{style}</style></head><body><h1>sertutor grades</h1>"
            f"<p>{len({(r.student, r.notebook) for r in report.rows})} notebook(s) of "
            f"{len(report.totals())} student(s), graded in {report.seconds:.0f} s.</p>"
            f"<h2>Per exercise</h2><table><tr><th>exercise</th><th>notebooks</th>"
            f"<th>passing</th><th>not answered</th><th>most common failures</th></tr>"
            f"{''.join(ex_rows)}</table>"
            f"<h2>Per student</h2><table><tr><th>student</th><th>passed</th><th>exercises</th>"
            f"<th>share</th></tr>{st_rows}</table>"
            + _class_html(report.class_experiment)
            + (f"<h2>Notebooks that could not be graded</h2><ul>{prob}</ul>" if prob else "")
            + (f"<h2>Files not graded (not notebooks)</h2><ul>{skipped}</ul>" if skipped
               else "")
            + "</body></html>")


# ---------------------------------------------------------------------- class experiment
#: The pooled table and the list of pairs, written next to the grades CSV.
CLASS_CSV, CLASS_PAIRS_CSV = "class_experiment.csv", "class_pairs.csv"
_PAIR_FIELDS = ("preset", "fraction", "steps", "fold", "seed")
_CLASS_COLUMNS = ("reference", "variant", "preset", "fraction", "steps", "pairs", "students",
                  "repeated_pairs", "reference_uar", "variant_uar", "gain", "gain_sd",
                  "gain_se", "wins")
_PAIR_COLUMNS = ("student", "notebook", "reference", "variant", "preset", "fraction", "steps",
                 "fold", "seed", "reference_uar", "variant_uar", "gain")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and value == value and abs(value) != float("inf")


def _valid_pair(row: Any) -> dict[str, Any] | None:
    """The pair's fields (see :data:`_PAIR_COLUMNS`) if ``row`` is a well-formed
    :func:`sertutor.experiments.paired_run` row, else None."""
    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from .experiments import CLASS_PAIR

    if not isinstance(row, dict) or row.get("experiment", CLASS_PAIR) != CLASS_PAIR:
        return None
    ref, var = row.get("reference"), row.get("variant")
    if not isinstance(ref, str) or not isinstance(var, str) or ref == var:
        return None
    uars = row.get(f"{ref}_uar"), row.get(f"{var}_uar")
    if not all(_number(u) and 0 <= u <= 1 for u in uars):
        return None
    if not all(_number(row.get(k)) for k in ("fraction", "fold", "seed")):
        return None
    steps = row.get("steps")
    return {"reference": ref, "variant": var, "preset": str(row.get("preset", "")),
            "fraction": float(row["fraction"]), "steps": int(steps) if _number(steps) else None,
            "fold": int(row["fold"]), "seed": int(row["seed"]),
            "reference_uar": float(uars[0]), "variant_uar": float(uars[1]),
            "gain": float(uars[1]) - float(uars[0])}


def recorded_pairs(nb) -> list[dict[str, Any]]:
    """The class-experiment pairs a notebook recorded (:func:`sertutor.exercises.
    record_result` of a :func:`sertutor.experiments.paired_run` row), read from its saved
    outputs: one per (reference, variant, preset, fraction, steps, fold, seed), the last one
    if it was recorded more than once. Malformed records are left out."""
    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from .exercises import RESULT_MIME

    found: dict[tuple, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            payload = (out.get("data") or {}).get(RESULT_MIME) if isinstance(out, dict) else None
            if isinstance(payload, str):
                with contextlib.suppress(ValueError):
                    payload = json.loads(payload)
            if not isinstance(payload, dict):
                continue
            pair = _valid_pair(payload.get("row"))
            if pair is not None:
                key = (pair["reference"], pair["variant"]) + tuple(pair[k] for k in _PAIR_FIELDS)
                found.pop(key, None)
                found[key] = pair
    return list(found.values())


def _pairs_of(found: Iterable[tuple[str, Path]]) -> list[dict[str, Any]]:
    """The recorded pairs of ``(student, notebook)`` submissions (unreadable ones skipped)."""
    import nbformat

    pairs = []
    for student, path in found:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - grading reports unreadable notebooks itself
            continue
        pairs += [{"student": student, "notebook": path.name, **p} for p in recorded_pairs(nb)]
    return pairs


def collect_pairs(submissions: str | os.PathLike) -> list[dict[str, Any]]:
    """The class-experiment pairs recorded in a folder of submissions (laid out as for
    :func:`grade`, e.g. nbgrader's ``submitted/``), read from the saved notebooks without
    running them; each pair has ``student`` and ``notebook`` added."""
    folder = Path(submissions)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {folder}")
    return _pairs_of(_submissions(folder)[0])


def class_experiment(pairs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Pool a class's pairs of runs into the paired gain of each variant over its reference.

    Each pair is one (fold, seed) of ``reference`` and ``variant`` (``baseline`` and ``full``
    in notebook 05) trained on the same split. A pair that several students ran (same
    comparison, preset, fraction, steps, fold and seed) is one pair: its UARs are averaged
    first, so a repeated run does not count twice. The gains then go through
    :func:`sertutor.experiments.paired_gains`.

    Parameters
    ----------
    pairs : iterable of dict
        Rows with ``student`` and the fields of :func:`recorded_pairs` (or raw
        :func:`sertutor.experiments.paired_run` rows plus ``student``).

    Returns
    -------
    dict
        ``pairs``: the valid rows, sorted (``student``, ``notebook``, ``reference``,
        ``variant``, ``preset``, ``fraction``, ``steps``, ``fold``, ``seed``,
        ``reference_uar``, ``variant_uar``, ``gain``); ``summary``: one row per
        (reference, variant, preset, fraction, steps) with ``pairs`` (distinct folds and
        seeds), ``students``, ``repeated_pairs`` (pairs run by more than one student),
        ``reference_uar`` and ``variant_uar`` (means over pairs), ``gain`` (mean of
        ``variant - reference``), ``gain_sd``, ``gain_se`` (sd / sqrt(pairs)) and ``wins``
        (pairs where the variant scored higher).
    """
    import numpy as np

    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from .experiments import paired_gains

    rows = []
    for p in pairs:
        pair = p if {"reference_uar", "variant_uar"} <= set(p) else _valid_pair(p)
        if pair is None:
            continue
        rows.append({"student": str(p.get("student", "")), "notebook": str(p.get("notebook", "")),
                     **{k: pair[k] for k in _PAIR_COLUMNS[2:]}})
    rows.sort(key=lambda r: tuple("" if r[k] is None else r[k] for k in _PAIR_COLUMNS))
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["reference"], r["variant"]) + tuple(r[k] for k in _PAIR_FIELDS),
                          []).append(r)
    by_comparison: dict[tuple, list[dict[str, Any]]] = {}
    for key, members in groups.items():
        (ref, var), fields_ = key[:2], dict(zip(_PAIR_FIELDS, key[2:]))
        for name, col in ((ref, "reference_uar"), (var, "variant_uar")):
            by_comparison.setdefault((ref, var), []).append(
                {"variant": name, **fields_, "uar": float(np.mean([m[col] for m in members]))})
    summary = []
    for (ref, var), gain_rows in sorted(by_comparison.items()):
        cells = paired_gains(gain_rows, reference=ref, pair=_PAIR_FIELDS,
                             by=("preset", "fraction", "steps"))
        for g in cells:
            cell = (g["preset"], g["fraction"], g["steps"])
            keys = [k for k in groups if k[:2] == (ref, var) and k[2:5] == cell]
            members = [m for k in keys for m in groups[k]]
            summary.append({
                "reference": ref, "variant": var, "preset": g["preset"],
                "fraction": g["fraction"], "steps": g["steps"], "pairs": g["n"],
                "students": len({m["student"] for m in members}),
                "repeated_pairs": sum(len({m["student"] for m in groups[k]}) > 1 for k in keys),
                "reference_uar": float(np.mean([r["uar"] for r in gain_rows if r["variant"]
                                                == ref and (r["preset"], r["fraction"],
                                                            r["steps"]) == cell])),
                "variant_uar": float(np.mean([r["uar"] for r in gain_rows if r["variant"]
                                              == var and (r["preset"], r["fraction"],
                                                          r["steps"]) == cell])),
                "gain": g["gain_mean"], "gain_sd": g["gain_std"], "gain_se": g["gain_se"],
                "wins": g["wins"]})
    summary.sort(key=lambda r: (r["reference"], r["variant"], r["preset"], r["fraction"],
                                -1 if r["steps"] is None else r["steps"]))
    return {"pairs": rows, "summary": summary}


def _csv_text(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    columns = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else
                         (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                         for c in columns])
    return buffer.getvalue()


def write_class_experiment(result: dict[str, list[dict[str, Any]]],
                           out: str | os.PathLike) -> tuple[Path, Path]:
    """Write a :func:`class_experiment` result: the pooled table to ``out`` (CSV; columns as
    in its ``summary``) and the pairs to ``class_pairs.csv`` beside it. Returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = atomic_write_text(out, _csv_text(result["summary"], _CLASS_COLUMNS))
    pairs = atomic_write_text(out.with_name(CLASS_PAIRS_CSV),
                              _csv_text(result["pairs"], _PAIR_COLUMNS))
    return table, pairs


def _class_html(result: dict[str, list[dict[str, Any]]]) -> str:
    """The class-experiment section of the HTML summary ("" when no pair was recorded)."""
    if not result.get("pairs"):
        return ""
    esc = html.escape

    def num(v: Any, fmt: str = ".3f") -> str:
        return "–" if v is None else format(v, fmt)

    head = "".join(f"<th>{esc(c)}</th>" for c in (
        "comparison", "fraction", "steps", "pairs", "students", "reference UAR", "variant UAR",
        "gain (variant − reference)", "se", "wins"))
    body = "".join(
        f"<tr><td>{esc(r['variant'])} − {esc(r['reference'])}</td><td>{r['fraction']:g}</td>"
        f"<td>{'' if r['steps'] is None else r['steps']}</td><td>{r['pairs']}</td>"
        f"<td>{r['students']}</td><td>{num(r['reference_uar'])}</td>"
        f"<td>{num(r['variant_uar'])}</td><td>{num(r['gain'], '+.3f')}</td>"
        f"<td>{num(r['gain_se'])}</td><td>{r['wins']} / {r['pairs']}</td></tr>"
        for r in result["summary"])
    pairs = "".join(
        f"<tr><td>{esc(p['student'])}</td><td>{p['fold']}</td><td>{p['seed']}</td>"
        f"<td>{'' if p['steps'] is None else p['steps']}</td>"
        f"<td>{num(p['reference_uar'])}</td><td>{num(p['variant_uar'])}</td>"
        f"<td>{num(p['gain'], '+.3f')}</td></tr>" for p in result["pairs"])
    return (f"<h2>Class experiment (notebook 05)</h2><p>{len(result['pairs'])} recorded "
            f"pair(s) of runs from {len({p['student'] for p in result['pairs']})} student(s). "
            "Each pair trains both models on the same fold and seed; the gain is paired "
            "(variant minus reference on the same pair), se = sd / sqrt(pairs), wins = pairs "
            "where the variant scored higher. A pair run by several students counts once "
            "(its UARs averaged). A gain within about two standard errors of 0 is no "
            f"evidence either way.</p><table><tr>{head}</tr>{body}</table>"
            "<details><summary>The pairs</summary><table><tr><th>student</th><th>fold</th>"
            "<th>seed</th><th>steps</th><th>reference UAR</th><th>variant UAR</th>"
            f"<th>gain</th></tr>{pairs}</table></details>")


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return line[:200]


# ------------------------------------------------------------------------------ preparing
def _warm_umap() -> None:
    """Fit a tiny UMAP so numba compiles umap's and pynndescent's kernels into its cache."""
    import numpy as np
    import umap

    umap.UMAP(n_epochs=10).fit(np.random.default_rng(0).random((50, 8)))


def prepare(*, umap: bool = True, rescore: bool = True, quiet: bool = False,
            log: Callable[[str], Any] = print) -> int:
    """Prepare this machine for a lab, then run ``sertutor doctor``; return the exit status.

    The steps, each timed and reported:

    1. the classroom corpora and their feature caches: exactly ``sertutor synth --preset
       classroom --features`` (the same command is run);
    2. the shipped pretrained model loads (:func:`sertutor.pretrained.load`);
    3. numba's compiled UMAP cache is warmed, so a notebook's first UMAP projection is not a
       15-20 s wait (skipped with ``umap=False``);
    4. :func:`sertutor.doctor.main` checks the machine (``rescore``: re-score the model).

    Parameters
    ----------
    umap : bool
        Warm numba's UMAP cache.
    rescore : bool
        Let the doctor re-score the shipped model (about 10 s).
    quiet : bool
        No progress bars while generating corpora.
    log : callable
        Where the step lines go.

    Returns
    -------
    int
        0 when every step worked and the doctor found nothing wrong, else 1.
    """
    failed = []

    def step(title: str, fn: Callable[[], Any]) -> None:
        log(f"== {title}")
        t0 = time.perf_counter()
        try:
            status = fn()
        except Exception as exc:  # noqa: BLE001 - report, go on with the next step
            status = f"{type(exc).__name__}: {exc}"
        if status not in (None, 0):
            failed.append(title)
            log(f"   FAILED: {status}")
        else:
            log(f"   done in {time.perf_counter() - t0:.1f} s")

    step("corpora and feature caches (as sertutor synth --preset classroom --features)",
         lambda: prepare_corpora("classroom", features=True, progress=not quiet, log=log)
         and None)
    step("the pretrained model loads", lambda: pretrained.load("classroom") and None)
    if umap:
        step("numba's UMAP cache", _warm_umap)
    log("== sertutor doctor")
    status = doctor.main(rescore=rescore)
    if failed:
        log(f"prepare: {len(failed)} step(s) failed: {'; '.join(failed)}")
    return 1 if failed or status else 0
