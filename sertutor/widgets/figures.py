"""Static plotly figures: confusion matrix, training curves, 2-D latent maps.

Each function returns a ``plotly.graph_objects.Figure`` that renders in JupyterLab and in an
offline HTML file. The interactive widgets reuse these figures.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["confusion_figure", "training_curves_figure", "latent_figure", "embed_2d"]

#: Loss keys of the training history, grouped by phase (see :mod:`sertutor.train`).
LOSS_GROUPS = {
    "reconstruction": ("recon",),
    "adversarial": ("d_z", "d_y", "generator"),
    "supervised": ("emotion", "speaker", "gender", "dimensional"),
}


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
    import plotly.graph_objects as go

    cm = np.asarray(confusion, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(f"confusion must be a ({len(labels)}, {len(labels)}) matrix matching "
                         f"labels, got shape {cm.shape}")
    rows = cm.sum(1, keepdims=True)
    recall = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)  # (K, K)
    present = rows[:, 0] > 0
    uar = float(np.diag(recall)[present].mean()) if present.any() else float("nan")
    wa = float(np.trace(cm) / cm.sum()) if cm.sum() else float("nan")
    text = [[f"{int(cm[i, j])}<br>{recall[i, j]:.0%}" for j in range(len(labels))]
            for i in range(len(labels))]
    fig = go.Figure(go.Heatmap(
        z=recall if normalize else cm, x=list(labels), y=list(labels), text=text,
        texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1 if normalize else None,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        colorbar={"title": "recall" if normalize else "count"}))
    fig.update_layout(title=title or f"UAR {uar:.1%} · WA {wa:.1%}",
                      xaxis_title="predicted", yaxis_title="true",
                      yaxis_autorange="reversed", width=520, height=480)
    return fig


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
        k = max(1, min(smooth, int(ok.sum())))
        kernel = np.ones(k) / k
        return steps[ok], np.convolve(vals[ok], kernel, mode="same") if k > 1 else vals[ok]

    for col, keys in enumerate((("recon",), ("d_z", "d_y", "generator"),
                                ("emotion", "speaker", "gender", "dimensional"),
                                ("acc_d_z", "acc_d_y")), start=1):
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

        return umap.UMAP(n_components=2, random_state=seed,
                         n_neighbors=min(15, len(x) - 1)).fit_transform(x)
    raise ValueError(f"unknown projection {method!r}; use 'umap', 'pca' or 'tsne'")


def latent_figure(coords: np.ndarray, *, colour_by: dict[str, Sequence], hover: Sequence[str]
                  = (), title: str = "latent space"):
    """2-D scatter of utterances with a menu to colour by each entry of ``colour_by``.

    Parameters
    ----------
    coords : array, shape (n, 2)
    colour_by : dict of name -> sequence of length n (category labels)
    hover : sequence of str, length n, optional
    """
    import plotly.graph_objects as go

    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {coords.shape}")
    fig = go.Figure()
    buttons, n_traces = [], []
    for name, values in colour_by.items():
        values = np.asarray([str(v) for v in values])
        if len(values) != len(coords):
            raise ValueError(f"colour_by[{name!r}] has {len(values)} values for "
                             f"{len(coords)} points")
        cats = sorted(set(values))
        n_traces.append(len(cats))
        for cat in cats:
            sel = values == cat
            fig.add_trace(go.Scattergl(
                x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=cat,
                marker={"size": 6, "opacity": 0.8}, visible=not buttons,
                text=np.asarray(hover)[sel] if len(hover) else None,
                legendgroup=name))
        buttons.append(name)
    total = sum(n_traces)
    menu = []
    start = 0
    for name, n in zip(buttons, n_traces):
        visible = [False] * total
        visible[start:start + n] = [True] * n
        menu.append({"label": name, "method": "update", "args": [{"visible": visible}]})
        start += n
    fig.update_layout(title=title, width=620, height=520,
                      updatemenus=[{"buttons": menu, "x": 1.0, "y": 1.15,
                                    "xanchor": "right"}] if len(menu) > 1 else [])
    return fig
