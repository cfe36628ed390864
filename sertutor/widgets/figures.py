"""Static plotly figures: confusion matrices, training curves, 2-D latent maps, one utterance.

Each function returns a ``plotly.graph_objects.Figure`` that renders in JupyterLab and in an
offline HTML file. The interactive widgets draw through these same functions (and show the
result in a ``go.FigureWidget`` with :func:`sync_figure`), so ``report.html`` and the widgets
share one code path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

# plotly, sklearn and umap are imported in the functions that use them: each takes seconds to
# load, and a function needs at most two of them.

__all__ = [
    "CATEGORY_COLOURS",
    "ClickableFigure",
    "PANELS",
    "category_colours",
    "confusion_comparison_figure",
    "confusion_figure",
    "confusion_scores",
    "embed_2d",
    "group_rare_categories",
    "latent_figure",
    "spectrogram_grid_figure",
    "resend_trace_names",
    "sync_figure",
    "trailing_mean",
    "training_curves_figure",
    "utterance_figure",
    "waveform_envelope",
]


def confusion_scores(confusion: Sequence[Sequence[int]]) -> tuple[float, float]:
    """UAR and WA of a confusion matrix (K, K); classes absent from the true labels (empty
    rows) are left out of the UAR, as in :func:`sertutor.evaluate.uar`. NaN when empty."""
    cm = np.asarray(confusion, dtype=float)  # (K, K)
    rows = cm.sum(1)  # (K,)
    present = rows > 0
    recall = np.divide(np.diag(cm), rows, out=np.zeros(len(cm)), where=present)  # (K,)
    uar = float(recall[present].mean()) if present.any() else float("nan")
    wa = float(np.trace(cm) / cm.sum()) if cm.sum() else float("nan")
    return uar, wa


def _confusion_heatmap(cm: np.ndarray, labels: Sequence[str], *, normalize: bool, name: str):
    """One heatmap trace (colour on the shared ``coloraxis``) with count and recall text."""
    import plotly.graph_objects as go

    k = len(labels)
    rows = cm.sum(1, keepdims=True)  # (K, 1)
    recall = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)  # (K, K)
    text = [[f"{int(cm[i, j])}<br>{recall[i, j]:.0%}" for j in range(k)] for i in range(k)]
    return go.Heatmap(z=recall if normalize else cm, x=list(labels), y=list(labels), text=text,
                      texttemplate="%{text}", coloraxis="coloraxis", name=name,
                      hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>")


def confusion_comparison_figure(matrices: Mapping[str, Sequence[Sequence[int]]],
                                labels: Sequence[str], *, normalize: bool = True,
                                title: str | None = None):
    """Confusion matrices of one or more models side by side, on one colour scale.

    Parameters
    ----------
    matrices : dict of str -> array of int, shape (K, K)
        Model name -> ``confusion[i][j]``: utterances of true class ``i`` predicted as ``j``.
    labels : sequence of str, length K
    normalize : bool
        Colour by row-normalised recall (True) or by raw counts (False). Each cell shows both.
    title : str, optional
        Defaults to each model's UAR and WA (one model) or the model names (several; each
        panel's title then holds its UAR and WA).

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace per model, named after it, in that order.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not matrices:
        raise ValueError("matrices: give at least one model's confusion matrix")
    k = len(labels)
    cms = {}
    for name, confusion in matrices.items():
        cm = np.asarray(confusion, dtype=float)
        if cm.ndim != 2 or cm.shape != (k, k):
            raise ValueError(f"confusion of {name!r} must be a ({k}, {k}) matrix matching "
                             f"labels, got shape {cm.shape}")
        cms[name] = cm
    scores = {name: confusion_scores(cm) for name, cm in cms.items()}
    panel = [f"{name}: UAR {u:.1%} · WA {w:.1%}" for name, (u, w) in scores.items()]
    if len(cms) == 1:
        fig = go.Figure()
        fig.add_trace(_confusion_heatmap(next(iter(cms.values())), labels, normalize=normalize,
                                         name=next(iter(cms))))
        u, w = next(iter(scores.values()))
        default = f"UAR {u:.1%} · WA {w:.1%}"
    else:
        fig = make_subplots(rows=1, cols=len(cms), subplot_titles=panel,
                            horizontal_spacing=0.12)
        for col, (name, cm) in enumerate(cms.items(), start=1):
            fig.add_trace(_confusion_heatmap(cm, labels, normalize=normalize, name=name), 1, col)
        default = " vs ".join(cms)
    cmax = 1.0 if normalize else max(1.0, max(float(cm.max(initial=0)) for cm in cms.values()))
    fig.update_layout(title=title or default, width=80 + 440 * len(cms), height=480,
                      coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": cmax,
                                 "colorbar": {"title": {"text": "recall" if normalize
                                                        else "count"}}})
    fig.update_xaxes(title_text="predicted")
    fig.update_yaxes(title_text="true", autorange="reversed")
    return fig


