"""LatentExplorer: a 2-D map of utterances' latent codes that you can colour, filter and click.

>>> ex = LatentExplorer(model, "synth-emo", config=config, meta=meta)   # doctest: +SKIP
>>> ex                                                                  # doctest: +SKIP

The model embeds each utterance (its shared code ``h``, style code ``z`` or emotion code ``y``,
averaged over its segments); UMAP, PCA or t-SNE projects the codes to 2-D. Colour the points by
emotion, predicted emotion, correct or not, speaker, gender, corpus, arousal or valence, show a
subset only, and click a point to hear the utterance and see its log-mel, the model's
reconstruction of it and the predicted probabilities.

Projections are cached per (representation, projection, subset): changing the colour redraws
at once; a new projection shows its progress in the status line (UMAP takes seconds, and
compiles itself on first use). Without a browser, :meth:`LatentExplorer.set` and
:meth:`LatentExplorer.select` do what the controls and a click do.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ..audio import AudioError
from .figures import (ClickableFigure, embed_2d, group_rare_categories, latent_figure,
                      sync_figure, utterance_figure)
from .utterances import Utterances, collect_utterances

# plotly, ipywidgets and IPython are imported where they are used: they take seconds to load,
# and the HTML report (``sertutor train``) draws the static map with plotly alone.

__all__ = ["COLOR_BY", "MAX_LEGEND", "PROJECTIONS", "REPRESENTATIONS", "SUBSET_BY",
           "LatentExplorer"]

#: Representation key -> description.
REPRESENTATIONS = {"h": "shared code h", "z": "style code z", "y": "emotion code y"}
#: Projection key -> name.
PROJECTIONS = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
#: What the points can be coloured by.
COLOR_BY = ("emotion", "predicted", "correct", "speaker", "gender", "corpus", "arousal",
            "valence")
#: Fields a subset can be chosen by.
SUBSET_BY = ("emotion", "predicted", "correct", "speaker", "gender", "corpus")
#: Most legend entries of a map: beyond it (e.g. 120 speakers) the rest are one grey entry.
MAX_LEGEND = 16
_CONTINUOUS = ("arousal", "valence")
_UNSET: Any = object()
_UMAP_USED: list[bool] = []  # non-empty once UMAP (compiled by numba on first use) has run


def _message_markup(text: str) -> str:
    """The widget's message line as HTML ("" when there is nothing to say)."""
    return f"<span style='color:#a04000'>{html.escape(text)}</span>" if text else ""


