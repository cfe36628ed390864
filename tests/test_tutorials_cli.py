"""``sertutor tutorials list / path / export`` on a small notebook (FAST); Binder's files.

The teacher kit's actions (student, grade, prepare) are tested in ``tests/test_teaching_*.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from sertutor.cli import main
from sertutor.tutorials import list_notebooks, tutorials_dir

REPO_TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"

SMALL = [
    ("markdown", "# 00 · A small notebook\n\nObjectives, prerequisites; time: 1 minute."),
    ("code", 'import os\nFAST = os.environ.get("SERTUTOR_FAST", "0") == "1"\nprint("FAST", FAST)'),
    ("code", "import plotly.graph_objects as go\n"
             "go.Figure(go.Bar(x=['neutral', 'happy'], y=[3, 5])).show()"),
    ("code", "import ipywidgets as w\n"
             "fw = go.FigureWidget(go.Scatter(y=[1, 2, 3], name='trace-before-update'))\n"
             "box = w.VBox([w.IntSlider(value=4, description='steps'), fw])\nbox"),
    ("code", "fw.data[0].y = [7, 8, 9]  # a later change: not in the static copy\n"
             "fw.data[0].name = 'trace-after-update'"),
    ("code", "from sertutor.exercises import check\ncheck('01.n_frames', None)"),
    ("markdown", "<details><summary>Solution</summary>\n\n```python\nanswer = 'SECRET-SOLUTION'"
                 "\n```\n</details>"),
    ("markdown", "## Summary\n\nDone."),
]


def _write(folder: Path, name: str, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for kind, src in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "markdown"
                        else nbformat.v4.new_code_cell(src))
    path = folder / name
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def small_tutorials(tmp_path, monkeypatch):
    folder = tmp_path / "tutorials"
    folder.mkdir()
    _write(folder, "00_small.ipynb", SMALL)
    broken = SMALL[:2] + [("code", "x = 1\nraise RuntimeError('this cell is broken')")]
    _write(folder, "01_broken.ipynb", broken)
    (folder / "notes.ipynb").write_text("{}")  # not numbered: not a tutorial
    monkeypatch.setenv("SERTUTOR_TUTORIALS", str(folder))
    return folder


def test_path_and_list_of_the_checkout(capsys, monkeypatch):
    monkeypatch.delenv("SERTUTOR_TUTORIALS", raising=False)
    assert tutorials_dir() == REPO_TUTORIALS.resolve()
    assert main(["tutorials", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(REPO_TUTORIALS.resolve())
    assert main(["tutorials", "list"]) == 0
    out = capsys.readouterr().out
    assert "00_welcome_and_data.ipynb" in out and "Welcome" in out
    assert len(out.strip().splitlines()) == len(list_notebooks())


def test_list_and_errors(small_tutorials, capsys, monkeypatch):
    assert [p.name for p in list_notebooks()] == ["00_small.ipynb", "01_broken.ipynb"]
    assert main(["tutorials", "list"]) == 0
    assert "00 · A small notebook" in capsys.readouterr().out
    assert main(["tutorials"]) == 2
    assert main(["tutorials", "export", "--out", "x", "--notebook", "07"]) == 1
    assert "no tutorial notebook '07'" in capsys.readouterr().err
    monkeypatch.setenv("SERTUTOR_TUTORIALS", str(small_tutorials / "missing"))
    assert main(["tutorials", "path"]) == 1
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.notebook
def test_export_writes_offline_html(small_tutorials, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["tutorials", "export", "--out", str(out), "--fast", "--notebook", "00"]) == 0
    assert "00_small.ipynb: ok" in capsys.readouterr().out
    page = (out / "00_small.html").read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="00_small.html"' in index and "01_broken" not in index

    assert "FAST True" in page  # ran with SERTUTOR_FAST=1
    assert "Not answered yet" in page  # the exercise's pending box
    # plotly.js is inline exactly once; no script tag loads plotly from anywhere
    assert page.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]+src=[\"'][^\"']*plotly", page)
    # the plain figure and the static copy of the widget's figure, as it was after its cell
    assert page.count("Plotly.newPlot") == 2
    assert '"trace-before-update"' in page and '"trace-after-update"' not in page
    # widget state is stored (the slider), the FigureWidget model itself is not
    assert "application/vnd.jupyter.widget-state+json" in page
    assert "IntSliderModel" in page and "AnyModel" not in page
    assert "In&nbsp;[1]" in page or "[1]:" in page  # the hidden hook cell is not counted
    assert (out / "00_small.html").stat().st_mode & 0o044 == 0o044  # readable by all
    # the widget manager and require.js come from the site's own _static folder, not a CDN
    scripts = re.findall(r"<script[^>]+src=[\"']([^\"']+)", page)
    assert "_static/require.js" in scripts
    assert not [s for s in scripts if "unpkg" in s or "jsdelivr" in s or "cdnjs" in s
                and "require" in s]
    assert "_static/widgets-embed-amd.js" in page
    for name in ("require.js", "widgets-embed-amd.js"):
        assert (out / "_static" / name).stat().st_size > 10_000


@pytest.mark.notebook
def test_export_adds_an_executed_student_copy(small_tutorials, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["tutorials", "export", "--out", str(out), "--fast", "--notebook", "00",
                 "--student-copy", "00"]) == 0
    teacher = (out / "00_small.html").read_text(encoding="utf-8")
    student = (out / "student" / "00_small.html").read_text(encoding="utf-8")
    assert "SECRET-SOLUTION" in teacher and "SECRET-SOLUTION" not in student
    assert "Not answered yet" in student and "FAST True" in student  # it ran, unanswered
    assert (out / "student" / "_static" / "require.js").is_file()  # reads offline too
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="00_small.html">00_small.ipynb</a></li>' in index
    assert 'href="student/00_small.html">00_small.ipynb</a> (student copy)' in index
    # the default student copy is notebook 05's: none for notebook 00 alone
    other = tmp_path / "site2"
    assert main(["tutorials", "export", "--out", str(other), "--fast", "--notebook", "00",
                 "--no-student-copies"]) == 0
    assert not (other / "student").exists()


def test_export_refuses_a_student_copy_of_no_exported_notebook(small_tutorials, tmp_path,
                                                               capsys):
    out = tmp_path / "site"
    assert main(["tutorials", "export", "--out", str(out), "--fast", "--notebook", "00",
                 "--student-copy", "5"]) != 0
    err = capsys.readouterr().err
    assert "--student-copy 5: no notebook numbered 05 is exported" in err and "'00'" in err
    assert not out.exists()  # refused before anything ran


@pytest.mark.notebook
def test_export_of_a_failing_notebook(small_tutorials, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["tutorials", "export", "--out", str(out), "--fast", "--notebook",
                 "01_broken"]) == 1
    text = capsys.readouterr().out
    assert "01_broken.ipynb: FAILED" in text and "this cell is broken" in text
    assert "cell 2 failed" in text and "raise RuntimeError" in text
    page = (out / "01_broken.html").read_text(encoding="utf-8")
    assert "this cell is broken" in page  # written up to the failing cell, with its error
    assert "failed" in (out / "index.html").read_text(encoding="utf-8")


def test_binder_files_match_the_package():
    """Binder installs the CPU wheels of the torch version the package pins and the package,
    prepares the machine (corpora, features, model, numba's cache, doctor) and opens
    JupyterLab at tutorials/."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    binder = REPO_TUTORIALS.parent / "binder"
    deps = tomllib.loads((REPO_TUTORIALS.parent / "pyproject.toml").read_text())[
        "project"]["dependencies"]
    pins = {d.split("==")[0]: d for d in deps if d.startswith(("torch==", "torchaudio=="))}
    req = [ln.strip() for ln in (binder / "requirements.txt").read_text().splitlines()
           if ln.strip() and not ln.startswith("#")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in req
    assert pins["torch"] in req and pins["torchaudio"] in req
    assert "ipywidgets==8.1.*" in req and "jupyterlab_widgets==3.0.*" in req
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    post = (binder / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and (binder / "postBuild").stat().st_mode & 0o111
    # `sertutor tutorials prepare` makes the corpora, feature caches, the model and numba's
    # cache, then runs the doctor (tests/test_teaching_prepare.py checks what it runs)
    for step in ("pip install --no-cache-dir -e .", "\nsertutor tutorials prepare\n",
                 'c.ServerApp.default_url = "/lab/tree/tutorials"'):
        assert step in post, step
    assert post.index("pip install --no-cache") < post.index("\nsertutor tutorials prepare\n")
    assert (binder / "start").read_text().rstrip().endswith('exec "$@"')
