"""The class experiment: the pairs of runs a class recorded, pooled into one paired gain.

:func:`class_experiment` (part of :func:`sertutor.teaching.grading.grade`): the pairs of runs
the students of a class recorded in notebook 05 (:func:`sertutor.exercises.record_result`),
read back by :func:`recorded_pairs` / :func:`collect_pairs` and pooled into the paired gain of
``full`` over ``baseline`` with its standard error and wins; :func:`write_class_experiment`
writes the two CSVs, and the HTML summary of the grades shows a section made here.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..exercises import RESULT_MIME
from ..storage import atomic_write_text
from .submissions import _submissions

# nbformat and numpy are imported inside the functions that use them, and sertutor.experiments
# too (it loads torch): `sertutor tutorials ...` starts without them.

#: The pooled table and the list of pairs, written next to the grades CSV.
CLASS_CSV, CLASS_PAIRS_CSV = "class_experiment.csv", "class_pairs.csv"
#: What makes two pairs comparable: the same training protocol. ``ema_decay`` (the moving
#: average of the weights, the default since issue #14), ``w_speaker`` (the speaker head's
#: weight), ``speaker_grad`` (the scale of its gradient into h, -1 an adversary) and
#: ``decoder_prosody`` (whether the decoder also rebuilds each utterance's prosody, the
#: default since issue #14's session 21) are None for a row recorded before they were written
#: down, so such rows pool only with each other.
_CELL_FIELDS = ("preset", "fraction", "steps", "ema_decay", "w_speaker", "speaker_grad",
                "decoder_prosody")
_PAIR_FIELDS = _CELL_FIELDS + ("fold", "seed")
_CLASS_COLUMNS = ("reference", "variant", "preset", "fraction", "steps", "ema_decay",
                  "w_speaker", "speaker_grad", "decoder_prosody", "pairs", "students",
                  "repeated_pairs", "reference_uar", "variant_uar", "gain", "gain_sd",
                  "gain_se", "wins")
_PAIR_COLUMNS = ("student", "notebook", "reference", "variant", "preset", "fraction", "steps",
                 "ema_decay", "w_speaker", "speaker_grad", "decoder_prosody", "fold", "seed",
                 "reference_uar",
                 "variant_uar", "gain")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and value == value and abs(value) != float("inf")


def _valid_pair(row: Any) -> dict[str, Any] | None:
    """The pair's fields (see :data:`_PAIR_COLUMNS`) if ``row`` is a well-formed
    :func:`sertutor.experiments.paired_run` row, else None."""
    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from ..experiments import CLASS_PAIR

    if not isinstance(row, dict) or row.get("experiment", CLASS_PAIR) != CLASS_PAIR:
        return None
    ref, var = row.get("reference"), row.get("variant")
    if not isinstance(ref, str) or not isinstance(var, str) or ref == var:
        return None
    uars = row.get(f"{ref}_uar"), row.get(f"{var}_uar")
    if not all(_number(u) and 0 <= u <= 1 for u in uars):
        return None
    if not all(_number(row.get(k)) for k in ("fraction", "fold", "seed")):
        return None
    steps, ema, spk, grad, prosody = (row.get(k) for k in (
        "steps", "ema_decay", "w_speaker", "speaker_grad", "decoder_prosody"))
    return {"reference": ref, "variant": var, "preset": str(row.get("preset", "")),
            "fraction": float(row["fraction"]), "steps": int(steps) if _number(steps) else None,
            "ema_decay": float(ema) if _number(ema) else None,
            "w_speaker": float(spk) if _number(spk) else None,
            "speaker_grad": float(grad) if _number(grad) else None,
            "decoder_prosody": prosody if isinstance(prosody, bool) else None,
            "fold": int(row["fold"]), "seed": int(row["seed"]),
            "reference_uar": float(uars[0]), "variant_uar": float(uars[1]),
            "gain": float(uars[1]) - float(uars[0])}


def recorded_pairs(nb) -> list[dict[str, Any]]:
    """The class-experiment pairs a notebook recorded (:func:`sertutor.exercises.
    record_result` of a :func:`sertutor.experiments.paired_run` row), read from its saved
    outputs: one per (reference, variant, preset, fraction, steps, ema_decay, w_speaker,
    speaker_grad, decoder_prosody, fold, seed), the last one if it was recorded more than
    once. Malformed records are left out."""
    found: dict[tuple, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            payload = (out.get("data") or {}).get(RESULT_MIME) if isinstance(out, dict) else None
            if isinstance(payload, str):
                with contextlib.suppress(ValueError):
                    payload = json.loads(payload)
            if not isinstance(payload, dict):
                continue
            pair = _valid_pair(payload.get("row"))
            if pair is not None:
                key = (pair["reference"], pair["variant"]) + tuple(pair[k] for k in _PAIR_FIELDS)
                found.pop(key, None)
                found[key] = pair
    return list(found.values())


def _pairs_of(found: Iterable[tuple[str, Path]]) -> list[dict[str, Any]]:
    """The recorded pairs of ``(student, notebook)`` submissions (unreadable ones skipped)."""
    import nbformat

    pairs = []
    for student, path in found:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - grading reports unreadable notebooks itself
            continue
        pairs += [{"student": student, "notebook": path.name, **p} for p in recorded_pairs(nb)]
    return pairs


def collect_pairs(submissions: str | os.PathLike) -> list[dict[str, Any]]:
    """The class-experiment pairs recorded in a folder of submissions (laid out as for
    :func:`grade`, e.g. nbgrader's ``submitted/``), read from the saved notebooks without
    running them; each pair has ``student`` and ``notebook`` added."""
    folder = Path(submissions)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {folder}")
    return _pairs_of(_submissions(folder)[0])


def class_experiment(pairs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Pool a class's pairs of runs into the paired gain of each variant over its reference.

    Each pair is one (fold, seed) of ``reference`` and ``variant`` (``baseline`` and ``full``
    in notebook 05) trained on the same split. A pair that several students ran (same
    comparison, preset, fraction, steps, training protocol, fold and seed) is one pair: its
    UARs are averaged first, so a repeated run does not count twice. The gains then go through
    :func:`sertutor.experiments.paired_gains`.

    Parameters
    ----------
    pairs : iterable of dict
        Rows with ``student`` and the fields of :func:`recorded_pairs` (or raw
        :func:`sertutor.experiments.paired_run` rows plus ``student``).

    Returns
    -------
    dict
        ``pairs``: the valid rows, sorted (``student``, ``notebook``, ``reference``,
        ``variant``, ``preset``, ``fraction``, ``steps``, ``ema_decay``, ``w_speaker``,
        ``speaker_grad``, ``decoder_prosody``, ``fold``, ``seed``, ``reference_uar``,
        ``variant_uar``, ``gain``); ``summary``: one row per (reference, variant, preset,
        fraction, steps, ema_decay, w_speaker, speaker_grad, decoder_prosody) with ``pairs``
        (distinct folds and seeds), ``students``, ``repeated_pairs`` (pairs run by more than
        one student),
        ``reference_uar`` and ``variant_uar`` (means over pairs), ``gain`` (mean of
        ``variant - reference``), ``gain_sd``, ``gain_se`` (sd / sqrt(pairs)) and ``wins``
        (pairs where the variant scored higher).
    """
    import numpy as np

    # deferred: `sertutor tutorials` starts without torch or nbformat work it does not need
    from ..experiments import paired_gains

    rows = []
    for p in pairs:
        pair = p if {"reference_uar", "variant_uar"} <= set(p) else _valid_pair(p)
        if pair is None:
            continue
        rows.append({"student": str(p.get("student", "")), "notebook": str(p.get("notebook", "")),
                     **{k: pair[k] for k in _PAIR_COLUMNS[2:]}})
    rows.sort(key=lambda r: tuple((r[k] is not None, "" if r[k] is None else r[k])
                                  for k in _PAIR_COLUMNS))
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["reference"], r["variant"]) + tuple(r[k] for k in _PAIR_FIELDS),
                          []).append(r)
    by_comparison: dict[tuple, list[dict[str, Any]]] = {}
    for key, members in groups.items():
        (ref, var), fields_ = key[:2], dict(zip(_PAIR_FIELDS, key[2:]))
        for name, col in ((ref, "reference_uar"), (var, "variant_uar")):
            by_comparison.setdefault((ref, var), []).append(
                {"variant": name, **fields_, "uar": float(np.mean([m[col] for m in members]))})
    summary = []
    for (ref, var), gain_rows in sorted(by_comparison.items()):
        cells = paired_gains(gain_rows, reference=ref, pair=_PAIR_FIELDS, by=_CELL_FIELDS)
        for g in cells:
            cell = tuple(g[k] for k in _CELL_FIELDS)
            n_cell = len(_CELL_FIELDS)
            keys = [k for k in groups if k[:2] == (ref, var) and k[2:2 + n_cell] == cell]
            members = [m for k in keys for m in groups[k]]
            in_cell = [r for r in gain_rows if tuple(r[k] for k in _CELL_FIELDS) == cell]
            summary.append({
                "reference": ref, "variant": var, **{k: g[k] for k in _CELL_FIELDS},
                "pairs": g["n"], "students": len({m["student"] for m in members}),
                "repeated_pairs": sum(len({m["student"] for m in groups[k]}) > 1 for k in keys),
                "reference_uar": float(np.mean([r["uar"] for r in in_cell
                                                if r["variant"] == ref])),
                "variant_uar": float(np.mean([r["uar"] for r in in_cell
                                              if r["variant"] == var])),
                "gain": g["gain_mean"], "gain_sd": g["gain_std"], "gain_se": g["gain_se"],
                "wins": g["wins"]})
    summary.sort(key=lambda r: (r["reference"], r["variant"], r["preset"], r["fraction"],
                                -1 if r["steps"] is None else r["steps"],
                                -1 if r["ema_decay"] is None else r["ema_decay"],
                                -1 if r["w_speaker"] is None else r["w_speaker"],
                                -2 if r["speaker_grad"] is None else r["speaker_grad"],
                                -1 if r["decoder_prosody"] is None else int(r["decoder_prosody"])))
    return {"pairs": rows, "summary": summary}


