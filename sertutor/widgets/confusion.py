"""ConfusionMatrix: which emotions a model confuses, one or two models side by side.

>>> cm = ConfusionMatrix(y_true, y_pred, labels=["neutral", "happy", "sad", "angry"])
>>> cm.uar, cm.wa                                                       # doctest: +SKIP
>>> ConfusionMatrix.from_model(full, data, compare={"baseline": base})  # doctest: +SKIP

Each cell shows the count and the row-normalised recall; the title holds UAR (the mean of the
diagonal of the row-normalised matrix) and WA (the trace over the total). A toggle colours by
recall or by count. Clicking a cell (or :meth:`ConfusionMatrix.select_cell`) lists the
utterances in it, with audio players when the utterances are known.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..audio import SAMPLE_RATE, AudioError, check_waveform, load_audio
from ..data.manifest import EMOTIONS, EMOTIONS_EXTENDED
from .figures import ClickableFigure, confusion_comparison_figure, confusion_scores
from .utterances import Utterances, collect_utterances

# ipywidgets and IPython are imported where the widget is built or shown: they take seconds to
# load, and the HTML report (``sertutor train``) draws the static figure without them.

__all__ = ["ConfusionMatrix"]


def _as_indices(values, *, name: str, labels: Sequence[str]) -> np.ndarray:
    """Class indices (n,) from indices or label names; ValueError naming ``name``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per utterance), got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        bad = sorted(set(arr[(arr < 0) | (arr >= len(labels))].tolist()))
        if bad:
            raise ValueError(f"{name} holds class indices {bad[:5]} outside 0..{len(labels) - 1} "
                             f"(labels has {len(labels)} classes)")
        return arr.astype(np.int64)
    if arr.dtype.kind in "UO":
        index = {lab: k for k, lab in enumerate(labels)}
        bad = sorted({str(v) for v in arr.tolist() if v not in index})
        if bad:
            raise ValueError(f"{name} holds labels {bad[:5]} that are not in labels "
                             f"{list(labels)}")
        return np.array([index[v] for v in arr.tolist()], dtype=np.int64)
    raise ValueError(f"{name} must hold class indices (ints) or label names (str), got dtype "
                     f"{arr.dtype}")


def _infer_labels(arrays: Sequence[Any]) -> tuple[str, ...]:
    """Class names for ``labels=None`` from the data, as sklearn infers them.

    Label names: the names present, in the emotion order (:data:`EMOTIONS_EXTENDED`) when they
    are all emotions, else sorted. Class indices: the four emotion names when they span 0..3
    (sertutor's classes), else ``"0" ... "K-1"``.
    """
    values = [np.asarray(a) for a in arrays]
    for name, arr in zip(("y_true", "y_pred"), values):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one label per utterance), got shape "
                             f"{arr.shape}")
    flat = [v for arr in values for v in arr.tolist()]
    if not flat:
        raise ValueError("labels cannot be inferred without utterances; pass labels=")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in flat):
        low, high = min(flat), max(flat)
        if low < 0:
            raise ValueError(f"class indices must be >= 0, got {low}")
        if high == len(EMOTIONS) - 1:
            return tuple(EMOTIONS)
        return tuple(str(k) for k in range(high + 1))
    if all(isinstance(v, str) for v in flat):
        present = set(flat)
        if present <= set(EMOTIONS_EXTENDED):
            return tuple(e for e in EMOTIONS_EXTENDED if e in present)
        return tuple(sorted(present))
    raise ValueError("y_true and y_pred must hold class indices (ints) or label names (str) "
                     "to infer labels; pass labels= otherwise")


def _base_corpus(spec: str) -> str:
    """``"ravdess:/data/x"`` -> ``"ravdess"``, ``"synth-emo@tiny"`` -> ``"synth-emo"``."""
    return str(spec).split(":")[0].split("@")[0].strip().lower()


