"""Diagnosis: the held-out UAR over training, next to the validation UAR that selects the weights.

    OMP_NUM_THREADS=1 python benchmarks/held_out_curve.py --models baseline full --fold 0 \\
        --seed 0 [--fraction 0.1] [--name held_out_curve]

Each model is trained the full schedule with no selection (``train.select = "last"``); every
``eval_every`` steps a callback scores the held-out test speakers as well as the validation
speaker. This only *looks* at the test set (nothing is chosen with it): it shows whether a
model's held-out UAR really falls after its early best validation step (training hurts), or
whether the validation speaker is too noisy to find the better weights (selection hurts).

Writes ``benchmarks/results/NAME.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sertutor.config import get_config
from sertutor.evaluate import evaluate_segments
from sertutor.pipeline import prepare_data, train_and_evaluate
from sertutor.storage import atomic_write_text, data_dir
from sertutor.train import Callback

RESULTS = Path(__file__).resolve().parent / "results"


class HeldOutCurve(Callback):
    """After each validation pass, also score the held-out test segments."""

    def __init__(self, test, emotions):
        self.test, self.emotions, self.rows = test, emotions, []

    def on_eval_end(self, trainer, step, metrics):
        was_training = trainer.model.training
        held_out = evaluate_segments(trainer.model, self.test, emotions=self.emotions,
                                     device=trainer.device)
        trainer.model.train(was_training)
        self.rows.append({"step": step, "val_uar": metrics["uar"],
                          "test_uar": held_out["uar"]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["baseline", "full"])
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--name", default="held_out_curve")
    args = ap.parse_args()
    out = {"command": "OMP_NUM_THREADS=1 python benchmarks/held_out_curve.py "
                      + " ".join(sys.argv[1:]), "curves": {}}
    for model in args.models:
        cfg = get_config("classroom", model__variant=model, train__select="last",
                         train__label_fraction=args.fraction, train__seed=args.seed)
        data = prepare_data(cfg, fold=args.fold, progress=False, data_dir=data_dir())
        curve = HeldOutCurve(data.test, data.label_maps.emotions)
        t0 = time.perf_counter()
        train_and_evaluate(cfg, data, progress=False, callbacks=[curve])
        out["curves"][model] = curve.rows
        print(model, f"{time.perf_counter() - t0:.0f} s", json.dumps(curve.rows), flush=True)
    lines = [f"# Held-out and validation UAR over training: {args.name}", "",
             f"Command: `{out['command']}`, {time.strftime('%Y-%m-%d')}, CPU. Classroom preset, "
             f"label fraction {args.fraction}, fold {args.fold}, seed {args.seed}, no selection "
             "(`train.select = \"last\"`). The validation UAR is what the default protocol "
             "selects on; the held-out UAR is only looked at.", "",
             "| step | " + " | ".join(f"{m} val | {m} held-out" for m in args.models) + " |",
             "|---|" + "---|---|" * len(args.models)]
    steps = [r["step"] for r in out["curves"][args.models[0]]]
    for i, step in enumerate(steps):
        cells = []
        for m in args.models:
            r = out["curves"][m][i] if i < len(out["curves"][m]) else {}
            cells += [f"{r.get('val_uar', float('nan')):.3f}",
                      f"{r.get('test_uar', float('nan')):.3f}"]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(out, indent=2))
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
