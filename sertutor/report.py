"""``report.html``: one self-contained, offline page summarising a training run.

It holds the run's headline metrics, the confusion matrix on held-out speakers (and on each
cross-corpus test set), the training curves of every phase, and a 2-D UMAP of the utterances'
shared hidden codes ``h`` coloured by emotion, speaker and gender. plotly.js is embedded once,
so the page opens without a network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from .storage import atomic_write_text

__all__ = ["write_report", "utterance_codes"]


def utterance_codes(model, segments, *, key: str = "h") -> np.ndarray:
    """Per-utterance mean of a latent code (``h``, ``z`` or ``y_prob``); shape (n_utts, d)."""
    from .evaluate import pool_utterances, predict

    out = predict(model, segments)
    return pool_utterances(out[key], segments.utt)[1]


def _metric_table(metrics: dict[str, Any]) -> str:
    rows = [("test UAR", metrics.get("uar")), ("test WA", metrics.get("wa")),
            ("test macro-F1", metrics.get("macro_f1")),
            ("gender accuracy", metrics.get("gender_accuracy")),
            ("speaker accuracy (aux hold-out)", metrics.get("speaker_accuracy"))]
    for dim in ("arousal", "valence"):
        if dim in metrics:
            rows += [(f"{dim} binned UAR", metrics[dim]["uar"]), (f"{dim} CCC", metrics[dim]["ccc"])]
    for spec, m in metrics.get("cross_corpus", {}).items():
        rows.append((f"cross-corpus UAR ({spec})", m["uar"]))
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>"
                    for k, v in rows if v is not None)
    return f"<table>{cells}</table>"


def write_report(path: str | Path, *, trainer, data, metrics: dict[str, Any]) -> Path:
    """Write the run's HTML report atomically and return its path."""
    from .widgets.figures import (confusion_figure, embed_2d, latent_figure,
                                  training_curves_figure)

    figs = [("Confusion matrix, held-out speakers",
             confusion_figure(metrics["confusion"], metrics["labels"]))]
    for spec, m in metrics.get("cross_corpus", {}).items():
        figs.append((f"Confusion matrix, cross-corpus: {spec}",
                     confusion_figure(m["confusion"], m["labels"])))
    figs.append(("Training curves", training_curves_figure(trainer.history, trainer.evals)))

    # Latent map: emotion-corpus test utterances plus a sample of auxiliary utterances.
    parts = [("emotion test", data.test, data.manifests["emotion_test"])]
    if data.streams.aux is not None and "aux" in data.manifests:
        parts.append(("auxiliary", data.streams.aux, data.manifests["aux"]))
    codes, colours = [], {"emotion": [], "speaker": [], "gender": [], "corpus": []}
    for name, seg, df in parts:
        h = utterance_codes(trainer.model, seg)
        rows = df.iloc[np.unique(seg.utt.cpu().numpy())]
        if len(h) > 400:  # keep the page light
            pick = np.random.default_rng(0).choice(len(h), 400, replace=False)
            h, rows = h[pick], rows.iloc[pick]
        codes.append(h)
        colours["emotion"] += [e or "(none)" for e in rows["emotion"]]
        colours["speaker"] += list(rows["speaker"])
        colours["gender"] += [g or "(unknown)" for g in rows["gender"]]
        colours["corpus"] += [name] * len(rows)
    coords = embed_2d(np.concatenate(codes), method="umap", seed=0)
    figs.append(("UMAP of the shared code h",
                 latent_figure(coords, colour_by=colours, title="UMAP of h (per utterance)")))

    body = []
    for i, (title, fig) in enumerate(figs):
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    cfg = metrics.get("config", {})
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sertutor run report</title>
<style>body{{font-family:sans-serif;max-width:1350px;margin:auto;padding:1em}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:4px 10px}}</style></head>
<body><h1>sertutor run: {html.escape(str(cfg.get('model', {}).get('variant', '')))} model,
{html.escape(str(cfg.get('name', '')))} preset</h1>
<p>Label fraction {cfg.get('train', {}).get('label_fraction', '')}; trained
{metrics.get('train', {}).get('steps', '')} steps in {metrics.get('train', {}).get('seconds', '')} s
on {html.escape(str(metrics.get('train', {}).get('device', '')))}.</p>
{_metric_table(metrics)}
{''.join(body)}
<h2>Configuration</h2><pre>{html.escape(json.dumps(cfg, indent=2))}</pre>
</body></html>"""
    return atomic_write_text(path, page)