#: History keys per panel (columns 1-4 of ``training_curves_figure``), see :mod:`sertutor.train`.
PANELS: tuple[tuple[str, ...], ...] = (
    ("recon",),
    ("d_z", "d_y", "generator"),
    ("emotion", "speaker", "gender", "dimensional"),
    ("acc_d_z", "acc_d_y"),
)

def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average over the last ``window`` values (fewer at the start); (n,) -> (n,)."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    csum = np.concatenate([[0.0], np.cumsum(values)])  # (n + 1,)
    end = np.arange(1, len(values) + 1)  # (n,) exclusive end of each window
    start = np.maximum(end - window, 0)
    return (csum[end] - csum[start]) / (end - start)


def waveform_envelope(wave: np.ndarray, sample_rate: int, *, max_points: int = 4000):
    """Min/max per bin of a waveform (N,) for plotting: times (P,), values (P,), P <= max_points.

    Drawing every sample of a few seconds of audio makes a heavy figure; the envelope of
    min/max pairs looks the same at screen resolution.
    """
    n = len(wave)
    if n <= max_points:
        return np.arange(n) / sample_rate, wave
    bins = max_points // 2
    edges = np.linspace(0, n, bins + 1).astype(np.int64)  # (bins + 1,)
    lo = np.minimum.reduceat(wave, edges[:-1])  # (bins,)
    hi = np.maximum.reduceat(wave, edges[:-1])
    t = (edges[:-1] + edges[1:]) / 2 / sample_rate  # (bins,) bin centres
    return np.repeat(t, 2), np.stack([lo, hi], axis=1).reshape(-1)  # (2 * bins,) each


def confusion_figure(confusion: Sequence[Sequence[int]], labels: Sequence[str], *,
                     normalize: bool = True, title: str | None = None):
    """Heatmap of a confusion matrix with counts and row-normalised recall in each cell.

    Parameters
    ----------
    confusion : array of int, shape (K, K)
        ``confusion[i][j]``: utterances of true class ``i`` predicted as ``j``.
    labels : sequence of str, length K
    normalize : bool
        Colour by row-normalised recall (True) or by raw counts (False).
    title : str, optional
        Defaults to the UAR and WA computed from the matrix.
    """
    return confusion_comparison_figure({"model": confusion}, labels, normalize=normalize,
                                       title=title)


def training_curves_figure(history: Sequence[dict[str, float]],
                           evals: Sequence[dict[str, Any]] = (), *, smooth: int = 10):
    """Losses per phase, discriminator accuracies and validation UAR over training steps.

    Parameters
    ----------
    history : list of dict
        One dict per step with ``step`` and loss keys (``Trainer.history``).
    evals : list of dict
        ``{"step", "uar", "wa"}`` per validation pass (``Trainer.evals``).
    smooth : int
        Moving-average window for the loss curves.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = ("reconstruction", "adversarial losses", "supervised losses",
              "discriminator accuracy", "validation")
    fig = make_subplots(rows=1, cols=5, subplot_titles=titles, horizontal_spacing=0.05)
    steps = np.array([h["step"] for h in history])

    def curve(key: str) -> tuple[np.ndarray, np.ndarray] | None:
        vals = np.array([h.get(key, np.nan) for h in history], dtype=float)
        ok = np.isfinite(vals)
        if not ok.any():
            return None
        return steps[ok], trailing_mean(vals[ok], smooth)  # unbiased at both ends

    for col, keys in enumerate(PANELS, start=1):
        for key in keys:
            xy = curve(key)
            if xy is not None:
                fig.add_trace(go.Scatter(x=xy[0], y=xy[1], name=key, mode="lines"), 1, col)
    if evals:
        for key in ("uar", "wa"):
            fig.add_trace(go.Scatter(x=[e["step"] for e in evals], y=[e[key] for e in evals],
                                     name=f"val {key.upper()}", mode="lines+markers"), 1, 5)
    fig.update_layout(height=330, width=1300, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="step")
    return fig


def embed_2d(x: np.ndarray, *, method: str = "umap", seed: int = 0) -> np.ndarray:
    """Project rows of ``x`` (n, d) to 2-D with UMAP, PCA or t-SNE; returns (n, 2)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"need at least 3 points of shape (n, d) to project, got {x.shape}")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, random_state=seed,
                    perplexity=min(30.0, max(2.0, (len(x) - 1) / 3))).fit_transform(x)
    if method == "umap":
        import umap

        return umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(x) - 1),
                         init="spectral" if len(x) >= 10 else "random",  # spectral needs n > 3
                         ).fit_transform(x)
    raise ValueError(f"unknown projection {method!r}; use 'umap', 'pca' or 'tsne'")


