"""Benchmark: the main job, ``sertutor train`` with the classroom preset, timed end to end.

Runs the command exactly as a user would (fresh data dir, so corpus generation and feature
extraction are included), then records wall time, the phases' times and the metrics in
``benchmarks/results/train_classroom.md`` and ``.json``.

    python benchmarks/train_classroom.py [--keep-data]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-data", action="store_true",
                        help="reuse the default data dir (skip generation if present)")
    parser.add_argument("--model", default="full")
    args = parser.parse_args()
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="sertutor-bench-")
    if not args.keep_data:
        env["SERTUTOR_DATA_DIR"] = tmp
    out = Path(tmp) / "run"
    cmd = ["sertutor", "train", "--preset", "classroom", "--model", args.model, "--out",
           str(out), "--quiet", "--device", "cpu"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"sertutor train failed:\n{proc.stderr[-4000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    record = {
        "command": " ".join(cmd),
        "fresh_data_dir": not args.keep_data,
        "wall_seconds": round(wall, 1),
        "data_seconds": metrics["data"]["seconds"],
        "train_seconds": metrics["train"]["seconds"],
        "steps": metrics["train"]["steps"],
        "best_step": metrics["train"]["best_step"],
        "stopped_early": metrics["train"]["stopped_early"],
        "uar": round(metrics["uar"], 4),
        "wa": round(metrics["wa"], 4),
        "cross_corpus_uar": {k: round(v["uar"], 4) for k, v in metrics["cross_corpus"].items()},
        "speaker_accuracy": metrics.get("speaker_accuracy"),
        "gender_accuracy": metrics.get("gender_accuracy"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"train_classroom_{args.model}.json").write_text(json.dumps(record, indent=2))
    lines = [f"# `sertutor train` with the classroom preset ({args.model} model)", "",
             f"Command: `python benchmarks/train_classroom.py --model {args.model}` "
             f"(runs `{record['command']}`"
             f"{' in a fresh data dir' if not args.keep_data else ''}).", "",
             "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in record.items() if k != "command"]
    (RESULTS / f"train_classroom_{args.model}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
