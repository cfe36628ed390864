"""How much does the live TrainingDashboard slow training down? (issue #6: at most 10 %)

Trains the classroom ``full`` model on the classroom corpora for ``--steps`` steps (default
150) and measures the dashboard's cost three ways:

1. **Interleaved steps** (the main number): one run in which the dashboard is switched on
   and off in blocks of ``--block`` steps. Every step is timed (training step plus callback,
   validation excluded), so on- and off-blocks share the machine's load at the same moments;
   the slowdown is mean step time with / without - 1. A shared machine's load changes from
   minute to minute, which makes comparing whole runs unreliable; interleaving cancels that.
2. **Time inside the dashboard's hooks** as a share of the training time (what the
   dashboard itself adds; it counts redraws but not work in other processes).
3. **Whole runs**, ``--repeats`` pairs with and without the dashboard in alternating order:
   the plain comparison, reported for completeness (noisy under load).

By default everything runs inside a real Jupyter kernel (through nbclient, which plays the
browser's part and receives every widget message), so the cost of serialising and sending
figure updates over the widget comm is included, as in a notebook. ``--in-process`` runs in
this process instead (no comm). Writes ``benchmarks/results/dashboard_overhead.md`` and
``.json``. Run it with one thread:

    OMP_NUM_THREADS=1 python benchmarks/dashboard_overhead.py [--steps 150] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


class _Interleave:
    """A callback that forwards to the dashboard in every other block and times each step."""

    def __init__(self, dash, block: int):
        self.dash, self.block = dash, block
        self.times = {True: [], False: []}  # dashboard on? -> step seconds
        self.blocks: dict[int, list[float]] = {}  # block index -> its step seconds
        self._last = None
        self._skip_next = False

    def _on(self, step: int) -> bool:
        return ((step - 1) // self.block) % 2 == 0

    def on_train_start(self, trainer):
        self.dash.on_train_start(trainer)
        self._last = time.perf_counter()

    def on_step_end(self, trainer, step, logs):
        on = self._on(step)
        if on:
            self.dash.on_step_end(trainer, step, logs)
        now = time.perf_counter()
        if not self._skip_next:  # the step after a validation pass includes it: left out
            self.times[on].append(now - self._last)
            self.blocks.setdefault((step - 1) // self.block, []).append(now - self._last)
        self._skip_next = False
        self._last = now

    def on_eval_end(self, trainer, step, metrics):
        self.dash.on_eval_end(trainer, step, metrics)
        self._skip_next = True

    def on_train_end(self, trainer):
        self.dash.on_train_end(trainer)

    def paired_slowdowns(self) -> list[float]:
        """Per pair of neighbouring blocks (on, then off): mean step on / mean off - 1."""
        out = []
        for k in range(0, max(self.blocks, default=-1) + 1, 2):
            on, off = self.blocks.get(k), self.blocks.get(k + 1)
            if on and off:
                out.append(statistics.fmean(on) / statistics.fmean(off) - 1)
        return out


def measure(*, steps: int = 150, repeats: int = 1, block: int = 5, eval_every: int = 50,
            min_interval: float = 0.5, display_widget: bool = False) -> dict:
    """Train with and without the dashboard; return the timings (seconds) as a dict."""
    import torch

    from sertutor.config import get_config
    from sertutor.pipeline import build_model, prepare_data
    from sertutor.train import Trainer
    from sertutor.widgets.dashboard import TrainingDashboard

    cfg = get_config("classroom", train__steps=steps, train__eval_every=eval_every)
    t0 = time.perf_counter()
    data = prepare_data(cfg, progress=False)
    data_s = time.perf_counter() - t0

    def dashboard():
        dash = TrainingDashboard(min_interval=min_interval)
        if display_widget:
            from IPython.display import display

            display(dash)
        return dash

    def train(callbacks):
        torch.manual_seed(cfg.train.seed)
        model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
        return Trainer(model, data.streams, config=cfg, device="cpu", callbacks=callbacks,
                       progress=False).fit()

    # 1. interleaved blocks in one run
    dash = dashboard()
    inter = _Interleave(dash, block)
    trainer = train([inter])
    mean_on = statistics.fmean(inter.times[True])
    pairs = inter.paired_slowdowns()
    half_ci = 1.96 * statistics.stdev(pairs) / len(pairs) ** 0.5 if len(pairs) > 1 else None
    mean_off = statistics.fmean(inter.times[False])
    interleaved = {"steps_on": len(inter.times[True]), "steps_off": len(inter.times[False]),
                   "mean_step_s_on": round(mean_on, 4), "mean_step_s_off": round(mean_off, 4),
                   "median_step_s_on": round(statistics.median(inter.times[True]), 4),
                   "median_step_s_off": round(statistics.median(inter.times[False]), 4),
                   "slowdown": round(mean_on / mean_off - 1, 4),
                   "paired_blocks": len(pairs),
                   "paired_mean": round(statistics.fmean(pairs), 4) if pairs else None,
                   "paired_95ci_half_width": round(half_ci, 4) if half_ci else None,
                   "redraws": dash.n_updates, "callback_s": round(dash.seconds_in_callbacks, 3),
                   "train_s": round(trainer.train_seconds, 2)}
    print(json.dumps({"interleaved": interleaved}), flush=True)

    # 2. and 3. whole runs, alternating order
    runs: list[dict] = []
    for r in range(repeats):
        for mode in (("without", "with") if r % 2 == 0 else ("with", "without")):
            callbacks = [dashboard()] if mode == "with" else []
            trainer = train(callbacks)
            run = {"mode": mode, "train_s": trainer.train_seconds, "steps": trainer.step_count}
            if callbacks:
                run.update(callback_s=callbacks[0].seconds_in_callbacks,
                           redraws=callbacks[0].n_updates)
            runs.append(run)
            print(json.dumps(run), flush=True)
    without = [r["train_s"] for r in runs if r["mode"] == "without"]
    with_ = [r["train_s"] for r in runs if r["mode"] == "with"]
    inside = [r["callback_s"] / r["train_s"] for r in runs if r["mode"] == "with"]
    return {
        "steps": steps, "repeats": repeats, "block": block, "eval_every": eval_every,
        "min_interval": min_interval, "data_seconds": round(data_s, 2),
        "interleaved": interleaved,
        "train_seconds_without": [round(x, 2) for x in without],
        "train_seconds_with": [round(x, 2) for x in with_],
        "slowdown_whole_runs": round(statistics.median(with_) / statistics.median(without)
                                     - 1, 4) if runs else None,
        "share_in_callbacks": round(statistics.median(inside), 4) if inside else None,
        "redraws_whole_runs": [r["redraws"] for r in runs if r["mode"] == "with"],
        "torch_threads": torch.get_num_threads(),
    }


def in_kernel(args) -> dict:
    """Run :func:`measure` inside a Jupyter kernel via nbclient; return its result."""
    import nbformat
    from nbclient import NotebookClient

    code = (f"import sys, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
            "from dashboard_overhead import measure\n"
            f"result = measure(steps={args.steps}, repeats={args.repeats}, block={args.block}, "
            f"eval_every={args.eval_every}, min_interval={args.min_interval}, "
            "display_widget=True)\n"
            "print('RESULT ' + json.dumps(result))")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    for out in nb.cells[0].outputs:
        for line in out.get("text", "").splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
            if line.startswith("{"):
                print(line)
    raise RuntimeError(f"no result from the kernel: {nb.cells[0].outputs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=1, help="pairs of whole runs")
    parser.add_argument("--block", type=int, default=5, help="steps per on/off block")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--min-interval", type=float, default=0.5)
    parser.add_argument("--in-process", action="store_true",
                        help="run here instead of inside a Jupyter kernel (no widget comm)")
    args = parser.parse_args()
    opts = {"steps": args.steps, "repeats": args.repeats, "block": args.block,
            "eval_every": args.eval_every, "min_interval": args.min_interval}
    result = measure(**opts) if args.in_process else in_kernel(args)
    where = "in this process (no widget comm)" if args.in_process else \
        "inside a Jupyter kernel driven by nbclient (widget messages sent and received)"
    command = "OMP_NUM_THREADS={} python benchmarks/dashboard_overhead.py{}{}".format(
        os.environ.get("OMP_NUM_THREADS", "<unset>"),
        "".join(f" --{k.replace('_', '-')} {v}" for k, v in opts.items()),
        " --in-process" if args.in_process else "")
    result.update(command=command, where=where, python=sys.version.split()[0],
                  machine=f"{platform.processor() or platform.machine()}, "
                          f"{os.cpu_count()} logical CPUs (shared with other jobs)",
                  date=time.strftime("%Y-%m-%d"))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_overhead.json").write_text(json.dumps(result, indent=2))
    it = result["interleaved"]
    setup = (f"The classroom `full` model on the classroom corpora, {result['steps']} steps "
             f"per run (validation every {result['eval_every']}), dashboard with "
             f"`min_interval={result['min_interval']}`, {where}.")
    inter = (f"**Interleaved** (main number): one run, the dashboard switched on and off in "
             f"blocks of {result['block']} steps; each step timed (training step + "
             f"callback; the step after a validation pass left out).")
    whole = (f"**Whole runs**: {result['repeats']} pair(s) with and without the dashboard, "
             f"alternating order; `Trainer.train_seconds`.")
    note = ("On a machine shared with other jobs whole runs differ by tens of percent from "
            "minute to minute, so their difference is noise; the interleaved comparison and "
            "the share of time inside the dashboard's hooks are the honest measures.")
    pct = f"{it['slowdown']:+.1%}"
    share = "n/a" if result["share_in_callbacks"] is None else \
        f"{result['share_in_callbacks']:.2%}"
    whole_pct = "n/a" if result["slowdown_whole_runs"] is None else \
        f"{result['slowdown_whole_runs']:+.1%}"
    lines = [
        "# TrainingDashboard overhead", "",
        f"Command: `{command}`", "",
        setup, "", inter, "", whole, "",
        "| measure | value |", "|---|---|",
        "| interleaved: mean step time with / without dashboard (s) | "
        + f"{it['mean_step_s_on']} / {it['mean_step_s_off']} |",
        "| interleaved: median step time with / without (s) | "
        + f"{it['median_step_s_on']} / {it['median_step_s_off']} |",
        f"| **interleaved slowdown (mean with / mean without - 1)** | **{pct}** |",
        f"| interleaved: steps timed with / without | {it['steps_on']} / {it['steps_off']} |",
        "| interleaved: mean over neighbouring block pairs, 95 % interval | "
        + (f"{it['paired_mean']:+.1%} ± {it['paired_95ci_half_width']:.1%} "
           f"({it['paired_blocks']} pairs) |" if it["paired_95ci_half_width"] else "n/a |"),
        "| interleaved: redraws, seconds inside the hooks | "
        + f"{it['redraws']}, {it['callback_s']} of {it['train_s']} s |",
        f"| whole runs: training seconds without | {result['train_seconds_without']} |",
        f"| whole runs: training seconds with | {result['train_seconds_with']} |",
        f"| whole runs: slowdown (median with / median without - 1) | {whole_pct} |",
        f"| whole runs: time inside the dashboard's hooks / training time | {share} |",
        f"| whole runs: redraws per run | {result['redraws_whole_runs']} |",
        f"| torch threads | {result['torch_threads']} |",
        f"| machine | {result['machine']} |",
        f"| date | {result['date']} |", "",
        note, ""]
    (RESULTS / "dashboard_overhead.md").write_text("\n".join(lines))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
