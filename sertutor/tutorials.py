"""The tutorial notebooks: find them, run them, export them to static HTML.

``sertutor tutorials list`` / ``path`` / ``export`` (see :mod:`sertutor.cli`) are thin wrappers
around :func:`list_notebooks`, :func:`tutorials_dir` and :func:`export`.

Running a notebook (:func:`execute_notebook`) starts a fresh ``python3`` kernel with
``nbclient``, in the notebook's folder, with ``SERTUTOR_FAST=1`` when ``fast`` (the notebooks'
parameters cell reads it and shrinks its work). A failing cell raises
:class:`NotebookError`, which names the notebook, the cell, its source and the error.

The static export (:func:`export`) executes every notebook with the widget state stored
(``store_widget_state=True``) and writes one HTML page per notebook with nbconvert's
``lab`` template, plus an ``index.html``. What the pages need to be read offline:

- plotly figures are self-contained: the kernel runs with
  ``PLOTLY_RENDERER=plotly_mimetype+notebook``, so figures get an HTML rendering and the page
  carries plotly.js inline, once (JupyterLab itself keeps using the mimetype);
- figures inside widgets (a plotly ``FigureWidget``) are replaced by static copies of the figure
  as it was at the end of the cell that showed it (a hidden first cell snapshots every
  FigureWidget after each cell); without a kernel a FigureWidget could not update anyway, and
  dropping it keeps each page from carrying another copy of plotly.js per figure;
- the remaining ipywidgets controls (sliders, dropdowns, buttons) are drawn from the stored
  widget state by the ``@jupyter-widgets/html-manager`` script (1.0.15, BSD-3-Clause) and
  require.js (2.3.8, MIT). Both ship in ``sertutor/_static/`` and are copied to ``_static/``
  next to the pages, which load them by relative URL, so the controls draw offline too,
  showing the state they had when the notebook ran (without a kernel they do not act). Only
  math in markdown cells needs the network (MathJax from cdnjs); offline it shows as TeX.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .storage import atomic_write_text

__all__ = ["tutorials_dir", "list_notebooks", "notebook_title", "execute_notebook",
           "execute_for_export", "NotebookError", "export", "export_html", "ExportResult",
           "write_index",
           "SolutionCell", "solution_cells", "paste_solution", "append_solution_checks"]

NOTEBOOK_RE = re.compile(r"^\d\d_.+\.ipynb$")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def tutorials_dir() -> Path:
    """The folder holding the tutorial notebooks.

    ``$SERTUTOR_TUTORIALS`` if set, else the ``tutorials/`` folder of the checkout this package
    runs from. Raises ``FileNotFoundError`` with what to do when neither exists (a wheel install
    does not include the notebooks).
    """
    env = os.environ.get("SERTUTOR_TUTORIALS")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"SERTUTOR_TUTORIALS={env} is not a folder")
        return path.resolve()
    path = Path(__file__).resolve().parent.parent / "tutorials"
    if path.is_dir() and any(path.glob("*.ipynb")):
        return path
    raise FileNotFoundError(
        "no tutorials folder found: the notebooks live in the tutorials/ folder of a sertutor "
        "checkout (git clone, then pip install -e .); or set SERTUTOR_TUTORIALS to the folder")


def list_notebooks(directory: str | os.PathLike | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of ``directory``, in order."""
    folder = Path(directory) if directory is not None else tutorials_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if NOTEBOOK_RE.match(p.name))


def notebook_title(path: str | os.PathLike) -> str:
    """The first markdown heading of a notebook (its file name if it has none)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(path).stem


# ------------------------------------------------------------------------------ executing
class NotebookError(RuntimeError):
    """A notebook cell failed; ``notebook``, ``cell_index``, ``source`` and ``error`` say where."""

    def __init__(self, notebook: str, cell_index: int, source: str, error: str):
        self.notebook = notebook
        self.cell_index = cell_index
        self.source = source
        self.error = error
        super().__init__(f"{notebook}: cell {cell_index} failed\n"
                         f"----- cell source -----\n{source}\n"
                         f"----- error -----\n{error}")


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _failing_cell(nb) -> tuple[int, str, str]:
    """(index, source, error text) of the first cell with an error output."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                tb = "\n".join(out.get("traceback", [])) or f"{out['ename']}: {out['evalue']}"
                return i, cell.source, _strip_ansi(tb)
    return -1, "", ""


