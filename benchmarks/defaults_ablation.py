"""Join the issue #14 study's runs into one ablation file for one setting (the defaults of a time).

``benchmarks/method_screen.py`` names its runs ``MODEL@SETTING`` and pairs them by (fold, seed).
The notebooks (05, 07) read ablation files of :func:`sertutor.experiments.ablation`'s shape
(``rows`` with ``variant``, ``fraction``, ``fold``, ``seed``, ``uar``; ``summary`` per variant
and fraction; ``paired_gains`` against the baseline). This script keeps the runs of one
setting (by default ``both``: per-speaker normalisation and statistics pooling, the defaults
from issue #14's first change to its session 12; ``both_ema`` adds the moving average of the
weights, the defaults since session 13), renames them to their model, adds the
logistic-regression reference as variant ``linear``, and writes
``benchmarks/results/NAME.json`` and ``.md`` (``--name``, default ``ablation_defaults``)::

    python benchmarks/defaults_ablation.py --setting both FILE [FILE ...]
    python benchmarks/defaults_ablation.py --setting both_ema --name ablation_ema FILE [...]
    python benchmarks/defaults_ablation.py --setting both_ema \
        --model-setting mtl=both_ema_spkadv full=both_ema_spkadv --name ablation_ema FILE [...]

``--model-setting MODEL=SETTING`` takes one model's rows from another setting: since session
17 the defaults train the speaker head as an adversary (``model.speaker_grad = -1``; sessions
15-16 trained no speaker head, ``both_ema_nospk``), which only ``mtl`` and ``full`` have, so
today's defaults are ``both_ema`` for the other models and ``both_ema_spkadv`` for those two.
Each FILE is a method_screen result JSON or ``.partial.jsonl``; the first row of a
(arm, fraction, fold, seed) wins.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

RESULTS = HERE / "results"


def read_rows(path: Path) -> list[dict]:
    text = path.read_text()
    if path.name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)["rows"]


#: The order of the wide table's rows: the paper's models, then the comparisons.
ORDER = ("baseline", "ae", "aae", "mtl", "full", "fixmatch", "linear")


def wide_table(summary: list[dict], gains: list[dict]) -> list[str]:
    """Markdown lines of a table with one row per variant and one column per label fraction:
    ``mean UAR`` and, for every variant but the baseline, ``gain ± se (wins/n)`` in points."""
    fractions = sorted({s["fraction"] for s in summary})
    cell = {(s["variant"], s["fraction"]): s for s in summary}
    gain = {(g["variant"], g["fraction"]): g for g in gains}
    variants = [v for v in ORDER if any((v, f) in cell for f in fractions)]
    variants += sorted({s["variant"] for s in summary} - set(variants))
    out = ["| model | " + " | ".join(f"{100 * f:.0f} % labels" for f in fractions) + " |",
           "|---|" + "---|" * len(fractions)]
    for v in variants:
        parts = []
        for f in fractions:
            s, g = cell.get((v, f)), gain.get((v, f))
            if s is None:
                parts.append("–")
                continue
            text = f"{s['uar_mean']:.3f} (n={s['n']})"
            if g is not None:
                text += (f"<br>{100 * g['gain_mean']:+.1f} ± {100 * g['gain_se']:.1f} "
                         f"({g['wins']}/{g['n']})")
            parts.append(text)
        out.append(f"| {v} | " + " | ".join(parts) + " |")
    return out


def main() -> None:
    from sertutor.experiments import paired_gains, to_markdown
    from sertutor.storage import atomic_write_text

    import method_screen  # the settings' overrides: to check --model-setting, and to say
    #                       what the rows were trained with

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--setting", default="both")
    parser.add_argument("--model-setting", nargs="+", default=[], metavar="MODEL=SETTING",
                        help="take MODEL's rows from SETTING instead of --setting")
    parser.add_argument("--name", default="ablation_defaults")
    args = parser.parse_args()
    per_model = {}
    for item in args.model_setting:
        model, sep, setting = item.partition("=")
        if not sep or not model or not setting:
            parser.error(f"--model-setting {item!r}: expected MODEL=SETTING, "
                         "e.g. mtl=both_ema_nospk")
        if model not in ORDER or setting not in method_screen.SETTINGS:
            parser.error(f"--model-setting {item!r}: expected a model of {list(ORDER)} and a "
                         "setting of benchmarks/method_screen.py's SETTINGS")
        per_model[model] = setting
    unique: dict[tuple, dict] = {}
    for path in args.files:
        for r in read_rows(path):
            model, _, setting = r["arm"].partition("@")
            if setting != per_model.get(model, args.setting):
                continue
            key = (model, r["fraction"], r["fold"], r["seed"])
            unique.setdefault(key, {"variant": model, "fraction": r["fraction"],
                                    "fold": r["fold"], "seed": r["seed"], "uar": r["uar"],
                                    "wa": r.get("wa"),
                                    "field_uar": r.get("cross_uar", {}).get("synth-field"),
                                    "best_step": r.get("best_step"), "source": path.name})
    rows = sorted(unique.values(), key=lambda r: (r["fraction"], r["variant"], r["fold"],
                                                   r["seed"]))
    summary = []
    for fraction in sorted({r["fraction"] for r in rows}):
        for variant in dict.fromkeys(r["variant"] for r in rows if r["fraction"] == fraction):
            mine = [r for r in rows if r["fraction"] == fraction and r["variant"] == variant]
            uar = np.array([r["uar"] for r in mine])
            field = [r["field_uar"] for r in mine if r["field_uar"] is not None]
            wa = [r["wa"] for r in mine if r["wa"] is not None]
            summary.append({"variant": variant, "fraction": fraction, "n": len(mine),
                            "uar_mean": float(uar.mean()),
                            "uar_std": float(uar.std(ddof=1)) if len(uar) > 1 else 0.0,
                            **({"wa_mean": float(np.mean(wa)),
                                "wa_std": float(np.std(wa, ddof=1)) if len(wa) > 1 else 0.0}
                               if wa else {}),
                            **({"field_uar_mean": float(np.mean(field)),
                                "field_uar_std": float(np.std(field, ddof=1))
                                if len(field) > 1 else 0.0} if field else {})})
    gains = paired_gains(rows, pair=("fraction", "fold", "seed"))
    field_gains = paired_gains([r for r in rows if r["field_uar"] is not None],
                               key="field_uar", pair=("fraction", "fold", "seed"))
    command = "python benchmarks/defaults_ablation.py " + " ".join(sys.argv[1:])
    experiment = f"issue #14 study, setting {args.setting!r}" + "".join(
        f", {m} {s!r}" for m, s in per_model.items())
    result = {"experiment": experiment, "command": command,
              "date": time.strftime("%Y-%m-%d"), "rows": rows, "summary": summary,
              "paired_gains": gains, "paired_gains_field": field_gains}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(result, indent=2))
    def spelled(setting: str) -> str:
        return ", ".join(f"`{k.replace('__', '.')} = {v!r}`"
                         for k, v in method_screen.SETTINGS.get(setting, {}).items()) or "none"

    lines = [f"# Ablation, setting `{args.setting}` ({args.name})", "",
             "Overrides of the classroom preset: " + spelled(args.setting)
             + " (`benchmarks/method_screen.py`'s `SETTINGS`)."
             + "".join(f" `{m}`'s rows: setting `{s}` ({spelled(s)})."
                       for m, s in per_model.items()), "",
             f"Command: `{command}`, {result['date']}. Rows from: "
             + ", ".join(sorted({r['source'] for r in rows})) + " (each names the command "
             "that trained it).", "",
             "Classroom preset, setting `" + args.setting + "`; `linear` is logistic "
             "regression on utterance log-mel mean/std with the same normalisation and "
             "folds. Held-out UAR (synth-emo test speakers) and synth-field UAR, mean ± sd "
             "over (fold, seed) pairs:", "", to_markdown(result), "",
             "Gain over `baseline`, paired by (fold, seed): mean ± standard error (wins / "
             "pairs).", "", "| variant | fraction | held-out UAR gain | synth-field UAR gain |",
             "|---|---|---|---|"]
    by_cell = {(g["variant"], g["fraction"]): g for g in field_gains}
    for g in gains:
        f = by_cell.get((g["variant"], g["fraction"]))
        fs = f"{f['gain_mean']:+.3f} ± {f['gain_se']:.3f} ({f['wins']}/{f['n']})" if f else "–"
        lines.append(f"| {g['variant']} | {g['fraction']} | {g['gain_mean']:+.3f} ± "
                     f"{g['gain_se']:.3f} ({g['wins']}/{g['n']}) | {fs} |")
    lines += ["", "The same, one row per model (README-ready): held-out UAR, and below it the "
              "paired gain over `baseline` in points (wins / pairs); the synth-field gains are in "
              "the table above.", "",
              *wide_table(summary, gains)]
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