def _csv_text(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    columns = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else
                         (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                         for c in columns])
    return buffer.getvalue()


def write_class_experiment(result: dict[str, list[dict[str, Any]]],
                           out: str | os.PathLike) -> tuple[Path, Path]:
    """Write a :func:`class_experiment` result: the pooled table to ``out`` (CSV; columns as
    in its ``summary``) and the pairs to ``class_pairs.csv`` beside it. Returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = atomic_write_text(out, _csv_text(result["summary"], _CLASS_COLUMNS))
    pairs = atomic_write_text(out.with_name(CLASS_PAIRS_CSV),
                              _csv_text(result["pairs"], _PAIR_COLUMNS))
    return table, pairs


def _class_html(result: dict[str, list[dict[str, Any]]]) -> str:
    """The class-experiment section of the HTML summary ("" when no pair was recorded)."""
    if not result.get("pairs"):
        return ""
    esc = html.escape

    def num(v: Any, fmt: str = ".3f") -> str:
        return "–" if v is None else format(v, fmt)

    head = "".join(f"<th>{esc(c)}</th>" for c in (
        "comparison", "fraction", "steps", "weight average", "speaker weight",
        "speaker gradient", "prosody target", "pairs",
        "students", "reference UAR", "variant UAR",
        "gain (variant − reference)", "se", "wins"))
    body = "".join(
        f"<tr><td>{esc(r['variant'])} − {esc(r['reference'])}</td><td>{r['fraction']:g}</td>"
        f"<td>{'' if r['steps'] is None else r['steps']}</td>"
        f"<td>{'not recorded' if r['ema_decay'] is None else format(r['ema_decay'], 'g')}</td>"
        f"<td>{'not recorded' if r['w_speaker'] is None else format(r['w_speaker'], 'g')}</td>"
        f"<td>{'not recorded' if r['speaker_grad'] is None else format(r['speaker_grad'], 'g')}"
        "</td>"
        f"<td>{ {None: 'not recorded', True: 'yes', False: 'no'}[r['decoder_prosody']] }</td>"
        f"<td>{r['pairs']}</td>"
        f"<td>{r['students']}</td><td>{num(r['reference_uar'])}</td>"
        f"<td>{num(r['variant_uar'])}</td><td>{num(r['gain'], '+.3f')}</td>"
        f"<td>{num(r['gain_se'])}</td><td>{r['wins']} / {r['pairs']}</td></tr>"
        for r in result["summary"])
    pairs = "".join(
        f"<tr><td>{esc(p['student'])}</td><td>{p['fold']}</td><td>{p['seed']}</td>"
        f"<td>{'' if p['steps'] is None else p['steps']}</td>"
        f"<td>{num(p['reference_uar'])}</td><td>{num(p['variant_uar'])}</td>"
        f"<td>{num(p['gain'], '+.3f')}</td></tr>" for p in result["pairs"])
    return (f"<h2>Class experiment (notebook 05)</h2><p>{len(result['pairs'])} recorded "
            f"pair(s) of runs from {len({p['student'] for p in result['pairs']})} student(s). "
            "Each pair trains both models on the same fold and seed; the gain is paired "
            "(variant minus reference on the same pair), se = sd / sqrt(pairs), wins = pairs "
            "where the variant scored higher. A pair run by several students counts once "
            "(its UARs averaged). A gain within about two standard errors of 0 is no "
            f"evidence either way.</p><table><tr>{head}</tr>{body}</table>"
            "<details><summary>The pairs</summary><table><tr><th>student</th><th>fold</th>"
            "<th>seed</th><th>steps</th><th>reference UAR</th><th>variant UAR</th>"
            f"<th>gain</th></tr>{pairs}</table></details>")
