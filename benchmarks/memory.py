"""Where the memory of a classroom training run goes, stage by stage, above ``import torch``.

    python benchmarks/memory.py [--out benchmarks/results/memory]

Binder's free tier gives 2 GB for the Jupyter server and every open kernel together. What a
kernel costs depends on the torch wheel (``import torch`` alone is about 650 MB resident with
the CUDA wheel ``pip install`` gives, about 220 MB with the CPU wheel Binder installs), so the
numbers here are counted **above** the resident set right after ``import torch`` in the same
process. Two measurements:

1. **stages**, in this process, as ``sertutor train`` runs them: imports, corpora, features
   and segments (``prepare_data``), model, training, evaluation, report (with UMAP); the
   resident set after each, and the peak so far (``VmHWM``);
2. **``sertutor train``** as a user runs it (classroom preset, a fresh process): its peak
   resident set, and the same kind of process's resident set after ``import torch``.

Target (issue #12): at most 500 MB above the baseline for ``sertutor train`` and for every
notebook kernel (``benchmarks/notebooks.py`` records the notebooks the same way).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 2**20


def baseline_rss() -> int:
    """Resident set of a fresh Python process right after ``import torch`` (bytes)."""
    code = ("import torch\nfrom sertutor.runtime import rss_bytes\nprint(rss_bytes())")
    return int(subprocess.check_output([sys.executable, "-c", code], text=True).strip())


def stages() -> list[dict]:
    import torch  # noqa: F401  (the baseline)

    from sertutor.runtime import rss_bytes

    rows = []

    def mark(stage: str) -> None:
        rows.append({"stage": stage, "rss_mb": rss_bytes() / MB,
                     "peak_mb": rss_bytes(peak=True) / MB})
        print(json.dumps(rows[-1]), flush=True)

    mark("import torch")
    from sertutor.config import get_config
    from sertutor.data import load_corpus
    from sertutor.pipeline import prepare_data, train_and_evaluate

    mark("import sertutor (training code)")
    cfg = get_config("classroom")
    for name in ("synth-emo", "synth-aux", "synth-field"):
        load_corpus(name)
    mark("corpora (manifests)")
    data = prepare_data(cfg, test_corpora=["synth-field"], progress=False)
    mark("features + segments (prepare_data)")
    with tempfile.TemporaryDirectory() as out:
        trainer, metrics = train_and_evaluate(cfg, data, out_dir=out, progress=False)
        mark("model + training + evaluation")
        from sertutor.report import write_report

        write_report(Path(out) / "report.html", trainer=trainer, data=data, metrics=metrics)
        mark("report (UMAP)")
    return rows


def train_command_peak() -> tuple[int, float]:
    """Peak resident set (bytes) of ``sertutor train`` in a fresh process, and its seconds."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sertutor", "train", "--quiet", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/memory"))
    ap.add_argument("--skip-stages", action="store_true")
    args = ap.parse_args()
    base = baseline_rss()
    rows = [] if args.skip_stages else stages()
    peak, seconds = train_command_peak()
    result = {"command": "python " + " ".join(sys.argv), "baseline_import_torch_mb": base / MB,
              "stages": rows, "train_peak_mb": peak / MB,
              "train_above_baseline_mb": (peak - base) / MB, "train_seconds": seconds,
              "torch_threads_env": os.environ.get("OMP_NUM_THREADS", "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["# Memory of a classroom run, above `import torch`", "",
             f"Command: `{result['command']}`  ",
             f"Baseline (a fresh process after `import torch`): {base / MB:.0f} MB.", ""]
    if rows:
        first = rows[0]["rss_mb"]
        lines += ["| stage | resident (MB) | above baseline (MB) | peak so far above baseline "
                  "(MB) |", "|---|---|---|---|"]
        lines += [f"| {r['stage']} | {r['rss_mb']:.0f} | {r['rss_mb'] - first:.0f} | "
                  f"{r['peak_mb'] - first:.0f} |" for r in rows]
        lines.append("")
    verdict = "met" if peak - base <= 500 * MB else "not met"
    lines.append(f"`sertutor train` (classroom, fresh process): peak {peak / MB:.0f} MB, "
                 f"**{(peak - base) / MB:.0f} MB above the baseline** (target at most 500 MB: "
                 f"**{verdict}**), {seconds:.0f} s.")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
