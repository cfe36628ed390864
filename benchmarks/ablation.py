"""Benchmark: the paper's ablation on the synthetic classroom corpora.

Runs ``sertutor experiment ablation`` (five models x label fractions x seeds, speaker-
independent: seed s also picks test fold s) and copies its table to
``benchmarks/results/ablation_classroom.md`` / ``.json`` with the command that made it.

    python benchmarks/ablation.py [--seeds 0 1 2] [--fractions 0.1 0.3 1.0] [--steps N]

Runs done in pieces are joined with ``--combine``: the rows of the named result files, a later
file's row replacing an earlier one for the same (variant, fraction, seed), summarised again,
with each variant's gain over the baseline paired by seed (the honest yardstick, see
:func:`sertutor.experiments.paired_gains`):

    python benchmarks/ablation.py --combine ablation_classroom_f01 ablation_classroom_f03_f10 \
        ablation_classroom_f01_supervised --name ablation_classroom
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    parser.add_argument("--fractions", nargs="+", default=["0.1", "0.3", "1.0"])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--steps", default=None)
    parser.add_argument("--name", default="ablation_classroom")
    parser.add_argument("--combine", nargs="+", metavar="RESULT", default=None,
                        help="join these benchmarks/results/RESULT.json files instead of running")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, name=args.name)
        return
    out = Path(tempfile.mkdtemp(prefix="sertutor-ablation-"))
    cmd = ["sertutor", "experiment", "ablation", "--preset", "classroom", "--device", "cpu",
           "--out", str(out), "--seeds", *args.seeds, "--fractions", *args.fractions]
    if args.models:
        cmd += ["--models", *args.models]
    if args.steps:
        cmd += ["--steps", args.steps]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        sys.exit("the ablation failed")
    RESULTS.mkdir(exist_ok=True)
    shutil.copy(out / "results.json", RESULTS / f"{args.name}.json")
    argv = " ".join(sys.argv[1:])
    text = (f"# Ablation on the synthetic classroom corpora\n\n"
            f"Command: `python benchmarks/ablation.py {argv}` (runs `{' '.join(cmd)}`), "
            f"{time.perf_counter() - t0:.0f} s on this machine, {time.strftime('%Y-%m-%d')}.\n\n"
            "UAR and WA on held-out speakers (mean ± std over seeds; seed s = test fold s).\n\n"
            + (out / "results.md").read_text().split("\n", 2)[2])
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


def combine(names: list[str], *, name: str) -> None:
    import json

    from sertutor.experiments import _summarise, paired_gains, to_markdown

    rows: dict[tuple, dict] = {}
    for part in names:
        for row in json.loads((RESULTS / f"{part}.json").read_text())["rows"]:
            rows[(row["variant"], row["fraction"], row["seed"])] = dict(row, source=part)
    order = {v: i for i, v in enumerate(("baseline", "ae", "aae", "mtl", "full"))}
    ordered = sorted(rows.values(), key=lambda r: (r["fraction"], r["seed"],
                                                   order.get(r["variant"], 9)))
    summary = sorted(_summarise(ordered, ("uar", "wa")),
                     key=lambda r: (r["fraction"], order.get(r["variant"], 9)))
    gains = sorted(paired_gains(ordered),
                   key=lambda r: (r["fraction"], order.get(r["variant"], 9)))
    result = {"experiment": "ablation", "rows": ordered, "summary": summary,
              "paired_gains": gains, "combined_from": names}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    gain_lines = ["| variant | fraction | n | gain over baseline (paired) |", "|---|---|---|---|"]
    gain_lines += [f"| {g['variant']} | {g['fraction']} | {g['n']} | "
                   f"{g['gain_mean']:+.3f} ± {g['gain_std']:.3f} (se {g['gain_se']:.3f}) |"
                   for g in gains]
    text = (f"# Ablation on the synthetic classroom corpora\n\n"
            f"Command: `python benchmarks/ablation.py {' '.join(sys.argv[1:])}`, "
            f"{time.strftime('%Y-%m-%d')}: joins {', '.join(f'`{n}.json`' for n in names)} "
            "(a later file's row replaces an earlier one for the same variant, fraction and "
            "seed; each file's .md names the command that made it).\n\n"
            "UAR and WA on held-out speakers (mean ± sd over seeds; seed s = test fold s):\n\n"
            + to_markdown(result) +
            "\nGain over the baseline paired by seed (mean ± sd of the per-seed differences; "
            "se = sd / sqrt(n)):\n\n" + "\n".join(gain_lines) + "\n")
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
