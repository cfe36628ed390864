"""Every tutorial notebook runs top to bottom (FAST mode) and follows the conventions.

The execution tests (marker ``notebook``) start a fresh ``python3`` kernel per notebook with
``SERTUTOR_FAST=1`` and fail with the failing cell's source and error. Run one with e.g.
``python -m pytest -q tests/test_notebooks.py -k 00_welcome``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = int(os.environ.get("SERTUTOR_CELL_TIMEOUT", "300"))  # seconds per cell


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, f"expected the tutorial notebooks in {TUTORIALS}"
    names = [p.name[:2] for p in NOTEBOOKS]
    assert names == sorted(set(names)), f"duplicate notebook numbers: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", \
        f"{path.name}: kernelspec must be python3"

    stored = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
              and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not stored, f"{path.name}: cells {stored} have stored outputs; clear them before saving"

    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert re.search(r'FAST\s*=\s*os\.environ\.get\(\s*"SERTUTOR_FAST"', _source(params[0])), \
        f"{path.name}: the parameters cell must set FAST from SERTUTOR_FAST"

    first_md = next(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert first_md.startswith("# "), f"{path.name}: the first cell must be a # title"
    head = "\n".join(_source(c) for c in cells[:3] if c["cell_type"] == "markdown").lower()
    assert "objectives" in head, f"{path.name}: objectives missing at the top"
    assert "prerequisites" in head, f"{path.name}: prerequisites missing at the top"
    assert re.search(r"\btime\b.*\b\d+\s*(minutes|min|seconds|s)\b", head, re.S), \
        f"{path.name}: an honest time estimate (e.g. 'Time. About 30 minutes') missing"
    tail = "\n".join(_source(c) for c in cells[-2:] if c["cell_type"] == "markdown").lower()
    assert "summary" in tail, f"{path.name}: the last cells must hold a summary"

    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert re.search(r"^\s*(import sertutor|from sertutor)", code, re.M), \
        f"{path.name}: the notebook must build on sertutor"
    classes = re.findall(r"^class \w+", code, re.M)
    assert not classes, f"{path.name}: defines classes {classes}; library code belongs in sertutor"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    pytest.importorskip("nbclient")
    from sertutor.tutorials import NotebookError, execute_notebook

    try:
        execute_notebook(path, fast=True, timeout=CELL_TIMEOUT,
                         env={"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    except NotebookError as exc:
        pytest.fail(str(exc), pytrace=False)