#: Fixed colours, so a class has the same colour in every figure: the 4 emotion classes, the
#: extended emotions, correct / wrong, the genders.
CATEGORY_COLOURS = {"neutral": "#7f7f7f", "happy": "#ff9f1c", "sad": "#1f77b4",
                    "angry": "#d62728", "calm": "#9edae5", "fear": "#9467bd",
                    "disgust": "#8c564b", "surprise": "#bcbd22", "correct": "#2ca02c",
                    "wrong": "#d62728", "female": "#e377c2", "male": "#17becf"}
#: Colour of missing labels, e.g. ``(unknown)`` or ``(unlabelled)``.
MISSING_COLOUR = "#c7c7c7"


def category_colours(categories: Sequence[str]) -> dict[str, str]:
    """A colour per category: fixed ones (:data:`CATEGORY_COLOURS`) for emotions, correct /
    wrong and genders, grey for ``(…)`` placeholders of missing labels, a qualitative palette
    for the rest (speakers, corpora...), in the order given."""
    from plotly.colors import qualitative

    palette = qualitative.Dark24 + qualitative.Light24
    out, k = {}, 0
    for cat in categories:
        if cat in CATEGORY_COLOURS:
            out[cat] = CATEGORY_COLOURS[cat]
        elif cat.startswith("("):
            out[cat] = MISSING_COLOUR
        else:
            out[cat] = palette[k % len(palette)]
            k += 1
    return out


def group_rare_categories(values: np.ndarray, max_legend: int | None) -> np.ndarray:
    """Keep at most ``max_legend`` legend entries: the most frequent categories keep their
    name, the rest become one ``"(N others)"`` category (grey, listed last).

    Parameters
    ----------
    values : numpy.ndarray of str, shape (n,)
        Category per point; ``(…)`` placeholders of missing labels are kept as they are and
        count towards the limit.
    max_legend : int or None
        Largest number of distinct categories to return; None for no limit.

    Returns
    -------
    numpy.ndarray of object, shape (n,)
        ``values`` itself when it has at most ``max_legend`` categories.
    """
    cats, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    if max_legend is None or len(cats) <= max_legend:
        return values
    if max_legend < 2:
        raise ValueError(f"max_legend must be at least 2, got {max_legend}")
    placeholders = [c for c in cats if c.startswith("(")]
    named = sorted((c for c in cats if not c.startswith("(")),
                   key=lambda c: (-counts[list(cats).index(c)], c))
    keep = set(named[:max(max_legend - 1 - len(placeholders), 1)]) | set(placeholders)
    rest = len(cats) - len(keep)
    other = f"({rest} others)"
    return np.asarray([v if v in keep else other for v in values.tolist()], dtype=object)