def _training_overlap(source, meta: dict | None) -> tuple[bool | None, str]:
    """Whether scoring ``source`` includes speakers the model trained on, and a note saying so.

    ``meta["specs"]["emotion"]`` names the emotion corpus a run trained on: a corpus spec or
    manifest of that corpus holds its training speakers (all but the held-out fold), as
    :func:`sertutor.jobs.evaluate_checkpoint` also reports. A
    :class:`~sertutor.pipeline.PreparedData` part is held out. None: cannot tell.
    """
    if isinstance(source, Utterances):
        return None, ""  # made by the caller, from whatever source: their call
    if not isinstance(source, (str, pd.DataFrame)):  # PreparedData: held-out parts
        return False, ""
    if isinstance(source, str):
        corpora = {_base_corpus(source)}
    elif "corpus" in source.columns:
        corpora = {_base_corpus(c) for c in source["corpus"] if c}
    else:
        corpora = set()
    specs = (meta or {}).get("specs") or {}
    if not specs:
        return None, ("Cannot tell whether these utterances' speakers were in training (pass "
                      "meta= from pretrained.load / load_trained); if the model was trained "
                      "on this corpus, the score is optimistic.")
    trained = {_base_corpus(specs["emotion"])} if specs.get("emotion") else set()
    overlap = sorted(corpora & trained)
    if not overlap:
        return False, ""
    return True, (f"Includes the speakers the model was trained on ({', '.join(overlap)} is a "
                  f"training corpus): the score is optimistic. Score the held-out speakers "
                  f"with from_model(model, data) on prepare_data(...) instead.")


def _message_markup(text: str) -> str:
    """The widget's message line as HTML ("" when there is nothing to say)."""
    return f"<span style='color:#a04000'>{html.escape(text)}</span>" if text else ""


