"""The package's layers: each module imports only from its own layer or the layers below, and
no two modules import each other, however indirectly (imports inside functions included).

Read the layers from the bottom up to find where a thing lives (issue #13).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sertutor"

#: Bottom first. A module belongs to the first layer with a prefix that names it or its
#: package (``"data"`` holds ``sertutor.data.corpora``...).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("bottom: configs, files, audio I/O, the machine", (
        "sertutor", "config", "storage", "audio", "deps", "runtime", "measured")),
    ("features", ("features",)),
    ("data", ("data",)),
    ("models and losses", ("models", "losses", "evaluate")),
    ("training", ("train",)),
    ("checkpoints and the model factory", ("checkpoint",)),
    ("figures", ("widgets.figures",)),
    ("widgets", ("widgets",)),
    ("jobs: run folders, report, experiments, shipped models, the pipeline re-exports", (
        "report", "jobs", "pipeline", "experiments", "pretrained")),
    ("top: commands, notebooks, exercises", (
        "cli", "__main__", "doctor", "tutorials", "teaching", "exercises")),
]


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    rel = module.removeprefix("sertutor").lstrip(".")
    best = None
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            match = (prefix == "sertutor" and rel == "") or rel == prefix or \
                rel.startswith(prefix + ".")
            if match and (best is None or len(prefix) > best[1]):
                best = (level, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def _imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports (at the top or inside functions)."""
    modules = {_module_name(p, package): p for p in package.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + is_package]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name and target.startswith("sertutor"):
                    deps.add(target)
        edges[name] = deps
    return edges


def test_every_module_has_a_layer():
    for module in _imports():
        _layer(module)


def test_no_import_goes_up_a_layer():
    wrong = [f"{m} ({LAYERS[_layer(m)][0]}) imports {d} ({LAYERS[_layer(d)][0]})"
             for m, deps in _imports().items() for d in sorted(deps) if _layer(d) > _layer(m)]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    edges = _imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(path[path.index(dep):] + [node, dep])
                              if dep in path else f"{node} -> {dep}")
            elif dep not in state:
                visit(dep, path + [node])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_imports_inside_functions_and_upward_ones(tmp_path):
    pkg = tmp_path / "sertutor"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def f():\n    from .data import corpora\n")
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "data" / "corpora.py").write_text("from ..config import f\n")
    edges = _imports(pkg)
    assert edges["sertutor.config"] == {"sertutor.data", "sertutor.data.corpora"}
    assert edges["sertutor.data.corpora"] == {"sertutor.config"}
    assert _layer("sertutor.data.corpora") > _layer("sertutor.config")  # an upward import