def _latent_traces(coords: np.ndarray, values: np.ndarray, *, group: str, visible: bool,
                   hover: np.ndarray | None, customdata: np.ndarray | None,
                   max_legend: int | None = None) -> list:
    """Scatter traces colouring ``coords`` (n, 2) by ``values`` (n,): one trace per category
    (str values) or one trace with a colour scale plus a grey one for NaN (float values)."""
    import plotly.graph_objects as go

    scatter = go.Scatter if len(coords) <= 3000 else go.Scattergl

    def trace(sel: np.ndarray, name: str, marker: dict, showlegend: bool = True):
        return scatter(x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=name,
                       marker={"size": 7, "opacity": 0.85, **marker}, visible=visible,
                       text=None if hover is None else hover[sel],
                       customdata=None if customdata is None else customdata[sel],
                       hovertemplate="%{text}<extra></extra>" if hover is not None else None,
                       legendgroup=group, showlegend=showlegend)

    if values.dtype.kind == "f":  # continuous, e.g. arousal on the 1-5 scale
        known = np.isfinite(values)
        traces = [trace(known, group, {"color": values[known], "colorscale": "Viridis",
                                       "cmin": 1.0, "cmax": 5.0,
                                       "colorbar": {"title": {"text": group}}},
                        showlegend=False)] if known.any() else []
        if (~known).any():
            traces.append(trace(~known, "(not rated)", {"color": MISSING_COLOUR}))
        return traces
    values = group_rare_categories(values, max_legend)
    order = {name: k for k, name in enumerate(CATEGORY_COLOURS)}  # emotions in class order
    cats = sorted(set(values.tolist()), key=lambda c: (c.startswith("("), order.get(c, 99), c))
    colours = category_colours(cats)
    return [trace(values == cat, cat, {"color": colour}) for cat, colour in colours.items()]


