"""Training-step time of the classroom ``full`` model: sertutor's thread choice against torch's
default, on an idle machine and beside one busy process, interleaved.

    python benchmarks/threads.py [--steps 40] [--reps 2] [--out benchmarks/results/threads]

Run it on an otherwise quiet machine: the "idle" rows need one. In one process it prepares the
classroom data once, then for each repetition, load (idle / one busy single-thread process
started beside it) and arm, trains a fresh model for ``--warmup`` + ``--steps`` steps and records
the median step time of the timed steps. Arms:

- ``sertutor``: the default a student gets: the count :func:`sertutor.runtime.apply_num_threads`
  chooses (CPU budget and other processes' load), with the in-training governor;
- ``torch``: torch's own default (every core it sees), fixed;
- ``1 thread`` / ``2 threads``: fixed counts, for the "within 10 % of the faster" target.

Targets (issue #12): beside one busy process, ``sertutor`` at most 1.3x its own idle step time;
idle, within 10 % of the faster of 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

TORCH_DEFAULT = torch.get_num_threads()  # before sertutor chooses (sertutor.train import)

from sertutor import runtime  # noqa: E402
from sertutor.config import get_config  # noqa: E402
from sertutor.pipeline import build_model, prepare_data  # noqa: E402
from sertutor.train import Callback, Trainer  # noqa: E402

BUSY = "while True: pass"  # one single-threaded busy process


class StepTimer(Callback):
    """Wall time of every step after the warm-up."""

    def __init__(self, warmup: int):
        self.warmup, self.times, self.last = warmup, [], None

    def on_step_end(self, trainer, step, logs):
        now = time.perf_counter()
        if self.last is not None and step > self.warmup:
            self.times.append(now - self.last)
        self.last = now


def measure(data, arm: str, *, steps: int, warmup: int) -> dict:
    threads = {"sertutor": 0, "torch": TORCH_DEFAULT, "1 thread": 1, "2 threads": 2}[arm]
    cfg = get_config("classroom", train__steps=warmup + steps, train__eval_every=10_000,
                     train__num_threads=threads)
    if arm == "sertutor":  # what a fresh process does on import of the training code
        runtime._applied = None
        runtime.apply_num_threads(0)
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    timer = StepTimer(warmup)
    trainer = Trainer(model, data.streams, config=cfg, device="cpu", progress=False,
                      callbacks=[timer])
    trainer.fit()
    return {"median_ms": 1000 * statistics.median(timer.times),
            "threads": [list(t) for t in trainer.threads]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--arms", nargs="+", default=["sertutor", "torch", "1 thread", "2 threads"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/threads"))
    args = ap.parse_args()
    for var in runtime.THREAD_ENV_VARS:
        if os.environ.get(var):
            sys.exit(f"unset {var}: it would fix every arm's thread count")
    data = prepare_data(get_config("classroom"), progress=False)
    rows = []
    for rep in range(args.reps):
        for load in ("idle", "one busy process"):
            busy = subprocess.Popen([sys.executable, "-c", BUSY]) if load != "idle" else None
            try:
                time.sleep(0.5 if busy else 0.0)
                for arm in args.arms:
                    r = measure(data, arm, steps=args.steps, warmup=args.warmup)
                    rows.append({"rep": rep, "load": load, "arm": arm, **r})
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    summary = {}
    for arm in args.arms:
        for load in ("idle", "one busy process"):
            ms = [r["median_ms"] for r in rows if r["arm"] == arm and r["load"] == load]
            summary[f"{arm} | {load}"] = statistics.median(ms)
    own_ratio = summary["sertutor | one busy process"] / summary["sertutor | idle"]
    best_idle = min(summary.get("1 thread | idle", 1e9), summary.get("2 threads | idle", 1e9))
    idle_ratio = summary["sertutor | idle"] / best_idle
    torch_ratio = summary["torch | one busy process"] / summary["torch | idle"]
    result = {"command": "python " + " ".join(sys.argv), "budget": runtime.cpu_budget().describe(),
              "torch_default_threads": TORCH_DEFAULT, "rows": rows, "summary_ms": summary,
              "sertutor_busy_over_idle": own_ratio, "torch_busy_over_idle": torch_ratio,
              "sertutor_idle_over_best_fixed": idle_ratio}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["# Training-step time and CPU threads (classroom `full`, CPU)", "",
             f"Command: `{result['command']}`  ", f"CPU budget: {result['budget']}; torch's "
             f"default here: {TORCH_DEFAULT} threads. Median step time over "
             f"{args.steps} steps after {args.warmup} warm-up steps, median of {args.reps} "
             "interleaved repetitions.", "",
             "| arm | idle (ms) | one busy process (ms) | busy / idle |", "|---|---|---|---|"]
    for arm in args.arms:
        i, b = summary[f"{arm} | idle"], summary[f"{arm} | one busy process"]
        lines.append(f"| {arm} | {i:.0f} | {b:.0f} | {b / i:.2f}x |")
    lines += ["", f"- sertutor's default beside one busy process: {own_ratio:.2f}x its idle step "
              f"time (target at most 1.3x): **{'met' if own_ratio <= 1.3 else 'not met'}**.",
              f"- sertutor's default idle: {idle_ratio:.2f}x the faster fixed count (target "
              f"within 1.10x): **{'met' if idle_ratio <= 1.10 else 'not met'}**.",
              f"- torch's default beside one busy process: {torch_ratio:.2f}x its idle time."]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
