"""Where the memory of a classroom training run goes, stage by stage, above ``import torch``.

    python benchmarks/memory.py [--out benchmarks/results/memory] [--skip-stages]

Binder's free tier gives 2 GB for the Jupyter server and every open kernel together. What a
kernel costs depends on the torch wheel (``import torch`` alone is about 650 MB resident with
the CUDA wheel ``pip install`` gives, about 220 MB with the CPU wheel Binder installs), so the
numbers here are counted **above** the resident set right after ``import torch`` in the same
kind of process. Two measurements:

1. **stages**, in a fresh process, in the order :func:`sertutor.jobs.run` (``sertutor train``)
   runs them: imports, corpora (manifests), features and segments (``prepare_data``), model
   and optimisers, training, evaluation, report (the map's utterances taken, the run's data
   freed, UMAP). For each stage: the resident set after it, and the stage's own peak (the
   peak counter ``VmHWM`` is reset before each stage with
   :func:`sertutor.runtime.reset_peak_rss` where the kernel allows it, else the peak so far);
2. **``sertutor train``** as a user runs it (classroom preset, a fresh process): its peak
   resident set, minus the resident set of a fresh process right after ``import torch``.

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
TARGET_MB = 500


def baseline_rss() -> int:
    """Resident set of a fresh Python process right after ``import torch`` (bytes)."""
    code = "import torch\nfrom sertutor.runtime import rss_bytes\nprint(rss_bytes())"
    return int(subprocess.check_output([sys.executable, "-c", code], text=True).strip())


def stages() -> list[dict]:
    """Run ``sertutor train``'s stages in this process; one row per stage."""
    import torch  # noqa: F401  (the baseline)

    from sertutor.runtime import release_memory, reset_peak_rss, rss_bytes

    rows: list[dict] = []
    resettable = reset_peak_rss()
    t0 = time.perf_counter()

    def mark(stage: str) -> None:
        nonlocal t0
        rows.append({"stage": stage, "rss_mb": rss_bytes() / MB,
                     "peak_mb": rss_bytes(peak=True) / MB,
                     "seconds": round(time.perf_counter() - t0, 1)})
        print(json.dumps(rows[-1]), flush=True)
        reset_peak_rss()
        t0 = time.perf_counter()

    mark("import torch")
    from sertutor.checkpoint import build_model, run_meta
    from sertutor.config import get_config
    from sertutor.data import load_corpus
    from sertutor.evaluate import evaluate_all
    from sertutor.jobs import _seed_everything
    from sertutor.pipeline import prepare_data
    from sertutor.report import report_utterances, write_report
    from sertutor.train import Trainer

    mark("import sertutor (training code)")
    cfg = get_config("classroom")
    for name in ("synth-emo", "synth-aux", "synth-field"):
        load_corpus(name)
    mark("corpora (manifests)")
    data = prepare_data(cfg, test_corpora=["synth-field"], progress=False)
    mark("features + segments (prepare_data)")
    with tempfile.TemporaryDirectory() as out:
        _seed_everything(cfg.train.seed)
        model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
        trainer = Trainer(model, data.streams, config=cfg, out_dir=out,
                          meta=run_meta(cfg, data, {}), progress=False)
        mark("model + optimisers")
        trainer.fit()
        mark("training")
        metrics = evaluate_all(trainer.model, data, device=trainer.device)
        mark("evaluation")
        metrics["config"] = cfg.to_dict()
        utterances = report_utterances(trainer.model, data)
        trainer.streams = None
        del data
        release_memory()
        write_report(Path(out) / "report.html", trainer=trainer, metrics=metrics,
                     utterances=utterances)
        mark("report (data freed, UMAP)")
    for row in rows:
        row["peak_is_per_stage"] = resettable
    return rows


def train_command_peak(keep: Path | None = None) -> tuple[int, float]:
    """Peak resident set (bytes) of ``sertutor train`` in a fresh process, and its seconds.

    ``keep``: the run folder to write (and keep, e.g. to compare its ``metrics.json`` with an
    earlier run's); default a temporary one.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = str(keep) if keep is not None else tmp
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sertutor", "train", "--quiet", "--overwrite",
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/memory"))
    ap.add_argument("--skip-stages", action="store_true",
                    help="only measure the sertutor train command")
    ap.add_argument("--train-out", type=Path, default=None,
                    help="keep the sertutor train run in this folder (default: a temporary "
                         "one)")
    args = ap.parse_args()
    base = baseline_rss()
    # first: getrusage(RUSAGE_CHILDREN) is the largest child so far (the baseline's is smaller)
    peak, seconds = train_command_peak(args.train_out)
    rows: list[dict] = []
    if not args.skip_stages:  # in a fresh process: this one has imported nothing heavy
        code = ("import json, sys\nsys.path.insert(0, 'benchmarks')\nimport memory\n"
                "print('ROWS ' + json.dumps(memory.stages()))")
        text = subprocess.check_output([sys.executable, "-c", code], text=True)
        rows = json.loads(text.split("ROWS ", 1)[1])
    result = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M"),
              "baseline_import_torch_mb": base / MB, "stages": rows, "train_peak_mb": peak / MB,
              "train_above_baseline_mb": (peak - base) / MB, "train_seconds": seconds,
              "target_above_baseline_mb": TARGET_MB,
              "torch_threads_env": os.environ.get("OMP_NUM_THREADS", "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["# Memory of a classroom run, above `import torch`", "",
             f"Command: `{result['command']}` ({result['date']}; "
             f"OMP_NUM_THREADS={result['torch_threads_env'] or 'unset'}).  ",
             f"Baseline (a fresh process after `import torch`): {base / MB:.0f} MB.", ""]
    if rows:
        first = rows[0]["rss_mb"]
        per_stage = rows[0].get("peak_is_per_stage", False)
        peak_title = "stage's own peak" if per_stage else "peak so far"
        lines += [f"Stages of `sertutor train`, in one fresh process ({peak_title}: "
                  + ("`VmHWM` reset before each stage" if per_stage else "`VmHWM`") + "):", "",
                  f"| stage | resident after (MB) | above baseline (MB) | {peak_title} above "
                  "baseline (MB) | seconds |", "|---|---|---|---|---|"]
        lines += [f"| {r['stage']} | {r['rss_mb']:.0f} | {r['rss_mb'] - first:.0f} | "
                  f"{r['peak_mb'] - first:.0f} | {r['seconds']:.0f} |" for r in rows]
        lines.append("")
    verdict = "met" if peak - base <= TARGET_MB * MB else "not met"
    lines.append(f"`sertutor train` (classroom, fresh process): peak {peak / MB:.0f} MB, "
                 f"**{(peak - base) / MB:.0f} MB above the baseline** (target at most "
                 f"{TARGET_MB} MB: **{verdict}**), {seconds:.0f} s.")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
