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

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .config import MODEL_VARIANTS, Config, get_config
from .data.prepare import DEFAULT_AUX_CORPUS, DEFAULT_EMOTION_CORPUS, prepare_data
from .jobs import train_and_evaluate
from .storage import atomic_write_json, atomic_write_text, to_json

__all__ = ["ablation", "cross_corpus", "dimensional", "paired_gains", "to_markdown",
           "run_experiment", "EXPERIMENTS", "pair_for", "paired_run", "pair_rows",
           "pair_vs_recorded", "CLASS_PAIR", "RECORDED_ABLATIONS", "recorded_ablations"]


def _runs(preset: str | Config, *, variants: Sequence[str], fractions: Sequence[float],
          seeds: Sequence[int], emotion_corpus: str, aux_corpus: str | None,
          test_corpora: Sequence[str], device: str, progress: bool,
          pick: Callable[[dict], dict[str, float]], **overrides) -> list[dict[str, Any]]:
    """Train every (fraction, seed, variant); data is prepared once per (fraction, seed)."""
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
             emotion_corpus: str = DEFAULT_EMOTION_CORPUS,
             aux_corpus: str | None = DEFAULT_AUX_CORPUS, device: str = "auto",
             progress: bool = True, **overrides) -> dict[str, Any]:
    """UAR and WA of each model variant at each label fraction, mean ± std over seeds."""
    rows = _runs(preset, variants=variants, fractions=fractions, seeds=seeds,
                 emotion_corpus=emotion_corpus, aux_corpus=aux_corpus, test_corpora=(),
                 device=device, progress=progress,
                 pick=lambda m: {"uar": m["uar"], "wa": m["wa"]}, **overrides)
    return {"experiment": "ablation", "rows": rows, "summary": _summarise(rows, ("uar", "wa"))}


