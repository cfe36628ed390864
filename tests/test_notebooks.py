"""Every tutorial notebook runs top to bottom (FAST mode) and follows the conventions.

The execution tests (marker ``notebook``) start a fresh ``python3`` kernel per notebook with
``SERTUTOR_FAST=1``, run all its cells, then paste every exercise's ``<details>`` solution into
its exercise cell and check that it passes in the notebook's own state after Run All (as a
learner would); they fail with the failing cell's source and error. Run one with e.g.
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
def test_notebook_runs_and_its_solutions_pass_after_run_all(path):
    pytest.importorskip("nbclient")
    from sertutor.tutorials import NotebookError, execute_notebook

    try:
        execute_notebook(path, fast=True, timeout=CELL_TIMEOUT, solutions=True,
                         env={"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    except NotebookError as exc:
        pytest.fail(str(exc), pytrace=False)


LINK = re.compile(r"\]\((\d\d_[\w.-]+\.ipynb)\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_next_link_and_shutdown_advice(path):
    """Every notebook but the last links the next one from its last cell and asks to shut down
    this kernel first (links pile up kernels: Binder has about 2 GB); 00 says why."""
    last = _source(_cells(path)[-1])
    assert _cells(path)[-1]["cell_type"] == "markdown"
    assert "Kernel ▸ Shut Down Kernel" in last, f"{path.name}: no shut-down advice at the end"
    links = LINK.findall(last)
    for target in links:
        assert (TUTORIALS / target).is_file(), f"{path.name} links {target}, which is missing"
    position = NOTEBOOKS.index(path)
    if position + 1 < len(NOTEBOOKS):
        following = NOTEBOOKS[position + 1].name
        assert following in links, f"{path.name} must end with a link to {following}"
        assert last.index("Next") < last.index(following) < last.index("Shut Down Kernel")
    if path == NOTEBOOKS[0]:
        assert "2 GB" in last and "memory" in last, "00 must say why kernels are shut down"


def _calls(code: str, name: str) -> list[str]:
    """The argument text of every ``name(...)`` call in ``code`` (balanced parentheses)."""
    out = []
    for m in re.finditer(rf"\b{re.escape(name)}\(", code):
        depth, i = 1, m.end()
        while depth and i < len(code):
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        out.append(code[m.end():i - 1])
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_cells_show_progress(path):
    """Training takes from seconds to minutes on a busy 2-core machine: every training call
    (and every data preparation, which may extract features) shows a progress bar with the time
    left, and a loop of runs shows its own."""
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        code = _source(cell)
        for name in ("train_and_evaluate", "prepare_data"):  # prepare_data: feature extraction
            for args in _calls(code, name):
                if args.strip() and "def " not in code:
                    assert re.search(r"\bprogress=True\b", args), \
                        f"{path.name}: {name}({args.strip()[:60]}...) without progress=True"
        loop = re.search(r"^for .*:\n(?:[ \t]+.*\n)*?[ \t]+.*train_and_evaluate\(", code, re.M)
        if loop:
            assert "tqdm(" in code, f"{path.name}: a loop of training runs without a run bar"
