"""Benchmark: the paper's ablation on the synthetic classroom corpora.

Runs ``sertutor experiment ablation`` (five models x label fractions x seeds, speaker-
independent: seed s also picks test fold s) and copies its table to
``benchmarks/results/ablation_classroom.md`` / ``.json`` with the command that made it.

    python benchmarks/ablation.py [--seeds 0 1 2] [--fractions 0.1 0.3 1.0] [--steps N]
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
