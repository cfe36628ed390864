"""Benchmark: each tutorial notebook, full size (FAST off), classroom preset, in a fresh kernel.

For every notebook a fresh Python process executes it with nbclient in a new ``python3``
kernel (``sertutor.tutorials.execute_notebook``, ``SERTUTOR_FAST=0``) and reports

- the wall time of the whole notebook, kernel start included;
- the kernel's peak memory: after the kernel has exited, ``getrusage(RUSAGE_CHILDREN)`` of
  that process gives the largest resident set of any child it waited for, i.e. the kernel
  (anything the kernel itself starts and waits for is included).

Targets (issue 7): each notebook <= 90 s and <= 1.5 GB on a 2-core CPU, the sequence <= 10 min.
Issue 12 counts memory **above the baseline** of the torch wheel: the peak of a fresh kernel
that only runs ``import torch`` is measured the same way first, and each notebook's peak minus
that baseline must stay <= 500 MB (so two kernels and the server fit Binder's 2 GB with the
CPU wheel, whose ``import torch`` is about 220 MB).
Before timing, the classroom corpora and their feature caches are prepared the way Binder's
postBuild does it (not timed), so the numbers are those of a learner's session.

Writes ``benchmarks/results/notebooks.md`` and ``.json`` (``--name``: another file name, e.g.
``notebooks_memory`` for issue 12's memory record) with the command.

    python benchmarks/notebooks.py [--notebook 00 --notebook 01 ...] [--name notebooks_memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
MAX_SECONDS = 90.0
MAX_MB = 1536.0
MAX_TOTAL_SECONDS = 600.0
MAX_ABOVE_BASELINE_MB = 500.0


def _run_one(path: str, timeout: int) -> None:
    """Child mode: execute one notebook, print one JSON line with wall time and kernel peak."""
    import resource

    from sertutor.tutorials import NotebookError, execute_notebook

    t0 = time.perf_counter()
    error = ""
    try:
        execute_notebook(path, fast=False, timeout=timeout)
    except NotebookError as exc:
        error = str(exc)[-3000:]
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    print(json.dumps({"wall_s": round(wall, 1), "peak_mb": round(peak_kb / 1024, 0),
                      "error": error}))


def _baseline_notebook(folder: Path) -> Path:
    """A one-cell notebook that only imports torch: the kernel's baseline resident set."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    path = folder / "baseline_import_torch.ipynb"
    nbformat.write(nb, path)
    return path


def _child(path: Path, timeout: int, env: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", str(path),
                           "--timeout", str(timeout)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"wall_s": None, "peak_mb": None, "error": (proc.stderr or proc.stdout)[-3000:]}
    return json.loads(lines[-1])


def _prepare() -> float:
    """Corpora and feature caches as after Binder's postBuild (not part of the timings)."""
    t0 = time.perf_counter()
    code = ("import sertutor\nfrom sertutor.pipeline import prepare_data\n"
            "prepare_data(sertutor.get_config('classroom'), test_corpora=['synth-field'], "
            "progress=False)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", action="append", metavar="NN",
                        help="only this notebook (its number or file name; repeatable)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--name", default="notebooks", help="result file name")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one:
        _run_one(args.one, args.timeout)
        return 0

    from sertutor.tutorials import list_notebooks

    notebooks = list_notebooks()
    if args.notebook:
        notebooks = [p for p in notebooks
                     if any(p.name == n or p.stem == n or p.name.startswith(f"{n}_")
                            for n in args.notebook)]
    if not notebooks:
        raise SystemExit("no notebooks matched")
    prep_s = _prepare()
    env = dict(os.environ, SERTUTOR_FAST="0")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = _child(_baseline_notebook(Path(tmp)), args.timeout, env)
    base_mb = base["peak_mb"] or 0.0
    print(f"baseline kernel (import torch): {base_mb} MB", flush=True)
    rows = []
    for path in notebooks:
        result = _child(path, args.timeout, env)
        above = None if result["peak_mb"] is None else result["peak_mb"] - base_mb
        ok = (not result["error"] and result["wall_s"] <= MAX_SECONDS
              and result["peak_mb"] <= MAX_MB and above <= MAX_ABOVE_BASELINE_MB)
        rows.append({"notebook": path.name, **result, "above_baseline_mb": above,
                     "within_targets": ok})
        print(f"{path.name}: {result['wall_s']} s, kernel peak {result['peak_mb']} MB "
              f"({above} above baseline)"
              + (" FAILED" if result["error"] else "") + ("" if ok else "  (over target)"),
              flush=True)
        if result["error"]:
            print(result["error"], file=sys.stderr)

    total = sum(r["wall_s"] or 0 for r in rows)
    command = "python benchmarks/notebooks.py" + "".join(
        f" --notebook {n}" for n in (args.notebook or [])) + (
        f" --name {args.name}" if args.name != "notebooks" else "")
    summary = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_cpu()}",
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "threads": {k: os.environ.get(k, "") for k in ("OMP_NUM_THREADS",)},
        "preparation_seconds_not_timed": round(prep_s, 1),
        "baseline_import_torch_kernel_mb": base_mb,
        "targets": {"per_notebook_s": MAX_SECONDS, "per_notebook_mb": MAX_MB,
                    "per_notebook_above_baseline_mb": MAX_ABOVE_BASELINE_MB,
                    "sequence_s": MAX_TOTAL_SECONDS},
        "notebooks": rows,
        "total_s": round(total, 1),
        "all_within_targets": all(r["within_targets"] for r in rows)
        and total <= MAX_TOTAL_SECONDS,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Tutorial notebooks: wall time and kernel peak memory (classroom preset, FAST off)",
        "",
        f"Command: `{command}` ({summary['date']}; {summary['machine']}; load average after "
        f"the run {summary['load_average_after']}). Each notebook runs in a fresh kernel "
        "started by a fresh process; peak memory is the kernel's maximum resident set "
        "(`getrusage(RUSAGE_CHILDREN)` after it exits). Corpora and feature caches were "
        f"prepared first, as Binder's postBuild does ({summary['preparation_seconds_not_timed']}"
        " s, not timed).",
        "",
        f"Baseline: a fresh kernel that only runs `import torch` peaks at {base_mb:.0f} MB "
        "with the torch wheel installed here.",
        "",
        f"Targets: <= {MAX_SECONDS:.0f} s, <= {MAX_MB / 1024:.1f} GB and <= "
        f"{MAX_ABOVE_BASELINE_MB:.0f} MB above the baseline per notebook, "
        f"<= {MAX_TOTAL_SECONDS / 60:.0f} min for the sequence.",
        "",
        "| notebook | wall (s) | kernel peak (MB) | above baseline (MB) | within targets |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        status = "yes" if r["within_targets"] else ("**failed**" if r["error"] else "**no**")
        lines.append(f"| {r['notebook']} | {r['wall_s']} | {r['peak_mb']:.0f} | "
                     f"{r['above_baseline_mb']:.0f} | {status} |"
                     if r["peak_mb"] is not None else
                     f"| {r['notebook']} | - | - | - | {status} |")
    lines += ["", f"Sequence: {total:.0f} s ({total / 60:.1f} min) for {len(rows)} notebook(s)"
              + ("" if len(rows) >= 9 else " (a subset; run without --notebook for all)") + "."]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / (args.name + '.md')} and .json")
    return 0 if summary["all_within_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
