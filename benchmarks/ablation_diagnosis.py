"""Benchmark: why does the full model not beat the baseline at label fraction 0.1?

Each hypothesis is one set of config overrides of the classroom preset, trained at the same
label fraction, seeds and test folds as ``benchmarks/ablation.py`` (seed s = test fold s), so
its UAR can be compared with the ablation's rows seed by seed (a paired comparison: the folds'
own difficulty cancels).

    OMP_NUM_THREADS=1 python benchmarks/ablation_diagnosis.py --name weights \\
        --variant full --set train__w_recon=0.1 --set train__w_adv=1.0

Writes ``benchmarks/results/diagnosis_NAME.json`` and ``.md`` with the command.

With ``--probe`` it also trains each run's model once more and reports what the categorical
code ``y`` captures on the held-out speakers: the adjusted mutual information of ``argmax y``
with emotion, gender and speaker (sklearn), to test whether reconstruction pulls ``y`` towards
speaker traits instead of emotion.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--set expects section__field=value, got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _probe(model, data) -> dict[str, float]:
    """Adjusted mutual information of argmax y (per utterance) with the test labels."""
    from sklearn.metrics import adjusted_mutual_info_score

    from sertutor.evaluate import pool_utterances, predict

    seg = data.test
    out = predict(model, seg)
    rows, y = pool_utterances(out["y_prob"], seg.utt)  # rows of manifests["emotion_test"]
    code = y.argmax(1)
    # the emotion corpus's own labels (its speakers are not in the aux speaker label map)
    truth = data.manifests["emotion_test"].iloc[rows]
    return {f"ami_{name}": float(adjusted_mutual_info_score(truth[name].to_numpy(), code))
            for name in ("emotion", "gender", "speaker")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--variant", default="full")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="SECTION__FIELD=VALUE")
    parser.add_argument("--probe", action="store_true")
    args = parser.parse_args()
    overrides = _parse_set(args.set)

    from sertutor.config import get_config
    from sertutor.pipeline import prepare_data, train_and_evaluate

    rows, t0 = [], time.perf_counter()
    for seed in args.seeds:
        cfg = get_config("classroom", train__label_fraction=args.fraction, train__seed=seed,
                         model__variant=args.variant, **overrides)
        data = prepare_data(cfg, fold=seed, progress=False)
        t1 = time.perf_counter()
        trainer, metrics = train_and_evaluate(cfg, data, device="cpu", progress=False)
        row = {"seed": seed, "uar": metrics["uar"], "wa": metrics["wa"],
               "best_step": metrics["train"]["best_step"], "steps": metrics["train"]["steps"],
               "seconds": round(time.perf_counter() - t1, 1)}
        if args.probe:
            row.update(_probe(trainer.model, data))
        rows.append(row)
        print(json.dumps(row), flush=True)
    uars = np.array([r["uar"] for r in rows])
    result = {"name": args.name, "variant": args.variant, "fraction": args.fraction,
              "overrides": overrides, "rows": rows, "uar_mean": float(uars.mean()),
              "uar_std": float(uars.std(ddof=1)) if len(uars) > 1 else 0.0,
              "seconds": round(time.perf_counter() - t0, 1)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"diagnosis_{args.name}.json").write_text(json.dumps(result, indent=2))
    lines = [f"# Ablation diagnosis: {args.name}", "",
             f"Command: `python benchmarks/ablation_diagnosis.py {' '.join(sys.argv[1:])}`, "
             f"{result['seconds']:.0f} s, {time.strftime('%Y-%m-%d')}.", "",
             f"Variant `{args.variant}`, label fraction {args.fraction}, overrides "
             f"`{overrides}`: held-out UAR {result['uar_mean']:.3f} ± {result['uar_std']:.3f}.",
             "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    for r in rows:
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                       for v in r.values()) + " |")
    (RESULTS / f"diagnosis_{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