def kernel_env(*, fast: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a tutorial kernel runs with: this one plus ``SERTUTOR_FAST`` (and
    ``SERTUTOR_PROGRESS=0`` unless set: a test or an export does not record progress)."""
    env = dict(os.environ)
    env["SERTUTOR_FAST"] = "1" if fast else "0"
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():  # a checkout: the kernel imports this sertutor
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env.pop("MPLBACKEND", None)
    env.setdefault("SERTUTOR_PROGRESS", "0")  # tests and exports are not a learner's progress
    if extra:
        env.update(extra)
    return env


def execute_notebook(path: str | os.PathLike, *, fast: bool = False, timeout: int = 600,
                     kernel_name: str = "python3", store_widget_state: bool = True,
                     env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None,
                     solutions: bool = False):
    """Execute a notebook top to bottom in a fresh kernel; return the executed notebook.

    Parameters
    ----------
    path : path-like
        The ``.ipynb`` file (it is not modified).
    fast : bool
        Run with ``SERTUTOR_FAST=1`` (what the tests do).
    timeout : int
        Seconds allowed per cell.
    env : dict, optional
        Extra environment variables for the kernel.
    cwd : path-like, optional
        Working directory of the kernel (default: the notebook's folder).
    solutions : bool
        After Run All, paste every exercise's ``<details>`` solution into its exercise cell,
        run that cell again and assert that its check passes, in the notebook's own state
        (:func:`append_solution_checks`). A failing solution raises :class:`NotebookError`.

    Raises
    ------
    NotebookError
        When a cell raises (or times out); the message holds the cell's source and the error.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    if solutions:
        nb = append_solution_checks(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(cwd or path.parent)}},
                            store_widget_state=store_widget_state, allow_errors=False,
                            record_timing=True)
    try:
        client.execute(env=kernel_env(fast=fast, extra=env), cwd=str(cwd or path.parent))
    except CellExecutionError as exc:
        index, source, error = _failing_cell(nb)
        err = NotebookError(path.name, index, source, error or _strip_ansi(str(exc)))
        err.nb = nb
        raise err from None
    except (CellTimeoutError, DeadKernelError) as exc:
        running = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                   and "execution" in c.get("metadata", {})
                   and "shell.execute_reply" not in c.metadata["execution"]]
        index = running[0] if running else -1
        source = nb.cells[index].source if index >= 0 else ""
        err = NotebookError(path.name, index, source,
                            f"{type(exc).__name__}: {_strip_ansi(str(exc))}")
        err.nb = nb
        raise err from None
    return nb