class ConfusionMatrix(ClickableFigure):
    """Interactive confusion matrix of one model, or of several side by side.

    Parameters
    ----------
    y_true : array of int or str, shape (n,)
        True classes: indices into ``labels`` or label names.
    y_pred : array of int or str, shape (n,)
        Predicted classes of the model called ``name``.
    labels : sequence of str, length K, optional
        Class names, in index order. Default: inferred from the data, like sklearn (names
        present, in the emotion order when they are emotions; indices 0..3 as the four
        emotion names, other indices as "0" ... "K-1").
    utterances : Utterances or pandas.DataFrame, optional
        The n utterances (in the same order), to list and play a cell's utterances.
    name : str
        Name of the model (panel title).
    compare : dict of str -> array of int or str, shape (n,), optional
        Predictions of further models on the same utterances, shown side by side.
    normalize : bool
        Colour by row-normalised recall (True) or by count (False).
    max_players : int
        At most this many audio players when a cell is listed.

    Attributes
    ----------
    y_true : numpy.ndarray of int, shape (n,)
    predictions : dict of str -> numpy.ndarray of int, shape (n,)
        Model name -> predicted classes (the first is ``name``).
    matrices : dict of str -> numpy.ndarray of int, shape (K, K)
    scores : dict of str -> {"uar", "wa"}
    message : str
        What is unusual, in words ("" when fine); also shown in the widget.
    includes_training_speakers : bool or None
        :meth:`from_model`: whether the scored utterances include speakers the model trained
        on (None: unknown, no ``meta``); the title and :attr:`message` say so.
    selection : pandas.DataFrame or None
        What the last :meth:`select_cell` returned.
    """

    def __init__(self, y_true, y_pred, *, labels: Sequence[str] | None = None,
                 utterances: Utterances | pd.DataFrame | None = None, name: str = "model",
                 compare: Mapping[str, Any] | None = None, normalize: bool = True,
                 max_players: int = 8):
        if labels is None:
            labels = _infer_labels([y_true, y_pred, *(compare or {}).values()])
        if isinstance(labels, str) or len(labels) == 0:
            raise ValueError(f"labels must be a non-empty sequence of class names, got {labels!r}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be distinct, got {list(labels)}")
        self.labels = tuple(str(lab) for lab in labels)
        self.y_true = _as_indices(y_true, name="y_true", labels=self.labels)
        n = len(self.y_true)
        preds = {str(name): y_pred, **{str(k): v for k, v in (compare or {}).items()}}
        if compare is not None and len(preds) != 1 + len(compare):
            raise ValueError(f"compare: a model is named like name={name!r}; give it another name")
        self.predictions: dict[str, np.ndarray] = {}
        for model, pred in preds.items():
            arg = "y_pred" if model == str(name) else f"compare[{model!r}]"
            pred = _as_indices(pred, name=arg, labels=self.labels)
            if len(pred) != n:
                raise ValueError(f"y_true and {arg} differ in length: {n} vs {len(pred)}")
            self.predictions[model] = pred
        if utterances is not None:
            if not isinstance(utterances, (Utterances, pd.DataFrame)):
                raise TypeError(f"utterances must be Utterances or a manifest DataFrame, got "
                                f"{type(utterances).__name__}")
            if len(utterances) != n:
                raise ValueError(f"utterances has {len(utterances)} rows but y_true has {n}")
        self.utterances = utterances
        self.normalize = bool(normalize)
        self.max_players = int(max_players)
        k = len(self.labels)
        self.matrices = {}
        for model, pred in self.predictions.items():
            cm = np.zeros((k, k), dtype=np.int64)  # (K, K)
            np.add.at(cm, (self.y_true, pred), 1)
            self.matrices[model] = cm
        self.scores = {m: dict(zip(("uar", "wa"), confusion_scores(cm)))
                       for m, cm in self.matrices.items()}
        self.selection: pd.DataFrame | None = None
        self.message = ""
        self.includes_training_speakers: bool | None = False
        self._caveat = ""  # what from_model knows about the scored speakers
        self._set_message(self._notes())

    # ---- constructors ------------------------------------------------------------------------

    @classmethod
    def from_model(cls, model, source, *, config=None, meta: dict | None = None,
                   compare: Mapping[str, Any] | None = None, name: str | None = None,
                   parts: Sequence[str] = ("test",), max_utterances: int | None = None,
                   normalize: bool = True, device=None) -> ConfusionMatrix:
        """Score ``model`` (and the models in ``compare``) on the emotion-labelled utterances
        of ``source``.

        Parameters
        ----------
        model : sertutor.models.MultiTaskAAE
        source : PreparedData, str, pandas.DataFrame or Utterances
            See :func:`~sertutor.widgets.utterances.collect_utterances`.
        compare : dict of str -> model, optional
            Further models, run on exactly the same segments (e.g. ``{"baseline": base}``).
        name : str, optional
            Name of ``model`` (default: its variant).
        max_utterances : int or None
            None (default) scores every utterance.
        """
        utts = collect_utterances(model, source, config=config, meta=meta, parts=parts,
                                  max_utterances=max_utterances, device=device)
        utts = utts.subset(utts.true >= 0)  # only emotion-labelled utterances can be scored
        others = {str(k): utts.probabilities(m).argmax(1) if len(utts) else np.zeros(0, int)
                  for k, m in (compare or {}).items()}
        cm = cls(utts.true, utts.pred, labels=utts.labels, utterances=utts,
                 name=name or utts.variant, compare=others or None, normalize=normalize)
        cm.includes_training_speakers, cm._caveat = _training_overlap(source, meta)
        cm._set_message(cm._notes())
        return cm

    @classmethod
    def from_confusion(cls, confusion, *, labels: Sequence[str], name: str = "model",
                       normalize: bool = True) -> ConfusionMatrix:
        """From a stored confusion matrix (K, K) (e.g. ``metrics["confusion"]``): one
        (true, predicted) pair per counted utterance."""
        cm = np.asarray(confusion, dtype=float)
        k = len(labels)
        if cm.shape != (k, k):
            raise ValueError(f"confusion must be a ({k}, {k}) matrix matching labels, got shape "
                             f"{cm.shape}")
        if not np.all(np.isfinite(cm)) or (cm < 0).any() or not np.all(cm == np.round(cm)):
            raise ValueError("confusion must hold non-negative whole counts")
        counts = cm.astype(np.int64).ravel()  # (K*K,)
        cells = np.repeat(np.arange(k * k), counts)  # (n,)
        return cls(cells // k, cells % k, labels=labels, name=name, normalize=normalize)

    # ---- scores and messages -----------------------------------------------------------------

    @property
    def name(self) -> str:
        """Name of the first model."""
        return next(iter(self.predictions))

    @property
    def uar(self) -> float:
        """Unweighted average recall of the first model (NaN without utterances)."""
        return self.scores[self.name]["uar"]

    @property
    def wa(self) -> float:
        """Weighted accuracy of the first model (NaN without utterances)."""
        return self.scores[self.name]["wa"]

    def _notes(self) -> str:
        caveat = getattr(self, "_caveat", "")
        if len(self.y_true) == 0:
            return "No utterances to score (no emotion-labelled utterance in this selection)."
        present = np.unique(self.y_true)
        if len(present) == 1:
            return " ".join(filter(None, (
                f"Only one true class ({self.labels[present[0]]!r}) among these utterances: "
                "UAR is just its recall, and the other rows are empty.", caveat)))
        return caveat

    # ---- figures -----------------------------------------------------------------------------

    def static_figure(self):
        """The matrices as a plain ``go.Figure`` (one heatmap trace per model, in order)."""
        title = None
        if len(self.matrices) == 1:
            title = f"{self.name}: UAR {self.uar:.1%} · WA {self.wa:.1%} (n = {len(self.y_true)})"
            if self.includes_training_speakers:
                title += " · includes training speakers (optimistic)"
        return confusion_comparison_figure(self.matrices, self.labels, normalize=self.normalize,
                                           title=title)

    def _on_click(self, trace, points, state=None) -> None:
        if points.xs and points.ys:
            self.select_cell(points.ys[0], points.xs[0], model=trace.name)

    def set(self, *, normalize: bool | None = None) -> ConfusionMatrix:
        """Colour by recall (``normalize=True``) or by count; returns self."""
        if normalize is not None:
            self.normalize = bool(normalize)
        self._redraw()
        if "_toggle" in self.__dict__ and self._toggle.value != self.normalize:
            self._toggle.value = self.normalize
        return self

    # ---- a cell ------------------------------------------------------------------------------

    def _label_index(self, label, arg: str) -> int:
        if isinstance(label, (int, np.integer)) and 0 <= int(label) < len(self.labels):
            return int(label)
        if isinstance(label, str) and label in self.labels:
            return self.labels.index(label)
        raise ValueError(f"{arg} must be one of {list(self.labels)} or an index below "
                         f"{len(self.labels)}, got {label!r}")

    def select_cell(self, true_label, pred_label, *, model: str | None = None) -> pd.DataFrame:
        """The utterances of true class ``true_label`` that ``model`` predicted as
        ``pred_label`` (what a click on that cell does).

        Lists them in :attr:`cell_output`, with an audio player for the first
        ``max_players`` when :attr:`utterances` is given.

        Parameters
        ----------
        true_label, pred_label : str or int
            Class names or indices.
        model : str, optional
            Which model's matrix (default: the first).

        Returns
        -------
        pandas.DataFrame
            One row per utterance in the cell, indexed by its position in ``y_true``:
            ``true``, ``predicted`` and, with utterances, ``utt_id``, ``speaker`` and
            ``confidence`` (the posterior of the predicted class, from Utterances).
        """
        model = self.name if model is None else str(model)
        if model not in self.predictions:
            raise ValueError(f"model must be one of {list(self.predictions)}, got {model!r}")
        t = self._label_index(true_label, "true_label")
        p = self._label_index(pred_label, "pred_label")
        pred = self.predictions[model]
        rows = np.flatnonzero((self.y_true == t) & (pred == p))  # (n_cell,)
        table = pd.DataFrame({"true": [self.labels[t]] * len(rows),
                              "predicted": [self.labels[p]] * len(rows)}, index=rows)
        manifest = self.utterances.manifest if isinstance(self.utterances, Utterances) \
            else self.utterances
        if manifest is not None:
            for col in ("utt_id", "speaker"):
                table[col] = manifest[col].to_numpy()[rows]
            if isinstance(self.utterances, Utterances) and model == self.name:
                table["confidence"] = self.utterances.y_prob[rows, p]
        table.index.name = "utterance"
        self.selection = table
        what = f"{model}: true {self.labels[t]}, predicted {self.labels[p]}"
        if not len(rows):  # the notes (e.g. "optimistic") still hold for the whole matrix
            self._set_message(" ".join(filter(None, (f"No utterance in the cell {what}.",
                                                     self._notes()))))
        else:
            self._set_message(self._notes())
        self._show_cell(what, table)
        return table

    def _player_html(self, i: int) -> str:
        """An audio player for utterance ``i``, or a short reason why there is none."""
        from IPython.display import Audio

        try:
            if isinstance(self.utterances, Utterances):
                wave, sr = self.utterances.audio(i)
            else:
                row = self.utterances.iloc[i]
                audio = row["audio"]
                wave = check_waveform(audio, source=row["utt_id"]) if audio is not None and \
                    not (isinstance(audio, float) and np.isnan(audio)) else load_audio(row["path"])
                sr = SAMPLE_RATE
        except AudioError as exc:
            return html.escape(f"cannot play: {exc}")
        return Audio(wave, rate=sr)._repr_html_()

    def _show_cell(self, what: str, table: pd.DataFrame) -> None:
        from IPython.display import HTML

        out = self.cell_output
        out.outputs = ()
        head = f"<b>{html.escape(what)}</b>: {len(table)} utterance(s)"
        if not len(table):
            out.append_display_data(HTML(head))
            return
        if self.utterances is None:
            out.append_display_data(HTML(
                f"{head} (positions in y_true: {html.escape(str(table.index.tolist()[:50]))}). "
                "Pass utterances= (e.g. from collect_utterances) to list and play them."))
            return
        shown = table.head(self.max_players)
        cols = [c for c in ("utt_id", "speaker", "confidence") if c in shown]

        def cell(value) -> str:
            text = f"{value:.0%}" if isinstance(value, float) else str(value)
            return f"<td>{html.escape(text)}</td>"

        body = "".join(
            "<tr>" + "".join(cell(shown.at[i, c]) for c in cols)
            + f"<td>{self._player_html(int(i))}</td></tr>" for i in shown.index)
        header = "".join(f"<th>{c}</th>" for c in cols) + "<th>listen</th>"
        more = f" (players for the first {self.max_players})" if len(table) > len(shown) else ""
        out.append_display_data(HTML(f"{head}{more}<table><tr>{header}</tr>{body}</table>"))

    # ---- the widget --------------------------------------------------------------------------

    def _set_message(self, text: str) -> None:
        self.message = text
        if "_message_html" in self.__dict__:
            self._message_html.value = _message_markup(text)

    @cached_property
    def _message_html(self):
        import ipywidgets as w

        return w.HTML(_message_markup(self.message))

    @cached_property
    def cell_output(self):
        """An ``ipywidgets.Output`` listing the selected cell's utterances with players."""
        import ipywidgets as w

        return w.Output()

    @cached_property
    def _toggle(self):
        import ipywidgets as w

        toggle = w.ToggleButtons(options=[("recall (row-normalised)", True), ("count", False)],
                                 value=self.normalize, description="colour by")
        toggle.observe(lambda change: self.set(normalize=change["new"]), names="value")
        return toggle

    @cached_property
    def widget(self):
        """The whole app (an ``ipywidgets.VBox``): toggle, message, matrices, cell list."""
        import ipywidgets as w

        return w.VBox([self._toggle, self._message_html, self.figure, self.cell_output])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
