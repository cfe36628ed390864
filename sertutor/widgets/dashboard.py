"""A live training dashboard: watch the three phases and the adversarial game as they train.

:class:`TrainingDashboard` is a :class:`sertutor.train.Callback`. Display it in a notebook cell,
then pass it to the trainer; it redraws a plotly ``FigureWidget`` while the cell runs::

    dash = TrainingDashboard()
    dash                                        # shows the (empty) dashboard
    trainer, metrics = train_and_evaluate(cfg, data, callbacks=[dash])

The five panels are those of :func:`sertutor.widgets.figures.training_curves_figure`:
reconstruction loss; adversarial losses (D_z, D_y and the encoder as generator); supervised
losses (emotion, speaker, gender, dimensional); the discriminators' accuracies; validation UAR
and WA. Loss curves are trailing moving averages over ``smooth`` steps (the newest point is
the mean of the last ``smooth`` steps, so it is not pulled towards zero at the end).

Reading the adversarial game (Goodfellow et al. 2014; Makhzani et al. 2016): a discriminator
that separates prior samples from codes perfectly (accuracy ~1) gives the encoder no useful
gradient; one that is always fooled (~0) no longer shapes the codes. Healthy training keeps
both accuracies in between, often near 0.5. The dashboard says so in its message when an
accuracy has sat at 0 or 1 over the last ``collapse_window`` steps.

Cost: a step only appends its losses to lists; the figure is redrawn at most once every
``min_interval`` seconds (in one ``batch_update``, each curve thinned to ``max_points``
points), on every validation pass, and once at the end of training, so the full final state
is always drawn. ``benchmarks/dashboard_overhead.py`` measures the slowdown.

References
----------
- I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014.
- A. Makhzani, J. Shlens, N. Jaitly, I. Goodfellow and B. Frey, "Adversarial autoencoders",
  ICLR workshop 2016 (arXiv:1511.05644).
- S. Latif et al., "Multi-task semi-supervised adversarial autoencoding for speech emotion
  recognition", IEEE Trans. Affective Computing 13(2), 2022 (arXiv:1907.06078).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..train import Callback
from .figures import PANELS, trailing_mean, training_curves_figure

# plotly, ipywidgets and IPython are imported where a dashboard is built or shown: they take
# seconds to load, and importing this module (for the Callback) should not.

__all__ = ["EVAL_KEYS", "PANELS", "TrainingDashboard", "trailing_mean"]

#: Validation metrics drawn in the fifth panel.
EVAL_KEYS: tuple[str, ...] = ("uar", "wa")
_ACCURACIES = {"acc_d_z": "D_z", "acc_d_y": "D_y"}


def _check_number(value: Any, name: str, *, low: float, integer: bool = False) -> float:
    ok_type = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok_type) or not math.isfinite(value) \
            or value < low:
        kind = "an int" if integer else "a number"
        raise ValueError(f"{name} must be {kind} >= {low}, got {value!r}")
    return value


def _thin(n: int, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` points, evenly spread, last one included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


class TrainingDashboard(Callback):
    """Live plots of a training run's losses, discriminator accuracies and validation UAR.

    Parameters
    ----------
    min_interval : float
        Seconds between redraws while training (>= 0); a few per second at most keeps the
        cost of drawing far below that of training.
    smooth : int
        Steps in the trailing moving average of each curve (1: raw values).
    max_points : int
        Points per curve in the figure (longer runs are thinned evenly).
    collapse_window : int
        Steps a discriminator accuracy must sit at 0 or 1 before the collapse hint shows.
    clock : callable
        Returns the time in seconds (``time.perf_counter``); tests pass a fake clock.

    Attributes
    ----------
    figure : plotly.graph_objects.FigureWidget
        Updated in place.
    widget : ipywidgets.VBox
        Status line, smoothing slider, figure and message.
    message : str
        The collapse hint, or "" while the adversarial game looks healthy.
    n_updates : int
        Redraws so far.
    history : list of dict
        ``{"step", **logs}`` per step seen (as ``Trainer.history``).
    evals : list of dict
        ``{"step", "uar", "wa"}`` per validation pass.
    seconds_in_callbacks : float
        Time spent inside this callback's hooks (its share of the training time).
    """

    def __init__(self, *, min_interval: float = 0.5, smooth: int = 10, max_points: int = 500,
                 collapse_window: int = 20, clock: Callable[[], float] = time.perf_counter):
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.min_interval = float(_check_number(min_interval, "min_interval", low=0.0))
        self.smooth = int(_check_number(smooth, "smooth", low=1, integer=True))
        self.max_points = int(_check_number(max_points, "max_points", low=10, integer=True))
        self.collapse_window = int(_check_number(collapse_window, "collapse_window", low=2,
                                                 integer=True))
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._reset()
        self.figure = go.FigureWidget(self._empty_figure())
        self._status = widgets.HTML()
        self._message = widgets.HTML()
        self._smooth_slider = widgets.IntSlider(
            value=self.smooth, min=1, max=100, description="smoothing", continuous_update=False,
            style={"description_width": "initial"})
        self._smooth_slider.observe(self._on_smooth, names="value")
        self.widget = widgets.VBox([self._status, self._smooth_slider, self.figure,
                                    self._message])
        self.n_updates = 0
        self._draw()

    # ------------------------------------------------------------------------- state
    def _reset(self) -> None:
        self.history: list[dict[str, float]] = []
        self.evals: list[dict[str, Any]] = []
        self._steps: dict[str, list[int]] = {}  # key -> steps at which it was logged
        self._values: dict[str, list[float]] = {}  # key -> its values
        self.total_steps: int | None = None
        self.message = ""
        self.seconds_in_callbacks = 0.0
        self._last_draw = -math.inf
        self._t_start: float | None = None
        self._step0 = 0
        self._finished = False

    def _record(self, step: int, logs: dict[str, float]) -> None:
        self.history.append({"step": step, **logs})
        for key, value in logs.items():
            self._steps.setdefault(key, []).append(step)
            self._values.setdefault(key, []).append(float(value))

    # ----------------------------------------------------------------------- figures
    def _empty_figure(self):
        """The layout of ``training_curves_figure`` with one empty trace per curve."""
        import plotly.graph_objects as go

        fig = training_curves_figure([], [], smooth=self.smooth)  # layout only, no traces
        self._trace_of: dict[str, int] = {}
        for col, keys in enumerate(PANELS, start=1):
            for key in keys:
                self._trace_of[key] = len(fig.data)
                fig.add_trace(go.Scatter(x=[], y=[], name=key, mode="lines"), 1, col)
        for key in EVAL_KEYS:
            self._trace_of[key] = len(fig.data)
            fig.add_trace(go.Scatter(x=[], y=[], name=f"val {key.upper()}",
                                     mode="lines+markers"), 1, 5)
        fig.add_hline(y=0.5, line_dash="dot", line_color="grey", row=1, col=4)
        fig.update_yaxes(range=[-0.05, 1.05], row=1, col=4)
        fig.update_yaxes(range=[0.0, 1.0], row=1, col=5)
        return fig

    def _curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """key -> (steps, smoothed values), thinned to ``max_points``."""
        out = {}
        for key, steps in self._steps.items():
            if key not in self._trace_of:
                continue
            y = trailing_mean(np.asarray(self._values[key]), self.smooth)  # (n,)
            keep = _thin(len(y), self.max_points)
            out[key] = (np.asarray(steps)[keep], y[keep])
        for key in EVAL_KEYS:
            out[key] = (np.array([e["step"] for e in self.evals]),
                        np.array([e[key] for e in self.evals], dtype=float))
        return out

    def _collapse_hint(self) -> str:
        hints = []
        for key, name in _ACCURACIES.items():
            recent = self._values.get(key, [])[-self.collapse_window:]
            if len(recent) < self.collapse_window:
                continue
            mean = float(np.mean(recent))
            if mean >= 0.99:
                hints.append(
                    f"{name} accuracy has been {mean:.2f} over the last {len(recent)} steps: "
                    f"the discriminator always wins, so the encoder gets no useful gradient "
                    f"from it (the adversarial game has collapsed). Try a lower train.disc_lr "
                    f"or a higher train.w_adv.")
            elif mean <= 0.01:
                hints.append(
                    f"{name} accuracy has been {mean:.2f} over the last {len(recent)} steps: "
                    f"the discriminator is always fooled, so it no longer shapes the codes "
                    f"(the adversarial game has collapsed). Try a higher train.disc_lr or a "
                    f"lower train.w_adv.")
        return " ".join(hints)

    def _status_text(self) -> str:
        step = self.history[-1]["step"] if self.history else 0
        parts = [f"step {step}" + (f" / {self.total_steps}" if self.total_steps else "")]
        if self._t_start is not None and step > self._step0:
            elapsed = self._clock() - self._t_start
            if elapsed > 0:
                parts.append(f"{(step - self._step0) / elapsed:.1f} steps/s")
        if self.evals:
            best = max(self.evals, key=lambda e: e["uar"])
            parts.append(f"val UAR {self.evals[-1]['uar']:.1%} (best {best['uar']:.1%} at "
                         f"step {best['step']})")
        if self._finished:
            parts.append("done")
        return " · ".join(parts)

    def _fill(self, fig) -> None:
        """Write the current curves, title and hint into ``fig`` (a Figure or FigureWidget)."""
        for key, (x, y) in self._curves().items():
            trace = fig.data[self._trace_of[key]]
            trace.x, trace.y = x, y
        title = self._status_text()
        if self.message:
            title = "⚠ adversarial game collapsed · " + title
        fig.layout.title.text = title

    def _draw(self) -> None:
        """Redraw everything now (one batched update of the FigureWidget)."""
        self.message = self._collapse_hint()
        with self.figure.batch_update():
            self._fill(self.figure)
        self._status.value = f"<b>{html.escape(self._status_text())}</b>"
        self._message.value = (f"<span style='color:#b45309'>⚠ {html.escape(self.message)}"
                               f"</span>" if self.message else "")
        self.n_updates += 1
        self._last_draw = self._clock()

    def _maybe_draw(self) -> None:
        if self._clock() - self._last_draw >= self.min_interval:
            self._draw()

    def _on_smooth(self, change: dict) -> None:
        self.smooth = int(change["new"])
        self._draw()

    def static_figure(self):
        """The current curves as a plain ``plotly.graph_objects.Figure`` (for HTML export)."""
        import plotly.graph_objects as go

        fig = go.Figure(self._empty_figure())
        self._fill(fig)
        return fig

    # --------------------------------------------------------------------- callbacks
    def on_train_start(self, trainer) -> None:
        """Reset, take the trainer's step budget and any history it resumes from."""
        t0 = self._clock()
        self._reset()
        cfg = getattr(trainer, "cfg", None)
        # the trainer's budget counts its pre-training steps; a bare config only its steps
        self.total_steps = getattr(trainer, "total_steps", getattr(cfg, "steps", None))
        for record in getattr(trainer, "history", None) or []:
            record = dict(record)
            self._record(int(record.pop("step")), record)
        self.evals = [dict(e) for e in getattr(trainer, "evals", None) or []]
        self._step0 = self.history[-1]["step"] if self.history else 0
        self._t_start = self._clock()
        self._draw()
        self.seconds_in_callbacks += self._clock() - t0

    def on_step_end(self, trainer, step: int, logs: dict[str, float]) -> None:
        """Store the step's losses; redraw if ``min_interval`` seconds have passed."""
        t0 = self._clock()
        self._record(int(step), logs)
        self._maybe_draw()
        self.seconds_in_callbacks += self._clock() - t0

    def on_eval_end(self, trainer, step: int, metrics: dict[str, Any]) -> None:
        """Add the validation UAR and WA and redraw (validation passes are rare)."""
        t0 = self._clock()
        self.evals.append({"step": int(step), "uar": float(metrics["uar"]),
                           "wa": float(metrics["wa"])})
        self._draw()
        self.seconds_in_callbacks += self._clock() - t0

    def on_train_end(self, trainer) -> None:
        """Draw the final state, whatever the throttle says."""
        t0 = self._clock()
        self._finished = True
        self._draw()
        self.seconds_in_callbacks += self._clock() - t0

    # ----------------------------------------------------------------------- display
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return (f"TrainingDashboard({len(self.history)} steps, {len(self.evals)} evals, "
                f"{self.n_updates} redraws)")