def latent_figure(coords: np.ndarray, *, colour_by: Mapping[str, Sequence], hover: Sequence[str]
                  = (), customdata: Sequence | None = None, title: str = "latent space",
                  max_legend: int | None = 16):
    """2-D scatter of utterances with a menu to colour by each entry of ``colour_by``.

    Parameters
    ----------
    coords : array, shape (n, 2)
    colour_by : dict of name -> sequence of length n
        Category labels (anything but floats: one trace and legend entry per category;
        emotions in class order, then the others sorted, missing ``(…)`` ones last) or float
        values (a colour scale over 1-5, e.g. arousal; NaN grey). The
        first entry is shown; the others are a menu choice (several entries only).
    hover : sequence of str, length n, optional
        Hover text per point.
    customdata : sequence, length n, optional
        Per-point data, e.g. the utterance index, read back by click handlers.
    title : str
    max_legend : int or None
        At most this many legend entries per colouring: beyond it (e.g. 120 speakers) the
        most frequent categories keep their colour and the rest are one grey ``"(N others)"``
        entry (:func:`group_rare_categories`); hover still names every point. None: no limit.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {coords.shape}")
    hover_arr = np.asarray(hover, dtype=object) if len(hover) else None
    if hover_arr is not None and len(hover_arr) != len(coords):
        raise ValueError(f"hover has {len(hover_arr)} entries for {len(coords)} points")
    data = None if customdata is None else np.asarray(customdata)
    if data is not None and len(data) != len(coords):
        raise ValueError(f"customdata has {len(data)} entries for {len(coords)} points")
    fig = go.Figure()
    names, n_traces = [], []
    for name, values in colour_by.items():
        values = np.asarray(values)
        if values.dtype.kind != "f":
            values = np.asarray([str(v) for v in values], dtype=object)
        if len(values) != len(coords):
            raise ValueError(f"colour_by[{name!r}] has {len(values)} values for "
                             f"{len(coords)} points")
        traces = _latent_traces(coords, values, group=name, visible=not names, hover=hover_arr,
                                customdata=data, max_legend=max_legend)
        fig.add_traces(traces)
        names.append(name)
        n_traces.append(len(traces))
    total, start, menu = sum(n_traces), 0, []
    for name, n in zip(names, n_traces):
        visible = [False] * total
        visible[start:start + n] = [True] * n
        menu.append({"label": name, "method": "update", "args": [{"visible": visible}]})
        start += n
    fig.update_layout(title=title, width=680, height=520, legend={"itemsizing": "constant"},
                      xaxis={"showticklabels": False, "title": {"text": ""}},
                      yaxis={"showticklabels": False, "title": {"text": ""}},
                      updatemenus=[{"buttons": menu, "x": 1.0, "y": 1.15,
                                    "xanchor": "right"}] if len(menu) > 1 else [])
    return fig


def utterance_figure(logmel: np.ndarray, reconstruction: np.ndarray | None,
                     probabilities: Sequence[float], labels: Sequence[str], *,
                     true_label: str = "", title: str = "", note: str = "",
                     posterior_title: str = "emotion posterior"):
    """One utterance: its log-mel, the model's reconstruction and its emotion posteriors.

    Parameters
    ----------
    logmel : numpy.ndarray, shape (n_mels, T)
    reconstruction : numpy.ndarray, shape (n_mels, T), or None
        None (a model without decoder): the panel shows ``note`` instead.
    probabilities : sequence of float, length K
    labels : sequence of str, length K
    true_label : str
        Its bar is outlined in black.
    title, note : str
    posterior_title : str
        Title of the posterior panel, e.g. to say that the emotion head was never trained.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces in order: log-mel heatmap, reconstruction heatmap (if any), probability bars.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    logmel = np.asarray(logmel)
    if logmel.ndim != 2:
        raise ValueError(f"logmel must have shape (n_mels, T), got {logmel.shape}")
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.shape != (len(labels),):
        raise ValueError(f"probabilities must have shape ({len(labels)},) like labels, got "
                         f"{probabilities.shape}")
    fig = make_subplots(rows=1, cols=3, column_widths=[0.38, 0.38, 0.24],
                        subplot_titles=("log-mel (normalised)", "reconstruction",
                                        posterior_title), horizontal_spacing=0.07)
    lo, hi = np.percentile(logmel, [1, 99]) if logmel.size else (0.0, 1.0)
    heat = {"colorscale": "Magma", "zmin": float(lo), "zmax": float(hi), "showscale": False,
            "hovertemplate": "frame %{x}<br>mel %{y}<br>%{z:.2f}<extra></extra>"}
    fig.add_trace(go.Heatmap(z=logmel, name="log-mel", **heat), 1, 1)
    if reconstruction is not None:
        fig.add_trace(go.Heatmap(z=np.asarray(reconstruction), name="reconstruction", **heat),
                      1, 2)
    else:
        fig.add_annotation(text=note or "no reconstruction", showarrow=False, row=1, col=2,
                           x=0.5, y=0.5, xref="x2 domain", yref="y2 domain")
    colours = [CATEGORY_COLOURS.get(lab, "#636efa") for lab in labels]
    fig.add_trace(go.Bar(x=list(labels), y=probabilities, marker={
        "color": colours, "line": {"color": ["black" if lab == true_label else "rgba(0,0,0,0)"
                                             for lab in labels], "width": 3}},
        name="posterior", hovertemplate="%{x}: %{y:.1%}<extra></extra>"), 1, 3)
    fig.update_yaxes(range=[0, 1], row=1, col=3)
    fig.update_xaxes(title_text="frame", row=1, col=1)
    fig.update_xaxes(title_text="frame", row=1, col=2)
    fig.update_yaxes(title_text="mel band", row=1, col=1)
    fig.update_layout(title=title, height=330, width=1000, showlegend=False)
    return fig


