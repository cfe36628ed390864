"""Benchmark: many training arms, paired by test fold and seed, run in parallel processes.

An *arm* is a model variant plus config overrides of a preset (``benchmarks/sweeps/*.json``).
Every arm is trained on every (fold, seed) pair; an arm's gain over the reference arm is taken
pair by pair (:func:`sertutor.experiments.paired_gains`), so the test speakers' own difficulty
cancels. Runs are spread over ``--workers`` processes, each with one CPU thread; on a GPU
machine the workers share the GPU (the classroom model is too small to fill it alone).

    python benchmarks/sweep.py --arms benchmarks/sweeps/semi_supervision.json \\
        --name semi_supervision --device cuda --workers 12 --folds 0 1 2 3 4 --seeds 0 1

An arms file is ``{"preset": "classroom", "reference": "baseline", "fraction": 0.1,
"arms": {"NAME": {"variant": "full", "overrides": {"train__w_adv": 1.0}}, ...}}``; an optional
``"test_corpora": ["synth-field"]`` adds each run's cross-corpus UAR (``cross_uar``) to its row;
an arm's optional ``"emotion_corpus": "ravdess:DIR"`` trains and tests it on another corpus
(default ``synth-emo``).

Seed ``s`` fixes initialisation, data order, the label subset and the partition of speakers
into folds; fold ``f`` picks which part is the test set. Choose settings on some seeds and
confirm them on fresh ones: the best of many arms on the same pairs is biased upwards.

Writes ``benchmarks/results/sweep_NAME.json`` and ``.md``, with the command.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _worker_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def _arm_config(preset: str, spec: dict, *, fraction: float, seed: int = 0):
    """The config of one arm; an arm's own overrides win over the file's fraction."""
    from sertutor.config import get_config

    overrides = {"model__variant": spec.get("variant", "full"),
                 "train__label_fraction": fraction, "train__seed": seed,
                 **spec.get("overrides", {})}
    return get_config(preset, **overrides)


def run_arm(preset: str, arm: str, spec: dict, *, fraction: float, fold: int, seed: int,
            device: str, test_corpora: tuple = ()) -> dict:
    """Train one arm on one (fold, seed) pair; return its held-out scores.

    With ``test_corpora`` the row also has ``cross_uar``: corpus spec -> UAR on it.
    """
    from sertutor.pipeline import prepare_data, train_and_evaluate
    from sertutor.storage import data_dir

    cfg = _arm_config(preset, spec, fraction=fraction, seed=seed)
    t0 = time.perf_counter()
    data = prepare_data(cfg, fold=fold, progress=False, data_dir=data_dir(),
                        emotion_corpus=spec.get("emotion_corpus", "synth-emo"),
                        test_corpora=tuple(test_corpora))
    trainer, metrics = train_and_evaluate(cfg, data, device=device, progress=False)
    import torch

    where = (torch.cuda.get_device_name(trainer.device) if trainer.device.type == "cuda"
             else "CPU")
    row = {"arm": arm, "fraction": cfg.train.label_fraction, "fold": fold, "seed": seed,
           "uar": metrics["uar"], "wa": metrics["wa"],
           "best_step": metrics["train"]["best_step"], "steps": metrics["train"]["steps"],
           "seconds": round(time.perf_counter() - t0, 1), "device": where}
    if test_corpora:
        row["cross_uar"] = {k: v["uar"] for k, v in metrics["cross_corpus"].items()}
    return row


def run_all(preset: str, arms: dict, *, fraction: float, folds: list[int], seeds: list[int],
            device: str, workers: int, name: str, skip: set = frozenset(),
            test_corpora: tuple = ()) -> list[dict]:
    """Every arm on every (fold, seed), over ``workers`` processes; rows as they finish."""
    from sertutor.pipeline import prepare_data
    from sertutor.storage import data_dir

    # corpora and feature caches are made once here, so the workers only read them
    made = set()
    for spec in arms.values():
        cfg = _arm_config(preset, spec, fraction=fraction)
        corpus = spec.get("emotion_corpus", "synth-emo")
        key = json.dumps([cfg.to_dict()["synth"], cfg.to_dict()["features"], corpus],
                         sort_keys=True)
        if key not in made:
            made.add(key)
            prepare_data(cfg, progress=False, data_dir=data_dir(), emotion_corpus=corpus,
                         test_corpora=tuple(test_corpora))
    # pairs outermost: a run cut short still leaves whole pairs to compare
    jobs = [(arm, fold, seed) for seed in seeds for fold in folds for arm in arms
            if (arm, fold, seed) not in skip]
    RESULTS.mkdir(exist_ok=True)
    partial = RESULTS / f"sweep_{name}.partial.jsonl"  # one line per finished run
    partial.unlink(missing_ok=True)
    rows = []
    # spawned, not forked: a forked child cannot use CUDA once the parent has touched it
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                             mp_context=ctx) as pool:
        futures = {pool.submit(run_arm, preset, arm, arms[arm], fraction=fraction, fold=fold,
                               seed=seed, device=device, test_corpora=tuple(test_corpora)):
                   (arm, fold, seed)
                   for arm, fold, seed in jobs}
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except Exception as exc:  # one failed arm must not lose the others' results
                arm, fold, seed = futures[fut]
                print(f"FAILED {arm} fold {fold} seed {seed}: {exc!r}", flush=True)
                continue
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(partial, "a") as f:
                f.write(json.dumps(row) + "\n")
    return rows


def read_rows(path: str | Path) -> list[dict]:
    """The runs of a sweep: its ``sweep_NAME.json`` or its ``.partial.jsonl``."""
    text = Path(path).read_text()
    if str(path).endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)["rows"]


def summarise(rows: list[dict], *, arms: dict, reference: str) -> tuple[list[dict], str]:
    """Per-arm mean UAR and paired gain over ``reference``; and the Markdown table."""
    from sertutor.experiments import paired_gains

    gains = {g["arm"]: g for g in paired_gains(rows, reference=reference, group="arm",
                                                 pair=("fold", "seed"), by=())}
    table = []
    for arm, spec in arms.items():
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        uar = np.array([r["uar"] for r in mine])
        g = gains.get(arm, {})
        table.append({"arm": arm, "variant": spec.get("variant", "full"),
                      "overrides": spec.get("overrides", {}), "n": len(mine),
                      "uar_mean": float(uar.mean()),
                      "uar_std": float(uar.std(ddof=1)) if len(uar) > 1 else 0.0,
                      "best_step_mean": float(np.mean([r["best_step"] for r in mine])),
                      **{k: g[k] for k in ("gain_mean", "gain_se", "wins") if k in g}})
    lines = [f"| arm | variant | overrides | n | UAR mean ± sd | gain over {reference} "
             "(± se) | wins | mean best step |", "|---|---|---|---|---|---|---|---|"]
    for t in table:
        gain = (f"{t['gain_mean']:+.3f} ± {t['gain_se']:.3f}" if "gain_mean" in t
                else "(reference)")
        over = ", ".join(f"{k}={v}" for k, v in t["overrides"].items()) or "–"
        wins = f"{t['wins']}/{t['n']}" if "wins" in t else "–"
        lines.append(f"| {t['arm']} | {t['variant']} | {over} | {t['n']} | "
                     f"{t['uar_mean']:.3f} ± {t['uar_std']:.3f} | {gain} | {wins} | "
                     f"{t['best_step_mean']:.0f} |")
    return table, "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", required=True, help="JSON file of arms (see the docstring)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--reference", default=None,
                        help="the arm gains are measured against (default: the file's)")
    parser.add_argument("--only", nargs="+", default=None, help="run only these arms")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--from-rows", metavar="FILE", nargs="+", default=None,
                        help="train nothing: summarise the runs in these sweep JSON or "
                             ".partial.jsonl files (a cut-short sweep leaves the latter)")
    parser.add_argument("--skip-done", metavar="FILE", nargs="+", default=[],
                        help="sweep JSON or .partial.jsonl files whose (arm, fold, seed) runs "
                             "need not be trained again (runs are deterministic on one device)")
    args = parser.parse_args()

    plan = json.loads(Path(args.arms).read_text())
    preset = plan.get("preset", "classroom")
    reference = args.reference or plan.get("reference", "baseline")
    fraction = float(plan.get("fraction", 0.1))
    arms = {k: v for k, v in plan["arms"].items()
            if args.only is None or k in args.only or k == reference}
    if reference not in arms:
        sys.exit(f"{args.arms}: the reference arm {reference!r} is not among the arms")

    from sertutor.storage import atomic_write_text

    t0 = time.perf_counter()
    if args.from_rows:
        unique = {}  # a run found in two files (a rerun) counts once
        for r in (r for f in args.from_rows for r in read_rows(f)):
            unique.setdefault((r["arm"], r["fold"], r["seed"]), r)
        rows = list(unique.values())
        rows = [r for r in rows if r["arm"] in arms and r["fold"] in args.folds
                and r["seed"] in args.seeds]
    else:
        done = {(r["arm"], r["fold"], r["seed"]) for f in args.skip_done for r in read_rows(f)}
        rows = run_all(preset, arms, fraction=fraction, folds=args.folds, seeds=args.seeds,
                       device=args.device, workers=args.workers, name=args.name, skip=done,
                       test_corpora=tuple(plan.get("test_corpora", ())))
    rows.sort(key=lambda r: (list(arms).index(r["arm"]), r["fold"], r["seed"]))
    table, md = summarise(rows, arms=arms, reference=reference)
    seconds = round(time.perf_counter() - t0, 1)
    import torch

    command = "python benchmarks/sweep.py " + " ".join(sys.argv[1:])
    where = ", ".join(sorted({r.get("device", "?") for r in rows}))
    result = {"name": args.name, "command": command, "date": time.strftime("%Y-%m-%d"),
              "device": where, "preset": preset, "fraction": fraction,
              "reference": reference, "folds": args.folds, "seeds": args.seeds,
              "seconds": seconds, "summary": table, "rows": rows}
    atomic_write_text(RESULTS / f"sweep_{args.name}.json", json.dumps(result, indent=2))
    head = [f"# Sweep: {args.name}", "",
            f"Command: `{command}`, {result['date']}, {where}, torch {torch.__version__}, "
            + (f"{seconds:.0f} s with {args.workers} workers." if not args.from_rows else
               "summarising the runs in those files (each names the command that trained "
               "them)."), "",
            f"Preset `{preset}`, label fraction {fraction}, folds {args.folds} × seeds "
            f"{args.seeds}. Gains are paired by (fold, seed) against `{reference}`.", "", ""]
    atomic_write_text(RESULTS / f"sweep_{args.name}.md", "\n".join(head) + md)
    if not args.from_rows:  # the rows are safe in sweep_NAME.json now
        (RESULTS / f"sweep_{args.name}.partial.jsonl").unlink(missing_ok=True)
    print("\n".join(head) + md)


if __name__ == "__main__":
    main()