class LatentExplorer(ClickableFigure):
    """Interactive 2-D map of utterances' latent codes.

    Parameters
    ----------
    model : sertutor.models.MultiTaskAAE
        The model whose codes are shown (may be None when ``source`` is an Utterances).
    source : PreparedData, str, pandas.DataFrame or Utterances
        What to embed (see :func:`~sertutor.widgets.utterances.collect_utterances`); an
        Utterances is used as it is (share one between widgets).
    config, meta
        As returned by ``pretrained.load`` / ``load_trained`` (for a corpus spec or manifest).
    representation : {"h", "z", "y"}
    projection : {"umap", "pca", "tsne"}
    color_by : str
        One of :data:`COLOR_BY`.
    subset : dict, optional
        Show only some utterances, e.g. ``{"emotion": ["happy", "angry"]}`` or
        ``{"speaker": "emo_s02"}`` (fields: :data:`SUBSET_BY`); None for all.
    parts : sequence of str
        PreparedData only: which sets to embed (``"test"``, ``"aux"``, a cross-corpus spec).
    max_utterances : int or None
        At most this many utterances (per part), a seeded random sample.
    seed : int
        Seed of the sample and of the projection.
    device : str, optional
        Where the model runs.
    emotion_head_trained : bool
        False for a model whose emotion head never learned (e.g. an autoencoder trained with
        ``train.w_emotion = 0``): hover texts and the clicked utterance's title leave out its
        "prediction", the posterior panel says it is untrained, and colouring by
        ``predicted`` / ``correct`` comes with a note.

    Attributes
    ----------
    utterances : Utterances
    coords : numpy.ndarray, shape (n_shown, 2)
        Projected points of the current subset (empty when too few to project).
    rows : numpy.ndarray of int, shape (n_shown,)
        Utterance index of each point.
    message : str
        What is wrong or missing, in words ("" when fine); also shown in the widget.
    status : str
        Projection progress / timing.
    n_projections : int
        Projections computed so far (cache hits do not count).
    selected : dict or None
        What the last :meth:`select` returned.
    """

    def __init__(self, model, source, *, config=None, meta: dict | None = None,
                 representation: str = "h", projection: str = "umap",
                 color_by: str = "emotion", subset: Mapping[str, Any] | None = None,
                 parts: Sequence[str] = ("test",), max_utterances: int | None = 400,
                 seed: int = 0, device=None, emotion_head_trained: bool = True):
        self.emotion_head_trained = bool(emotion_head_trained)
        self.utterances: Utterances = collect_utterances(
            model, source, config=config, meta=meta, parts=parts,
            max_utterances=max_utterances, seed=seed, device=device)
        self.seed = int(seed)
        self.n_projections = 0
        self.message = ""
        self.status = ""
        self.selected: dict[str, Any] | None = None
        self.representation, self.projection, self.color_by = "h", "pca", "emotion"
        self.subset: dict[str, tuple[str, ...]] | None = None
        self.rows = np.zeros(0, dtype=np.int64)
        self.coords = np.zeros((0, 2))
        self._cache: dict[tuple, np.ndarray] = {}
        self._syncing = False
        self.set(representation=representation, projection=projection, color_by=color_by,
                 subset=subset)

    # ---- per-utterance fields ----------------------------------------------------------------

    def field(self, name: str) -> np.ndarray:
        """Per-utterance values of a colour / subset field, shape (U,).

        str labels for categorical fields (missing ones as ``"(unknown)"``,
        ``"(unlabelled)"``...), floats (NaN unknown) for ``arousal`` and ``valence``.
        """
        u, m = self.utterances, self.utterances.manifest
        if name == "emotion":  # the 4 classes, else the extended label (fear, calm...)
            emo, ext = m["emotion"].to_numpy(str), m["emotion_extended"].to_numpy(str)
            return np.where(emo != "", emo, np.where(ext != "", ext, "(unlabelled)"))
        if name == "predicted":
            return np.asarray(u.labels, dtype=object)[u.pred].astype(str)
        if name == "correct":
            return np.where(u.true < 0, "(unlabelled)",
                            np.where(u.pred == u.true, "correct", "wrong"))
        if name in ("speaker", "gender", "corpus"):
            values = m[name].to_numpy(str)
            return np.where(values != "", values, "(unknown)")
        if name in _CONTINUOUS:
            return m[name].to_numpy(dtype=float)
        raise ValueError(f"unknown field {name!r}; choose one of {list(COLOR_BY)}")

    def _hover(self) -> np.ndarray:
        u, m = self.utterances, self.utterances.manifest
        emo, pred = self.field("emotion"), self.field("predicted")
        conf = u.y_prob.max(1) if len(u) else np.zeros(0)
        if not self.emotion_head_trained:  # its "prediction" would be noise with a confidence
            return np.array([f"{html.escape(str(uid))}<br>speaker {html.escape(str(s))}<br>"
                             f"emotion {e}" for uid, s, e in zip(m["utt_id"], m["speaker"], emo)],
                            dtype=object)
        return np.array([f"{html.escape(str(uid))}<br>speaker {html.escape(str(s))}<br>"
                         f"emotion {e}<br>predicted {p} ({c:.0%})"
                         for uid, s, e, p, c in zip(m["utt_id"], m["speaker"], emo, pred, conf)],
                        dtype=object)

    # ---- state -------------------------------------------------------------------------------

    def _check_subset(self, subset) -> dict[str, tuple[str, ...]] | None:
        if subset is None or (isinstance(subset, Mapping) and not subset):
            return None
        if not isinstance(subset, Mapping):
            raise TypeError(f"subset must be a dict like {{'emotion': ['happy']}} or None, "
                            f"got {type(subset).__name__}")
        out = {}
        for key, values in subset.items():
            if key not in SUBSET_BY:
                raise ValueError(f"subset: unknown field {key!r}; choose from {list(SUBSET_BY)}")
            values = (values,) if isinstance(values, str) else tuple(str(v) for v in values)
            out[key] = values
        return out

    def set(self, *, representation: str | None = None, projection: str | None = None,
            color_by: str | None = None, subset: Any = _UNSET) -> LatentExplorer:
        """Change what is shown (what the controls do); returns self.

        Parameters
        ----------
        representation : {"h", "z", "y"}, optional
        projection : {"umap", "pca", "tsne"}, optional
        color_by : str, optional
            One of :data:`COLOR_BY`. Only recolours: no projection is recomputed.
        subset : dict or None, optional
            ``{field: value or values}`` (fields: :data:`SUBSET_BY`); None for all.
        """
        if representation is not None and representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {list(REPRESENTATIONS)}, "
                             f"got {representation!r}")
        if representation is not None and representation not in self.utterances.codes:
            raise ValueError(f"representation {representation!r}: this model gives no "
                             f"{representation} codes")
        if projection is not None and projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {list(PROJECTIONS)}, got {projection!r}")
        if color_by is not None and color_by not in COLOR_BY:
            raise ValueError(f"color_by must be one of {list(COLOR_BY)}, got {color_by!r}")
        new_subset = self.subset if subset is _UNSET else self._check_subset(subset)
        self.representation = representation or self.representation
        self.projection = projection or self.projection
        self.color_by = color_by or self.color_by
        self.subset = new_subset
        self._refresh()
        self._sync_controls()
        return self

    def _subset_rows(self) -> np.ndarray:
        keep = np.ones(len(self.utterances), dtype=bool)
        for key, values in (self.subset or {}).items():
            keep &= np.isin(self.field(key), values)
        return np.flatnonzero(keep)

    def _project(self, rows: np.ndarray) -> np.ndarray:
        """2-D coordinates (len(rows), 2) of the current representation, from the cache."""
        key = (self.representation, self.projection, rows.tobytes())
        if key in self._cache:
            self._set_status(f"{PROJECTIONS[self.projection]} of {self.representation}: "
                             f"{len(rows)} utterances (cached)")
            return self._cache[key]
        name = PROJECTIONS[self.projection]
        slow = " (the first UMAP of a session compiles itself: up to ~20 s)" \
            if self.projection == "umap" and not _UMAP_USED else ""
        self._set_status(f"⏳ projecting {len(rows)} utterances' {self.representation} with "
                         f"{name}…{slow}")
        t0 = time.perf_counter()
        x = self.utterances.codes[self.representation][rows]  # (n, d)
        coords = embed_2d(x, method=self.projection, seed=self.seed)  # (n, 2)
        if self.projection == "umap":
            _UMAP_USED.append(True)
        self.n_projections += 1
        self._cache[key] = coords
        self._set_status(f"{name} of {self.representation}: {len(rows)} utterances in "
                         f"{time.perf_counter() - t0:.1f} s")
        return coords

    def _notes(self, rows: np.ndarray) -> list[str]:
        """Messages about the current colouring and representation."""
        notes = []
        values = self.field(self.color_by)[rows]
        if self.color_by in _CONTINUOUS:
            if not np.isfinite(values).any():
                notes.append(f"These utterances have no {self.color_by} ratings: every point "
                             "is grey.")
            return notes
        if self.color_by in ("predicted", "correct") and not self.emotion_head_trained:
            notes.append("This model's emotion head was never trained: its predictions are "
                         "meaningless, whatever their confidence.")
        real = sorted({v for v in values.tolist() if not v.startswith("(")})
        if self.color_by in ("speaker", "gender", "corpus") and not real:
            notes.append(f"This corpus has no {self.color_by} labels: every point is "
                         "'(unknown)'.")
        elif self.color_by in ("emotion", "correct") and not real:
            notes.append("These utterances have no emotion labels (e.g. an auxiliary corpus): "
                         "colour by 'predicted' instead.")
        elif self.color_by == "emotion" and len(real) == 1:
            notes.append(f"Only one emotion class ({real[0]!r}) among these utterances.")
        elif self.color_by == "predicted" and len(real) == 1:
            notes.append(f"The model predicts {real[0]!r} for every one of these utterances.")
        if len(set(values.tolist())) > MAX_LEGEND:
            shown = group_rare_categories(values, MAX_LEGEND)
            rest = next(c for c in shown.tolist() if c.endswith(" others)"))
            notes.append(f"{len(real)} {self.color_by} values: the legend lists the "
                         f"{len(set(shown.tolist())) - 1} with the most utterances here and "
                         f"greys the rest as {rest!r}. Hover a point to see its {self.color_by}, "
                         f"or choose some with the subset filter.")
        if self.representation == "z" and not self.utterances.has_decoder:
            notes.append(f"In variant {self.utterances.variant!r} nothing trains z (there is no "
                         "decoder): it is a random projection of h.")
        return notes

    def _refresh(self) -> None:
        rows = self._subset_rows()
        notes: list[str] = []
        coords = np.zeros((0, 2))
        if len(rows) == 0:
            notes.append(f"No utterance matches the subset {self.subset}: choose other values.")
            rows = rows[:0]
        elif len(rows) < 3:
            notes.append(f"Only {len(rows)} utterance(s) match the subset {self.subset}: at "
                         "least 3 are needed for a 2-D map.")
            rows = rows[:0]
        else:
            try:
                coords = self._project(rows)
            except (ValueError, TypeError, RuntimeError, ArithmeticError, IndexError) as exc:
                # a failed projection (e.g. UMAP on a handful of points) is a message
                notes.append(f"{PROJECTIONS[self.projection]} failed on {len(rows)} points "
                             f"({type(exc).__name__}: {exc}); try PCA.")
                self._set_status("")
                rows = rows[:0]
        self.rows, self.coords = rows, coords
        if len(rows):
            notes += self._notes(rows)
        self._set_message(" ".join(notes))
        self._redraw()

    # ---- figures -----------------------------------------------------------------------------

    def static_figure(self, *, color_by: str | Sequence[str] | None = None):
        """The current map as a plain ``go.Figure`` (for report.html and exported notebooks).

        Parameters
        ----------
        color_by : str or sequence of str, optional
            Colourings to offer; the first is shown, the others are a menu in the figure.
            Default: the current one.
        """
        names = [self.color_by] if color_by is None else \
            [color_by] if isinstance(color_by, str) else list(color_by)
        for name in names:
            if name not in COLOR_BY:
                raise ValueError(f"color_by must be one of {list(COLOR_BY)}, got {name!r}")
        rows = self.rows
        shown = f"{len(rows)} utterances" + (f", subset {self.subset}" if self.subset else "")
        title = (f"{PROJECTIONS[self.projection]} of the {REPRESENTATIONS[self.representation]}"
                 f" ({shown})")
        return latent_figure(self.coords, colour_by={n: self.field(n)[rows] for n in names},
                             hover=self._hover()[rows], customdata=rows, title=title,
                             max_legend=MAX_LEGEND)

    @cached_property
    def detail_figure(self):
        """The clicked utterance's log-mel, reconstruction and posteriors (``FigureWidget``)."""
        import plotly.graph_objects as go

        return go.FigureWidget(layout={"height": 330, "width": 1000,
                                       "title": "click a point to inspect an utterance"})

    @cached_property
    def player(self):
        """An ``ipywidgets.Output`` holding the clicked utterance's audio player."""
        import ipywidgets as w

        return w.Output()

    def _on_click(self, trace, points, state=None) -> None:
        if points.point_inds and trace.customdata is not None:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def select(self, i: int) -> dict[str, Any]:
        """Inspect utterance ``i`` (what a click on its point does).

        Plays it (an ``IPython.display.Audio`` in :attr:`player`) and draws its log-mel, the
        model's reconstruction and the emotion posteriors in :attr:`detail_figure`.

        Returns
        -------
        dict
            ``index``, ``utt_id``, ``speaker``, ``emotion``, ``predicted``,
            ``probabilities`` (label -> p), ``logmel`` (n_mels, T), ``reconstruction``
            (n_mels, T) or None, ``audio`` (waveform, sample_rate) or None, ``message``.
        """
        from IPython.display import Audio

        u = self.utterances
        if not isinstance(i, (int, np.integer)) or not 0 <= int(i) < len(u):
            raise IndexError(f"i must be an utterance index in [0, {len(u)}), got {i!r}")
        i = int(i)
        row = u.manifest.iloc[i]
        notes = []
        logmel = u.logmel(i)
        recon = u.reconstruction(i)
        if recon is None:
            notes.append(f"This model (variant {u.variant!r}) has no decoder, so there is no "
                         "reconstruction to show.")
        try:
            audio = u.audio(i)
        except AudioError as exc:
            audio = None
            notes.append(f"Cannot play this utterance: {exc}")
        emotion, predicted = self.field("emotion")[i], self.field("predicted")[i]
        trained = self.emotion_head_trained
        fig = utterance_figure(logmel, recon, u.y_prob[i], u.labels,
                               true_label=row["emotion"],
                               title=f"{row['utt_id']}: {emotion}" + (
                                   f", predicted {predicted}" if trained else ""),
                               note=notes[0] if recon is None else "",
                               posterior_title="emotion posterior" if trained else
                               "emotion head never trained: ignore")
        sync_figure(self.detail_figure, fig)
        self.player.outputs = ()
        if audio is not None:
            self.player.append_display_data(Audio(audio[0], rate=audio[1]))
        self._set_message(" ".join(notes))
        self.selected = {"index": i, "utt_id": str(row["utt_id"]),
                         "speaker": str(row["speaker"]), "emotion": str(emotion),
                         "predicted": str(predicted),
                         "probabilities": dict(zip(u.labels, u.y_prob[i].tolist())),
                         "logmel": logmel, "reconstruction": recon, "audio": audio,
                         "message": self.message}
        return self.selected

    # ---- the widget --------------------------------------------------------------------------

    def _set_message(self, text: str) -> None:
        self.message = text
        if "_message_html" in self.__dict__:
            self._message_html.value = _message_markup(text)

    def _set_status(self, text: str) -> None:
        self.status = text
        if "_status_html" in self.__dict__:
            self._status_html.value = html.escape(text)

    @cached_property
    def _message_html(self):
        import ipywidgets as w

        return w.HTML(_message_markup(self.message))

    @cached_property
    def _status_html(self):
        import ipywidgets as w

        return w.HTML(html.escape(self.status))

    @cached_property
    def controls(self) -> dict[str, Any]:
        """The ipywidgets controls by name: ``representation``, ``projection``, ``color_by``,
        ``subset_by``, ``subset_values``, ``apply``."""
        import ipywidgets as w

        c = {
            "representation": w.Dropdown(options=[(f"{k}: {v}", k) for k, v in
                                                  REPRESENTATIONS.items()
                                                  if k in self.utterances.codes],
                                         description="code"),
            "projection": w.Dropdown(options=[(v, k) for k, v in PROJECTIONS.items()],
                                     description="projection"),
            "color_by": w.Dropdown(options=list(COLOR_BY), description="colour by"),
            "subset_by": w.Dropdown(options=["(all)", *SUBSET_BY], description="show"),
            "subset_values": w.SelectMultiple(options=[], rows=4, description="values"),
            "apply": w.Button(description="apply subset",
                              tooltip="project only the chosen utterances"),
        }
        self.__dict__["controls"] = c
        self._sync_controls()
        for name in ("representation", "projection", "color_by"):
            c[name].observe(lambda change, name=name: self._on_control(name, change["new"]),
                            names="value")
        c["subset_by"].observe(lambda change: self._fill_subset_values(change["new"]),
                               names="value")
        c["apply"].on_click(lambda _: self.apply_subset_controls())
        return c

    def _fill_subset_values(self, field: str, chosen: Sequence[str] | None = None) -> None:
        box = self.controls["subset_values"]
        options = [] if field == "(all)" else sorted(set(self.field(field).tolist()))
        was, self._syncing = self._syncing, True
        try:
            box.options = options
            box.value = tuple(v for v in (options if chosen is None else chosen)
                              if v in options)
        finally:
            self._syncing = was

    def apply_subset_controls(self) -> None:
        """Apply the subset chosen in the controls (what the "apply subset" button does)."""
        c = self.controls
        field = c["subset_by"].value
        self.set(subset=None if field == "(all)" else {field: list(c["subset_values"].value)})

    def _on_control(self, name: str, value: str) -> None:
        if not self._syncing:
            self.set(**{name: value})

    def _sync_controls(self) -> None:
        if "controls" not in self.__dict__:
            return
        c = self.controls
        was, self._syncing = self._syncing, True
        try:
            c["representation"].value = self.representation
            c["projection"].value = self.projection
            c["color_by"].value = self.color_by
            if self.subset:
                field, values = next(iter(self.subset.items()))
                c["subset_by"].value = field
                self._fill_subset_values(field, values)
            else:
                c["subset_by"].value = "(all)"
                self._fill_subset_values("(all)")
        finally:
            self._syncing = was

    @cached_property
    def widget(self):
        """The whole app (an ``ipywidgets.VBox``): controls, status, map, details, player."""
        import ipywidgets as w

        c = self.controls
        return w.VBox([
            w.HBox([c["representation"], c["projection"], c["color_by"]]),
            w.HBox([c["subset_by"], c["subset_values"], c["apply"]]),
            self._status_html, self._message_html, self.figure, self.player,
            self.detail_figure])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
