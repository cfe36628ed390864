"""Make the shipped pretrained checkpoint ``sertutor/pretrained/classroom.pt`` (+ ``.json``).

Trains (or takes a finished run of) ``sertutor train --preset classroom --model full --seed 0``
and keeps only what inference needs: the best validation weights, the config, the label maps
and the normalisation statistics. Optimiser state and history are dropped, so the file stays
small. The ``.json`` records the held-out test speakers and the metrics the model scored on them,
which ``tests/test_pretrained.py`` checks the shipped file still reproduces.

    python benchmarks/make_pretrained.py [--from-run runs/classroom]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sertutor" / "pretrained"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-run", type=Path, default=None,
                        help="a finished `sertutor train --preset classroom` output folder")
    args = parser.parse_args()
    from sertutor.jobs import run
    from sertutor.storage import atomic_write_text
    from sertutor.train import load_checkpoint, save_checkpoint

    run_dir = args.from_run
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="sertutor-pretrained-"))
        run("classroom", out_dir=run_dir, report=False)
    state = load_checkpoint(run_dir / "checkpoint.pt")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if json.loads(state["config"])["name"] != "classroom":
        raise SystemExit("the run must use the classroom preset")
    best = state["best_model"] if state["best_model"] is not None else state["model"]
    slim = {"format": state["format"], "config": state["config"], "meta": state["meta"],
            "model": best, "best_model": None, "opt": None, "opt_disc": None,
            "step": state["step"], "history": "[]", "evals": state["evals"],
            "best": state["best"], "rng_torch": state["rng_torch"],
            "rng_batches": state["rng_batches"]}
    save_checkpoint(PACKAGE / "classroom.pt", slim)
    record = {k: metrics[k] for k in ("uar", "wa", "macro_f1", "per_class_recall", "confusion",
                                      "labels")}
    record["cross_corpus"] = {k: {"uar": v["uar"], "wa": v["wa"]}
                              for k, v in metrics["cross_corpus"].items()}
    record["train"] = metrics["train"]
    record["made_by"] = "python benchmarks/make_pretrained.py" + (
        " --from-run <output of `sertutor train`>" if args.from_run else "")
    record["test"] = {"corpus": "synth-emo", "preset": "classroom", "fold": 0, "n_folds": 5,
                      "seed": 0, "n_utterances": metrics["data"]["emotion_test_utterances"]}
    atomic_write_text(PACKAGE / "classroom.json", json.dumps(record, indent=2))
    print(f"wrote {PACKAGE / 'classroom.pt'} "
          f"({(PACKAGE / 'classroom.pt').stat().st_size / 1e6:.1f} MB) and classroom.json")


if __name__ == "__main__":
    main()
