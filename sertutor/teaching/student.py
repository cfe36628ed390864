"""Student copies of the tutorial notebooks: the solutions cut out, every check kept.

:func:`student_notebook` / :func:`write_student_copies` (``sertutor tutorials student --out
DIR``): the notebooks without their ``<details><summary>Solution</summary>`` blocks (or any
``solution("NN.name")`` call), outputs cleared, every ``check`` kept. The output is
byte-for-byte the same for the same notebooks. :func:`export_with_student_copies` (``sertutor
tutorials export``) adds executed student copies to the static HTML.

The regexes that find a solution block and a ``check`` call, and :func:`_source_notebooks`
(the notebooks to copy or convert), serve the nbgrader course and grading too.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from .. import tutorials
from ..storage import atomic_write_text

# nbformat is imported inside the functions that read notebooks: `sertutor tutorials ...`
# starts without it.

_DETAILS_SOLUTION = re.compile(
    r"<details>\s*<summary>\s*(?:<b>|<strong>)?\s*Solution\b.*?</details>[ \t]*\n?", re.S | re.I)
_SOLUTION_MARK = re.compile(r"<summary>\s*(?:<b>|<strong>)?\s*Solution\b", re.I)
_SOLUTION_CALL = re.compile(r"""\bsolution\(\s*["']\d\d\.[\w.]+["']\s*\)""")
_ANY_CHECK = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.]+)["']""")


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
        source = _src(cell)
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
    paths = [Path(p) for p in notebooks] if notebooks is not None else tutorials.list_notebooks()
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
