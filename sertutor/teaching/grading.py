"""Grading: each submitted notebook run in its own kernel, with limits; a CSV and an HTML summary.

:func:`grade` (``sertutor tutorials grade SUBMISSIONS --out grades.csv``): executes every
submitted notebook in its own kernel, in a child process with a memory limit (``RLIMIT_AS``)
and a wall-clock limit, on a copy (a submission is never modified); every ``check`` the
notebook runs appends its verdict to a log (``SERTUTOR_GRADING_LOG``), which becomes one CSV
row per student, notebook and exercise (:class:`GradeRow`, :class:`GradeReport`), plus an HTML
summary (:func:`summary_html`). The class experiment
(:mod:`sertutor.teaching.class_pairs`) is pooled from the same submissions.
"""

from __future__ import annotations

import collections
import contextlib
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
from typing import Any, Callable

from ..exercises import list_exercises
from ..storage import atomic_write_text
from ..tutorials import kernel_env
from .class_pairs import (CLASS_CSV, _class_html, _pairs_of, class_experiment,
                          write_class_experiment)
from .student import _ANY_CHECK, _src
from .submissions import _submissions

# nbformat, nbclient and tqdm are imported inside the functions that use them: `sertutor
# tutorials ...` starts without them. `resource` is imported in the child, before exec.

#: The status of an exercise in a graded notebook.
STATUSES = ("passed", "failed", "not answered")


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



def _expected_exercises(nb, filename: str) -> list[str]:
    """The exercises a submitted notebook should answer: those of its tutorial (by its
    ``NN_`` prefix) and any other that its cells check."""
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
        code = ("import sys; from sertutor.teaching.grading import _worker; "
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


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return line[:200]