def spectrogram_grid_figure(spectrograms: Mapping[str, np.ndarray], *, cols: int = 2,
                            hop_s: float = 0.01, title: str = "", height: int | None = None):
    """Log-mel spectrograms side by side, each panel titled with its own key.

    Each panel is built from one ``(label, spectrogram)`` pair: the heatmap and the title of
    panel ``k`` come from the ``k``-th entry of ``spectrograms`` (a facet is labelled by its own
    data, never by the order plotly happens to list its annotations in). Panels share one colour
    scale and fill the grid row by row, from the top left.

    Parameters
    ----------
    spectrograms : dict of str -> numpy.ndarray, shape (n_mels, T)
        Panel title (e.g. an emotion) -> its spectrogram in dB; T may differ between panels.
    cols : int
        Panels per row.
    hop_s : float
        Seconds between frames (the x axis is in seconds).
    title : str
        Figure title.
    height : int, optional
        Pixels; by default 260 per row.

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace per panel, in the order of ``spectrograms``, named after its key.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not spectrograms:
        raise ValueError("spectrograms is empty")
    if cols < 1:
        raise ValueError(f"cols must be at least 1, got {cols}")
    labels = [str(k) for k in spectrograms]
    arrays = [np.asarray(v, dtype=float) for v in spectrograms.values()]
    for label, a in zip(labels, arrays):
        if a.ndim != 2:
            raise ValueError(f"spectrogram {label!r} must have shape (n_mels, T), got {a.shape}")
    rows = -(-len(arrays) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, shared_yaxes=True,
                        horizontal_spacing=0.04, vertical_spacing=0.12)
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays])
    lo, hi = (np.percentile(finite, [1, 99.5]) if finite.size else (0.0, 1.0))
    for k, (label, a) in enumerate(zip(labels, arrays)):
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(go.Heatmap(z=a, x=np.arange(a.shape[1]) * hop_s, y=np.arange(a.shape[0]),
                                 name=label, coloraxis="coloraxis",
                                 hovertemplate=f"{label}<br>%{{x:.2f}} s<br>mel band %{{y}}"
                                               "<br>%{z:.1f} dB<extra></extra>"), row, col)
        fig.update_xaxes(title_text="time (s)" if row == rows else None, row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text="mel band", row=row, col=col)
    fig.update_layout(title=title or None, height=height or 260 * rows + 80,
                      coloraxis={"colorscale": "Magma", "cmin": float(lo), "cmax": float(hi),
                                 "colorbar": {"title": {"text": "dB"}}},
                      margin={"t": 80})
    return fig


def resend_trace_names(target) -> None:
    """Send every trace's ``name`` of a ``go.FigureWidget`` to the browser in one restyle.

    Works around plotly.py: a ``batch_update`` that renames some traces and not others sends
    the others' names as *undefined*, and plotly.js then labels them "trace 2", "trace 3" in
    the legend, although Python still holds the right names. Call this after such a batch,
    outside it.

    Parameters
    ----------
    target : plotly.graph_objects.FigureWidget
        The widget figure; a plain ``go.Figure`` (no browser side) is left alone.
    """
    send = getattr(target, "_send_restyle_msg", None)  # plotly_restyle skips unchanged names
    if send is not None and len(target.data):
        send({"name": [t.name for t in target.data]}, trace_indexes=list(range(len(target.data))))


def sync_figure(target, source) -> None:
    """Make ``target`` (a ``go.FigureWidget``) show ``source`` (a ``go.Figure``) in place.

    Traces are updated where their number and types match, else replaced; the layout is
    replaced. Callbacks registered on replaced traces are lost (register them again).
    """
    with target.batch_update():
        same = len(target.data) == len(source.data) and all(
            a.type == b.type for a, b in zip(target.data, source.data))
        if same:
            for old, new in zip(target.data, source.data):
                spec = new.to_plotly_json()
                spec.pop("type", None)
                old.update(spec, overwrite=True)
        else:
            target.data = ()
            target.add_traces(list(source.data))
        target.layout = source.layout
    if same:
        resend_trace_names(target)  # renamed traces in a batch: see resend_trace_names


class ClickableFigure:
    """Mixin: a widget's ``FigureWidget`` built from its ``static_figure()``, kept in sync.

    The widget defines ``static_figure()`` (a plain ``go.Figure``) and ``_on_click(trace,
    points, state)``; ``figure`` is made on first use with every trace's clicks routed to
    ``_on_click``, and ``_redraw()`` brings an existing ``figure`` up to date in place.
    """

    def static_figure(self):  # pragma: no cover - every widget defines its own
        raise NotImplementedError

    def _on_click(self, trace, points, state=None) -> None:  # pragma: no cover
        raise NotImplementedError

    @cached_property
    def figure(self):
        """The widget's figure as a ``go.FigureWidget``, updated in place; clicks select."""
        import plotly.graph_objects as go

        fig = go.FigureWidget(self.static_figure())
        self.__dict__["figure"] = fig
        self._connect_clicks()
        return fig

    def _connect_clicks(self) -> None:
        for trace in self.figure.data:
            trace.on_click(self._on_click)

    def _redraw(self) -> None:
        """Show the current ``static_figure()`` in ``figure``, if it was made already."""
        if "figure" in self.__dict__:
            sync_figure(self.figure, self.static_figure())
            self._connect_clicks()  # replaced traces lose their callbacks