def cross_corpus(preset: str | Config = "classroom", *, variants: Sequence[str] = MODEL_VARIANTS,
                 seeds: Sequence[int] = (0, 1, 2), source: str = DEFAULT_EMOTION_CORPUS,
                 target: str = "synth-field", aux_corpus: str | None = DEFAULT_AUX_CORPUS,
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
                seeds: Sequence[int] = (0, 1, 2), emotion_corpus: str = DEFAULT_EMOTION_CORPUS,
                aux_corpus: str | None = DEFAULT_AUX_CORPUS, fraction: float = 1.0,
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


# ------------------------------------------------------------------- the class experiment
#: ``row["experiment"]`` of a :func:`paired_run` row.
CLASS_PAIR = "class-pair"


def pair_for(number: int, *, n_folds: int = 5) -> tuple[int, int]:
    """The ``(fold, seed)`` of class number ``number``: ``(number % n_folds, number //
    n_folds)``, so numbers 0, 1, ..., 29 give thirty different pairs (folds 0-4, seeds 0-5)
    and number 0 gives fold 0, seed 0."""
    if isinstance(number, bool) or not isinstance(number, (int, np.integer)) or number < 0:
        raise ValueError(f"the class number must be a whole number >= 0, got {number!r}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 1:
        raise ValueError(f"n_folds must be a whole number >= 1, got {n_folds!r}")
    return int(number) % n_folds, int(number) // n_folds


def paired_run(fold: int = 0, seed: int = 0, *, fraction: float = 0.1,
               variants: Sequence[str] = ("baseline", "full"), steps: int | None = None,
               preset: str | Config = "classroom", emotion_corpus: str = DEFAULT_EMOTION_CORPUS,
               aux_corpus: str | None = DEFAULT_AUX_CORPUS, n_folds: int = 5, device: str = "auto",
               progress: bool = True, **overrides) -> dict[str, Any]:
    """Train one (fold, seed) pair of two model variants on the same data; return one row.

    Both variants train on the same split (test fold ``fold`` of ``n_folds`` speaker groups,
    the label subset and validation speakers drawn with ``seed``) and with the same seed, as a
    row pair of :func:`ablation` does (there seed ``s`` always uses fold ``s``; here the two
    are chosen separately, so a class can cover many pairs: :func:`pair_for`).

    Parameters
    ----------
    fold, seed : int
        The test fold and the seed.
    fraction : float
        Label fraction of the emotion corpus.
    variants : (str, str)
        The reference and the model compared with it (default ``baseline`` and ``full``).
    steps : int, optional
        Training steps of each run (default: the preset's; the classroom preset has 700).
    preset, emotion_corpus, aux_corpus, n_folds, device, **overrides
        As for :func:`ablation` and :func:`prepare_data`.
    progress : bool
        Progress bars (data preparation, each run, and the pair).

    Returns
    -------
    dict
        ``experiment`` (:data:`CLASS_PAIR`), ``fold``, ``seed``, ``fraction``, ``steps``,
        ``preset``, ``ema_decay``, ``w_speaker``, ``speaker_grad`` and ``decoder_prosody``
        (the weight average, the speaker head's weight, the scale of its gradient into h and
        whether the decoder rebuilt prosody, in both runs: pairs trained with others are not
        pooled with these),
        ``emotion_corpus``, ``aux_corpus``,
        ``reference`` and ``variant`` (the two variants), ``<variant>_uar``,
        ``<variant>_wa`` and ``<variant>_seconds`` of each, and ``gain`` (variant UAR minus
        reference UAR), JSON-ready; see :func:`pair_rows`.
    """
    from tqdm.auto import tqdm

    variants = tuple(variants)
    if len(variants) != 2 or variants[0] == variants[1]:
        raise ValueError(f"variants must be two different model variants, got {variants!r}")
    for v in variants:
        if v not in MODEL_VARIANTS:
            raise ValueError(f"unknown model variant {v!r}; choose from {list(MODEL_VARIANTS)}")
    for value, what in ((fold, "fold"), (seed, "seed")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must be in 0..{n_folds - 1} (n_folds={n_folds}), got {fold}")
    if steps is not None:
        overrides["train__steps"] = steps
    base = get_config(preset, train__label_fraction=float(fraction), train__seed=int(seed),
                      **overrides)
    data = prepare_data(base, emotion_corpus=emotion_corpus, aux_corpus=aux_corpus,
                        fold=int(fold), n_folds=n_folds, progress=progress)
    row: dict[str, Any] = {
        "experiment": CLASS_PAIR, "fold": int(fold), "seed": int(seed),
        "fraction": float(fraction), "steps": int(base.train.steps), "preset": base.name,
        "ema_decay": float(base.train.ema_decay), "w_speaker": float(base.train.w_speaker),
        "speaker_grad": float(base.model.speaker_grad),
        "decoder_prosody": bool(base.model.decoder_prosody),
        "emotion_corpus": emotion_corpus,
        "aux_corpus": aux_corpus,
        "reference": variants[0], "variant": variants[1]}
    runs = tqdm(variants, desc="pair", unit="run", disable=not progress)
    for variant in runs:
        runs.set_postfix_str(variant, refresh=False)
        cfg = get_config(base, model__variant=variant)
        _, metrics = train_and_evaluate(cfg, data, device=device, progress=progress)
        row[f"{variant}_uar"] = float(metrics["uar"])
        row[f"{variant}_wa"] = float(metrics["wa"])
        row[f"{variant}_seconds"] = round(float(metrics["train"]["seconds"]), 1)
    runs.close()
    row["gain"] = row[f"{variants[1]}_uar"] - row[f"{variants[0]}_uar"]
    return row


def pair_rows(pair: dict[str, Any]) -> list[dict[str, Any]]:
    """The two ablation-style rows (``variant``, ``fraction``, ``seed``, ``fold``, ``steps``,
    ``uar``, ``wa``) of a :func:`paired_run` row, for :func:`paired_gains`."""
    out = []
    for variant in (pair["reference"], pair["variant"]):
        out.append({"variant": variant, "fraction": pair["fraction"], "fold": pair["fold"],
                    "seed": pair["seed"], "steps": pair.get("steps"),
                    "uar": pair[f"{variant}_uar"], "wa": pair.get(f"{variant}_wa")})
    return out


def pair_vs_recorded(pair: dict[str, Any],
                     recorded_rows: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """A pair next to the recorded ablation: one row for the pair and, when the recorded rows
    (``results["rows"]`` of :func:`ablation`, seed ``s`` on fold ``s``) have both variants at
    the pair's label fraction, one row for them (means over seeds, the gain paired by seed
    with its standard error and wins). Columns: ``what``, ``n``, the two variants' UAR,
    ``gain``, ``gain_se``, ``wins``."""
    ref, var, fraction = pair["reference"], pair["variant"], pair["fraction"]
    out = [{"what": f"your pair: fold {pair['fold']}, seed {pair['seed']}, "
                    f"{pair.get('steps')} steps",
            "n": 1, f"{ref}_uar": pair[f"{ref}_uar"], f"{var}_uar": pair[f"{var}_uar"],
            "gain": pair["gain"], "gain_se": None, "wins": int(pair["gain"] > 0)}]
    rows = [r for r in recorded_rows if r.get("fraction") == fraction
            and r.get("variant") in (ref, var) and r.get("uar") is not None]
    # recorded ablations pair seed s with fold s; a study over (fold, seed) pairs says so
    keys = ("fraction", "fold", "seed") if rows and all("fold" in r for r in rows) \
        else ("fraction", "seed")
    gains = [g for g in paired_gains(rows, reference=ref, pair=keys) if g["variant"] == var]
    if gains:
        g = gains[0]
        means = {v: float(np.mean([r["uar"] for r in rows if r["variant"] == v]))
                 for v in (ref, var)}
        out.append({"what": "recorded: " + ("(fold, seed) pairs" if "fold" in keys
                                            else "seed s on fold s") + ", full schedule",
                    "n": g["n"], f"{ref}_uar": means[ref], f"{var}_uar": means[var],
                    "gain": g["gain_mean"], "gain_se": g["gain_se"], "wins": g["wins"]})
    return out


#: The recorded ablations the notebooks show (in a checkout's ``benchmarks/results/``), the
#: protocol ``sertutor train`` uses today first: ``ablation_prosody`` holds today's defaults,
#: the decoder of ``ae``, ``aae`` and ``full`` also rebuilding each utterance's prosody
#: (``model.decoder_prosody = True``, the default since issue #14's session 21; the cells not
#: yet measured with it are absent); ``ablation_ema`` the same protocol with the paper's
#: decoder: the models re-measured since a moving average of the weights became the default
#: (``train.ema_decay = 0.99``), ``mtl`` and ``full`` with the speaker head as an adversary
#: (``model.speaker_grad = -1``, the default since session 17); ``ablation_defaults`` every
#: model with the defaults before the average. All are written by
#: ``benchmarks/defaults_ablation.py`` (not shown: ``ablation_ema_nospk``, ``mtl`` and
#: ``full`` without the speaker head's loss, sessions 15-16's defaults, and
#: ``ablation_ema_spk``, with the paper's speaker task).
RECORDED_ABLATIONS = ("ablation_prosody", "ablation_ema", "ablation_defaults")


def recorded_ablations(*, results_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The recorded ablation files of a sertutor checkout, today's protocol first.

    Parameters
    ----------
    results_dir
        Where the files are; default: ``benchmarks/results`` next to the package (a pip
        install has no ``benchmarks/``, and then gets ``[]``).

    Returns
    -------
    list of dict
        One result dict per file of :data:`RECORDED_ABLATIONS` that exists (``rows`` and
        ``summary`` as :func:`ablation` writes them, plus ``paired_gains``, as
        ``benchmarks/defaults_ablation.py`` writes them), each with ``file`` (its name)
        added. A file that is not valid JSON raises ``ValueError`` naming it.
    """
    folder = Path(results_dir) if results_dir is not None else \
        Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    out = []
    for name in RECORDED_ABLATIONS:
        path = folder / f"{name}.json"
        if not path.is_file():
            continue
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a JSON ablation result ({exc})") from exc
        if not isinstance(result, dict) or not isinstance(result.get("summary"), list):
            raise ValueError(f"{path}: expected a JSON object with a 'summary' list, as "
                             "benchmarks/defaults_ablation.py writes")
        out.append(dict(result, file=path.name))
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
