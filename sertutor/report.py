"""``report.html``: one self-contained, offline page summarising a training run.

It holds the run's headline metrics, the confusion matrix on held-out speakers (and on each
cross-corpus test set), the training curves of every phase, and a 2-D UMAP of the utterances'
shared hidden codes ``h`` coloured by emotion, predicted emotion, correctness, speaker, gender
and corpus. The figures are the static figures of the widgets in :mod:`sertutor.widgets`
(``ConfusionMatrix``, ``LatentExplorer``), so report and notebooks share one code path.
plotly.js is embedded once, so the page opens without a network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from .storage import atomic_write_text
from .widgets.confusion import ConfusionMatrix
from .widgets.figures import training_curves_figure
from .widgets.latent import LatentExplorer
from .widgets.utterances import Utterances, collect_utterances

__all__ = ["write_report", "report_utterances", "REPORT_MAX_UTTERANCES"]

#: Most utterances per part (held-out test speakers, auxiliary speakers) on the report's map:
#: a seeded sample keeps the page light and UMAP quick.
REPORT_MAX_UTTERANCES = 400


def _metric_table(metrics: dict[str, Any]) -> str:
    rows = [("test UAR", metrics.get("uar")), ("test WA", metrics.get("wa")),
            ("test macro-F1", metrics.get("macro_f1")),
            ("gender accuracy", metrics.get("gender_accuracy")),
            ("speaker accuracy (aux hold-out)", metrics.get("speaker_accuracy"))]
    for dim in ("arousal", "valence"):
        if dim in metrics:
            rows += [(f"{dim} binned UAR", metrics[dim]["uar"]),
                     (f"{dim} CCC", metrics[dim]["ccc"])]
    for spec, m in metrics.get("cross_corpus", {}).items():
        rows.append((f"cross-corpus UAR ({spec})", m["uar"]))
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.3f}</td></tr>"
                    for k, v in rows if v is not None)
    return f"<table>{cells}</table>"


def report_utterances(model, data, *, max_utterances: int = REPORT_MAX_UTTERANCES,
                      seed: int = 0) -> Utterances:
    """The utterances the report's latent map shows, with the model's codes of them.

    The held-out test utterances of the emotion corpus and, where the run had one, a sample of
    the auxiliary corpus: at most ``max_utterances`` of each, a seeded sample
    (:func:`~sertutor.widgets.utterances.collect_utterances`). Take them while the run's
    :class:`~sertutor.data.prepare.PreparedData` is alive; the report then needs only these,
    so the run's feature sets and segment streams can be freed before UMAP runs
    (:func:`sertutor.jobs.run` does).

    Parameters
    ----------
    model : sertutor.models.MultiTaskAAE
        The trained model.
    data : PreparedData
        The run's data.
    max_utterances : int
        At most this many utterances per part.
    seed : int
        Seed of the sample.

    Returns
    -------
    Utterances
        Its segments are copies: they keep none of ``data``'s arrays alive.
    """
    if not isinstance(max_utterances, (int, np.integer)) or max_utterances < 1:
        raise ValueError(f"max_utterances must be a positive int, got {max_utterances!r}")
    parts = ("test", "aux") if data.streams.aux is not None and "aux" in data.manifests \
        else ("test",)
    return collect_utterances(model, data, parts=parts, max_utterances=int(max_utterances),
                              seed=seed)


def write_report(path: str | Path, *, trainer, metrics: dict[str, Any], data=None,
                 utterances: Utterances | None = None) -> Path:
    """Write the run's HTML report atomically and return its path.

    The figures are the widgets' static figures (:mod:`sertutor.widgets`), so the report and
    the notebooks draw the same pictures.

    Parameters
    ----------
    path : str or Path
        Where ``report.html`` goes.
    trainer : Trainer
        Its ``model``, ``history`` and ``evals`` (the training curves).
    metrics : dict
        The run's metrics (``metrics.json``), with its ``config``.
    data : PreparedData, optional
        The run's data, from which the map's utterances are taken
        (:func:`report_utterances`); not needed when ``utterances`` is given.
    utterances : Utterances, optional
        The utterances of the latent map, taken earlier with :func:`report_utterances`.
    """
    if utterances is None:
        if data is None:
            raise ValueError("write_report needs the utterances of its latent map: pass "
                             "utterances=report_utterances(model, data), or data=")
        utterances = report_utterances(trainer.model, data)
    name = str(metrics.get("config", {}).get("model", {}).get("variant", "model"))
    figs = [("Confusion matrix, held-out speakers",
             ConfusionMatrix.from_confusion(metrics["confusion"], labels=metrics["labels"],
                                            name=name).static_figure())]
    for spec, m in metrics.get("cross_corpus", {}).items():
        figs.append((f"Confusion matrix, cross-corpus: {spec}",
                     ConfusionMatrix.from_confusion(m["confusion"], labels=m["labels"],
                                                    name=name).static_figure()))
    figs.append(("Training curves", training_curves_figure(trainer.history, trainer.evals)))

    # Latent map: emotion-corpus test utterances plus a sample of auxiliary utterances
    # (at most REPORT_MAX_UTTERANCES of each keeps the page light).
    explorer = LatentExplorer(trainer.model, utterances, representation="h",
                              projection="umap", seed=0)
    figs.append(("UMAP of the shared code h",
                 explorer.static_figure(color_by=("emotion", "predicted", "correct", "speaker",
                                                  "gender", "corpus"))))
    notes = {"UMAP of the shared code h": explorer.message}

    body = []
    for i, (title, fig) in enumerate(figs):
        body.append(f"<h2>{html.escape(title)}</h2>")
        if notes.get(title):
            body.append(f"<p><em>{html.escape(notes[title])}</em></p>")
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