# ------------------------------------------------------------------- exercises' solutions
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.]+)["']\s*,\s*(\w+)\s*\)""")
_DETAILS_CODE = re.compile(r"<details>\s*<summary>\s*Solution.*?```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class SolutionCell:
    """An exercise cell of a notebook and the solution shown under it.

    Attributes
    ----------
    index : int
        Index of the exercise (code) cell, the one calling ``check("NN.name", variable)``.
    name : str
        The exercise, ``"NN.name"``.
    variable : str
        The answer variable the cell passes to ``check``.
    source : str
        The exercise cell's source.
    solution : str
        The code of the ``<details>`` solution (the first ``python`` block in it).
    """

    index: int
    name: str
    variable: str
    source: str
    solution: str


def _cell_source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def solution_cells(nb) -> list[SolutionCell]:
    """Every exercise cell of ``nb`` that a ``<details>`` solution follows, in order.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        A notebook (format 4).

    Returns
    -------
    list of SolutionCell
        The exercise cell is the code cell with one ``check("NN.name", variable)`` call
        nearest above the markdown cell that holds the solution.

    Raises
    ------
    ValueError
        If a solution has no exercise cell above it, or its exercise cell calls ``check``
        more than once.
    """
    cells = nb["cells"]
    found = []
    for j, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        match = _DETAILS_CODE.search(_cell_source(cell))
        if not match:
            continue
        above = [i for i in range(j - 1, -1, -1) if cells[i]["cell_type"] == "code"]
        if not above:
            raise ValueError(f"cell {j}: a solution with no exercise cell above it")
        i = above[0]
        calls = _CHECK_CALL.findall(_cell_source(cells[i]))
        if len(calls) != 1:
            raise ValueError(f"cell {i} (above the solution in cell {j}) must call "
                             f"check(\"NN.name\", answer) once; it calls it {len(calls)} times")
        name, variable = calls[0]
        found.append(SolutionCell(i, name, variable, _cell_source(cells[i]),
                                  match.group(1)))
    return found


def paste_solution(source: str, variable: str, solution: str) -> str:
    """The exercise cell ``source`` with ``solution`` pasted over its placeholder line(s).

    The placeholder is the line ``variable = None  # your answer ...``, which a learner
    replaces by their answer; the rest of the cell (its ``check`` call included) stays.

    Raises
    ------
    ValueError
        If the cell has no ``variable = None`` line.
    """
    lines = source.splitlines()
    placeholder = re.compile(rf"^{re.escape(variable)}\s*=\s*None\b")
    hits = [k for k, line in enumerate(lines) if placeholder.match(line)]
    if not hits:
        raise ValueError(f"no placeholder line '{variable} = None' in the exercise cell")
    k = hits[0]
    return "\n".join(lines[:k] + solution.rstrip("\n").splitlines() + lines[k + 1:])


def append_solution_checks(nb):
    """A copy of ``nb`` with, after its last cell, every exercise re-run with its solution.

    For each :func:`solution_cells` entry two code cells are appended: the exercise cell with
    the solution pasted in (:func:`paste_solution`), exactly what a learner runs after Run
    All, and a cell asserting that ``check`` passes for that answer. Executing the copy
    therefore fails, on the appended cell of the exercise, when a solution cannot run in the
    notebook's own state (a name it never defined, a file a later cell deleted) or its checker
    rejects it. The appended cells carry ``metadata.sertutor_solution = "NN.name"``.
    """
    import copy

    import nbformat

    out = copy.deepcopy(nb)
    for sol in solution_cells(nb):
        pasted = nbformat.v4.new_code_cell(paste_solution(sol.source, sol.variable,
                                                          sol.solution))
        verdict = nbformat.v4.new_code_cell(
            "from sertutor.exercises import check as _sertutor_check\n"
            f"_sertutor_result = _sertutor_check({sol.name!r}, {sol.variable})\n"
            f"assert _sertutor_result.passed, "
            f"'the solution of {sol.name} fails after Run All: ' + _sertutor_result.message")
        for cell in (pasted, verdict):
            cell.metadata["sertutor_solution"] = sol.name
            out.cells.append(cell)
    return out


# ------------------------------------------------------------------------------ exporting
_SNAPSHOT_ENV = "SERTUTOR_FIGURE_SNAPSHOTS"


def _install_snapshot_hook(folder: str) -> None:
    """In the kernel: after every cell, save each live plotly FigureWidget's current figure.

    Files are ``<folder>/<execution_count>-<model_id>.json``, written only when the figure
    changed. The export uses them to put a static copy of each widget's figure in the page.
    """
    import hashlib

    from IPython import get_ipython

    last: dict[str, str] = {}
    out = Path(folder)

    def snapshot(result) -> None:
        try:
            import ipywidgets.widgets.widget as wmod
            from plotly.basewidget import BaseFigureWidget
        except ImportError:
            return
        count = result.execution_count
        for model_id, widget in list(getattr(wmod, "_instances", {}).items()):
            if not isinstance(widget, BaseFigureWidget):
                continue
            try:
                text = widget.to_json()
            except Exception:  # noqa: BLE001 - never break the learner's notebook
                continue
            digest = hashlib.sha1(text.encode()).hexdigest()
            if last.get(model_id) != digest:
                last[model_id] = digest
                (out / f"{count}-{model_id}.json").write_text(text, encoding="utf-8")

    get_ipython().events.register("post_run_cell", snapshot)


def _snapshot_lookup(folder: Path) -> dict[str, list[tuple[int, Path]]]:
    found: dict[str, list[tuple[int, Path]]] = {}
    for f in folder.glob("*-*.json"):
        count, _, model_id = f.stem.partition("-")
        if count.isdigit():
            found.setdefault(model_id, []).append((int(count), f))
    for v in found.values():
        v.sort()
    return found


def _reachable(state: dict[str, Any], model_id: str, seen: set[str] | None = None) -> list[str]:
    """Model ids reachable from ``model_id`` through ``IPY_MODEL_`` references (incl. itself)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    found = [model_id]
    for value in state[model_id].get("state", {}).values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and v.startswith("IPY_MODEL_"):
                found += _reachable(state, v[len("IPY_MODEL_"):], seen)
    return found


def _figure_widgets_to_static(nb, snapshots: Path) -> int:
    """Replace plotly FigureWidgets by static copies of their figures; return how many.

    A widget output is followed by the figures of the FigureWidgets it contains, as they were
    at the end of that cell; the FigureWidget models are then removed from the stored widget
    state (without a kernel they could not update anyway, and each carries its own copy of
    plotly.js), so the remaining controls still render and the page stays small.
    """
    import nbformat
    import plotly.io as pio

    store = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    state = (store or {}).get("state", {})
    lookup = _snapshot_lookup(snapshots)
    figure_ids = {m for m in state if m in lookup}
    added = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count = cell.get("execution_count") or 0
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if "data" in out else None
            ids = [m for m in _reachable(state, view.get("model_id", "")) if m in figure_ids] \
                if view else []
            if not (view and view.get("model_id") in figure_ids):
                outputs.append(out)  # keep the widget unless it is just a figure
            for model_id in ids:
                shots = [f for c, f in lookup[model_id] if c <= count] or \
                    [lookup[model_id][0][1]]
                fig = pio.from_json(shots[-1].read_text(encoding="utf-8"))
                html_fig = pio.to_html(fig, include_plotlyjs=False, full_html=False)
                outputs.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": html_fig, "text/plain": "<Figure>"},
                    metadata={"sertutor_static_figure": model_id}))
                added += 1
        cell.outputs = outputs
    for model_id in figure_ids:
        del state[model_id]
    for model in state.values():
        ms = model.get("state", {})
        for key, value in list(ms.items()):
            if isinstance(value, list) and any(isinstance(v, str) and v.startswith("IPY_MODEL_")
                                               for v in value):
                ms[key] = [v for v in value if not (isinstance(v, str) and
                                                    v[len("IPY_MODEL_"):] in figure_ids)]
    return added


def execute_for_export(path: str | os.PathLike, *, fast: bool = False, timeout: int = 600):
    """Execute a notebook for the static export; return ``(notebook, error text)``.

    Runs with ``PLOTLY_RENDERER=plotly_mimetype+notebook`` (an HTML rendering with plotly.js
    inline next to JupyterLab's mimetype) and a hidden first cell that snapshots FigureWidgets
    (see :func:`_figure_widgets_to_static`); the hidden cell is removed again.
    """
    import tempfile

    import nbformat

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory(prefix="sertutor-export-") as tmp:
        shots = Path(tmp) / "figures"
        shots.mkdir()
        hook = nbformat.v4.new_code_cell(
            f"from sertutor.tutorials import _install_snapshot_hook\n"
            f"_install_snapshot_hook({str(shots)!r})")
        nb.cells.insert(0, hook)
        work = Path(tmp) / path.name
        nbformat.write(nb, str(work))
        error = ""
        try:
            done = execute_notebook(work, fast=fast, timeout=timeout, cwd=path.parent,
                                    env={"PLOTLY_RENDERER": "plotly_mimetype+notebook"})
        except NotebookError as exc:  # renumber: the hidden cell is not the learner's
            error = str(NotebookError(path.name, exc.cell_index - 1, exc.source, exc.error))
            done = exc.nb
        done.cells.pop(0)
        n_static = _figure_widgets_to_static(done, shots)  # uses the kernel's counts
        for cell in done.cells:  # the hidden cell took execution count 1
            if cell.cell_type == "code" and cell.get("execution_count"):
                cell.execution_count -= 1
                for out in cell.get("outputs", []):
                    if out.get("execution_count"):
                        out.execution_count -= 1
    done.metadata.setdefault("sertutor", {})["static_figures"] = n_static
    return done, error


def export_html(nb, out_path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write an executed notebook as one HTML page (nbconvert ``lab`` template)."""
    from nbconvert import HTMLExporter

    out_path = Path(out_path)
    static = _copy_static(out_path.parent)
    # the widget manager and require.js from the pages' own folder: no CDN needed
    resources = {"metadata": {"name": title or Path(out_path).stem}}
    with _nbconvert_data_path():  # the exporter finds its templates when it is made
        exporter = HTMLExporter(template_name="lab",
                                widget_renderer_url=f"{static.name}/{_WIDGET_MANAGER}",
                                require_js_url=f"{static.name}/require.js")
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    if "plotly" in body and "Plotly.newPlot" in body and "plotly.js v" not in body:
        # a page with figures but without plotly.js (figures from widgets only): embed it once
        import plotly.offline

        script = f"<script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script>"
        body = body.replace("</head>", script + "\n</head>", 1)
    _write_public(out_path, body)
    return out_path


_STATIC = Path(__file__).resolve().parent / "_static"
_WIDGET_MANAGER = "widgets-embed-amd.js"  # @jupyter-widgets/html-manager 1.0.15 dist/embed-amd.js


@contextlib.contextmanager
def _nbconvert_data_path():
    """Let nbconvert find its templates wherever it was installed.

    nbconvert looks for them under ``share/jupyter`` of the running environment (and
    ``JUPYTER_PATH``); a virtual environment that reuses the system's site-packages has
    nbconvert's code but not those data files. The base interpreter's and nbconvert's own
    prefix are added to ``JUPYTER_PATH`` while a page is rendered.
    """
    import nbconvert

    # nbconvert lives in <prefix>/lib/pythonX/site-packages/nbconvert
    prefixes = [sys.prefix, sys.base_prefix, str(Path(nbconvert.__file__).resolve().parents[4])]
    extra = [str(Path(p) / "share" / "jupyter") for p in dict.fromkeys(prefixes)
             if (Path(p) / "share" / "jupyter" / "nbconvert" / "templates" / "lab").is_dir()]
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(([old] if old else []) + extra)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old


def _copy_static(folder: Path) -> Path:
    """Copy the vendored widget manager and require.js into ``folder/_static``; return it."""
    import shutil

    target = folder / "_static"
    target.mkdir(parents=True, exist_ok=True)
    for name in (_WIDGET_MANAGER, "require.js"):
        if not (target / name).is_file():
            shutil.copyfile(_STATIC / name, target / name)
            os.chmod(target / name, 0o644)
    return target


def _write_public(path: Path, text: str) -> Path:
    """Write a page atomically, readable by everyone (a web server, a browser, the class)."""
    atomic_write_text(path, text)
    os.chmod(path, 0o644)
    return path


@dataclass
class ExportResult:
    """One exported notebook: where it went, how long it took, and the error if it failed."""

    notebook: str
    html: Path | None
    seconds: float
    error: str = ""
    static_figures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def export(out_dir: str | os.PathLike, *, fast: bool = False,
           notebooks: Iterable[str | os.PathLike] | None = None, timeout: int = 600,
           log=print, index: bool = True) -> list[ExportResult]:
    """Execute notebooks and write ``out_dir/NN_name.html`` for each plus ``index.html``.

    A notebook whose cell fails is still written (up to and including the failing cell, with
    its error), and its result carries the error; the others go on. ``index=False`` leaves
    ``index.html`` to the caller (:func:`write_index`), e.g. to list student copies too
    (:func:`sertutor.teaching.export_with_student_copies`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in notebooks] if notebooks is not None else list_notebooks()
    if not paths:
        raise FileNotFoundError("no notebooks to export")
    results: list[ExportResult] = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
        t0 = time.perf_counter()
        nb, error = execute_for_export(path, fast=fast, timeout=timeout)
        target = export_html(nb, out / (path.stem + ".html"), title=notebook_title(path))
        result = ExportResult(path.name, target, time.perf_counter() - t0, error,
                              nb.metadata["sertutor"]["static_figures"])
        results.append(result)
        if log is not None:
            status = "ok" if result.ok else "FAILED"
            log(f"{path.name}: {status} in {result.seconds:.1f} s -> {target}")
            if error:
                log(error)
    if index:
        write_index(out, results)
    return results


def write_index(out: str | os.PathLike, results: list[ExportResult]) -> Path:
    """Write ``out/index.html``: a link to each exported page (pages in sub-folders of ``out``
    too), labelled with the notebook and, from ``result.extra["copy"]``, which copy it is."""
    out = Path(out)

    def link(r: ExportResult) -> str:
        href = r.html.resolve().relative_to(out.resolve()).as_posix()
        copy = r.extra.get("copy")
        return (f"<li><a href=\"{html.escape(href)}\">{html.escape(r.notebook)}</a>"
                + (f" ({html.escape(copy)} copy)" if copy else "")
                + (" — <b>failed</b>" if r.error else "") + "</li>")

    rows = "\n".join(link(r) for r in results if r.html)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sertutor tutorials"
            f"</title></head><body><h1>sertutor tutorials</h1><ol>{rows}</ol>"
            f"<p>Executed {time.strftime('%Y-%m-%d %H:%M')} with sertutor; figures work "
            f"offline. Widgets show the figures and the state they had when the notebook ran; "
            f"their controls need a running kernel (open the notebook in JupyterLab or Binder)."
            f"</p></body></html>")
    return _write_public(out / "index.html", page)


def main_list(directory: str | os.PathLike | None = None, *, stream=None) -> int:
    """Print the notebooks, one per line: file name and title."""
    stream = sys.stdout if stream is None else stream
    for path in list_notebooks(directory):
        print(f"{path.name:34s} {notebook_title(path)}", file=stream)
    return 0
