"""The paper's studies as tables: ablation over models and label fractions, cross-corpus, and
dimensional emotion.

Latif et al. (IEEE TAC 2022, arXiv:1907.06078) argue from comparisons: a supervised CNN
baseline; + autoencoding; + the adversarial priors with unlabelled data; + the auxiliary
speaker and gender tasks; and how each gain changes as fewer emotion labels are available.
Every cell here is the mean ± standard deviation over seeds, where seed ``s`` also picks fold
``s`` of the speaker groups, so the spread covers both initialisation and test speakers.

Results come back as a dict (``rows``: one per run; ``summary``: one per cell) and are written
as ``results.json`` and a Markdown ``results.md``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .config import MODEL_VARIANTS, Config, get_config
from .storage import atomic_write_json, atomic_write_text, to_json

__all__ = ["ablation", "cross_corpus", "dimensional", "paired_gains", "to_markdown",
           "run_experiment", "EXPERIMENTS"]


def _runs(preset: str | Config, *, variants: Sequence[str], fractions: Sequence[float],
          seeds: Sequence[int], emotion_corpus: str, aux_corpus: str | None,
          test_corpora: Sequence[str], device: str, progress: bool,
          pick: Callable[[dict], dict[str, float]], **overrides) -> list[dict[str, Any]]:
    """Train every (fraction, seed, variant); data is prepared once per (fraction, seed)."""
    from .pipeline import prepare_data, train_and_evaluate

    rows = []
    for fraction in fractions:
        for seed in seeds:
            base = get_config(preset, train__label_fraction=float(fraction),
                              train__seed=int(seed), **overrides)
            data = prepare_data(base, emotion_corpus=emotion_corpus, aux_corpus=aux_corpus,
                                test_corpora=test_corpora, fold=int(seed), progress=False)
            for variant in variants:
                cfg = get_config(base, model__variant=variant)
                t0 = time.perf_counter()
                _, metrics = train_and_evaluate(cfg, data, device=device, progress=False)
                row = {"variant": variant, "fraction": float(fraction), "seed": int(seed),
                       **pick(metrics), "seconds": round(time.perf_counter() - t0, 1)}
                rows.append(row)
                if progress:
                    print(to_json(row), flush=True)
    return rows


def _summarise(rows: list[dict[str, Any]], keys: Sequence[str],
               by: Sequence[str] = ("variant", "fraction")) -> list[dict[str, Any]]:
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        cells.setdefault(tuple(row[b] for b in by), []).append(row)
    out = []
    for cell, members in cells.items():
        entry = dict(zip(by, cell), n=len(members))
        for key in keys:
            vals = np.array([m[key] for m in members if m.get(key) is not None], dtype=float)
            if len(vals):
                entry[f"{key}_mean"] = float(vals.mean())
                entry[f"{key}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        out.append(entry)
    return out


def ablation(preset: str | Config = "classroom", *, variants: Sequence[str] = MODEL_VARIANTS,
             fractions: Sequence[float] = (0.1, 0.3, 1.0), seeds: Sequence[int] = (0, 1, 2),
             emotion_corpus: str = "synth-emo", aux_corpus: str | None = "synth-aux",
             device: str = "auto", progress: bool = True, **overrides) -> dict[str, Any]:
    """UAR and WA of each model variant at each label fraction, mean ± std over seeds."""
    rows = _runs(preset, variants=variants, fractions=fractions, seeds=seeds,
                 emotion_corpus=emotion_corpus, aux_corpus=aux_corpus, test_corpora=(),
                 device=device, progress=progress,
                 pick=lambda m: {"uar": m["uar"], "wa": m["wa"]}, **overrides)
    return {"experiment": "ablation", "rows": rows, "summary": _summarise(rows, ("uar", "wa"))}


def cross_corpus(preset: str | Config = "classroom", *, variants: Sequence[str] = MODEL_VARIANTS,
                 seeds: Sequence[int] = (0, 1, 2), source: str = "synth-emo",
                 target: str = "synth-field", aux_corpus: str | None = "synth-aux",
                 fraction: float = 1.0, device: str = "auto", progress: bool = True,
                 **overrides) -> dict[str, Any]:
    """Train on ``source``, test on held-out ``source`` speakers and on all of ``target``."""
    rows = _runs(preset, variants=variants, fractions=(fraction,), seeds=seeds,
                 emotion_corpus=source, aux_corpus=aux_corpus, test_corpora=(target,),
                 device=device, progress=progress,
                 pick=lambda m: {"uar": m["uar"], "cross_uar": m["cross_corpus"][target]["uar"],
                                 "cross_wa": m["cross_corpus"][target]["wa"]}, **overrides)
    return {"experiment": "cross-corpus", "source": source, "target": target, "rows": rows,
            "summary": _summarise(rows, ("uar", "cross_uar", "cross_wa"))}


def dimensional(preset: str | Config = "classroom", *, variants: Sequence[str] = ("mtl", "full"),
                seeds: Sequence[int] = (0, 1, 2), emotion_corpus: str = "synth-emo",
                aux_corpus: str | None = "synth-aux", fraction: float = 1.0,
                device: str = "auto", progress: bool = True, **overrides) -> dict[str, Any]:
    """Arousal and valence: binned UAR (low/mid/high) and CCC of the regression heads."""

    def pick(m):
        return {f"{d}_{k}": m.get(d, {}).get(k) for d in ("arousal", "valence")
                for k in ("uar", "ccc")}

    rows = _runs(preset, variants=variants, fractions=(fraction,), seeds=seeds,
                 emotion_corpus=emotion_corpus, aux_corpus=aux_corpus, test_corpora=(),
                 device=device, progress=progress, pick=pick, **overrides)
    keys = ("arousal_uar", "arousal_ccc", "valence_uar", "valence_ccc")
    return {"experiment": "dimensional", "rows": rows, "summary": _summarise(rows, keys)}


EXPERIMENTS: dict[str, Callable[..., dict[str, Any]]] = {
    "ablation": ablation, "cross-corpus": cross_corpus, "dimensional": dimensional}


def paired_gains(rows: Sequence[dict[str, Any]], *, reference: str = "baseline",
                 key: str = "uar", group: str = "variant",
                 pair: Sequence[str] = ("fraction", "seed"),
                 by: Sequence[str] = ("fraction",)) -> list[dict[str, Any]]:
    """Each variant's gain over ``reference``, paired by seed (and so by test fold).

    Seeds differ in their test speakers, whose difficulty moves every model's score together;
    the per-seed difference ``variant - reference`` cancels that shared part, so its spread
    is the honest yardstick for a gain. Returns one dict per (variant, fraction) with ``n``
    paired seeds, ``gain_mean``, ``gain_std`` (sample sd), ``gain_se`` (sd / sqrt(n)) and
    ``wins`` (pairs where the variant scored higher).

    ``group`` names the row field that tells the models apart, ``pair`` the fields that make
    two rows a pair, and ``by`` those of ``pair`` to report separately (a sweep of arms over
    folds and seeds uses ``group="arm", pair=("fold", "seed"), by=()``).
    """
    pair, by = tuple(pair), tuple(by)
    if not set(by) <= set(pair):
        raise ValueError(f"by={by} must be fields of pair={pair}")
    ref = {tuple(r[p] for p in pair): r[key] for r in rows if r[group] == reference}
    diffs: dict[tuple, list[float]] = {}
    for r in rows:
        k = tuple(r[p] for p in pair)
        if r[group] != reference and k in ref and r.get(key) is not None:
            cell = (r[group],) + tuple(r[b] for b in by)
            diffs.setdefault(cell, []).append(r[key] - ref[k])
    out = []
    for cell, d in diffs.items():
        d_arr = np.asarray(d, dtype=float)
        sd = float(d_arr.std(ddof=1)) if len(d_arr) > 1 else 0.0
        out.append({**dict(zip((group,) + by, cell)), "n": len(d_arr),
                    "gain_mean": float(d_arr.mean()), "gain_std": sd,
                    "gain_se": float(sd / np.sqrt(len(d_arr))),
                    "wins": int((d_arr > 0).sum())})
    return out


def to_markdown(results: dict[str, Any]) -> str:
    """A Markdown table of ``results["summary"]`` (mean ± std per cell)."""
    summary = results["summary"]
    if not summary:
        return "(no results)\n"
    by = [k for k in ("variant", "fraction") if k in summary[0]]
    metrics = sorted({k[:-5] for row in summary for k in row if k.endswith("_mean")},
                     key=lambda k: list(summary[0]).index(f"{k}_mean"))
    head = by + ["n"] + metrics
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in summary:
        cells = [str(row[b]) for b in by] + [str(row["n"])]
        cells += [f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}" if f"{m}_mean" in row
                  else "–" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_experiment(name: str, *, out_dir: str | os.PathLike, **kwargs) -> dict[str, Any]:
    """Run experiment ``name`` and write ``results.json`` and ``results.md`` to ``out_dir``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}")
    t0 = time.perf_counter()
    results = EXPERIMENTS[name](**kwargs)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["arguments"] = {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in kwargs.items() if k != "progress"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", f"# {name}\n\n" + to_markdown(results))
    return results
