"""Sample the adversarial autoencoder's priors: pick an emotion y, move the style z, listen.

The semi-supervised AAE (Makhzani et al. 2016, section 5) is trained so that the codes of real
speech look like samples of two priors: a one-hot categorical p(y) for the emotion and a
Gaussian p(z) = N(0, prior_std^2 I) for the style. If that worked, the decoder p(x|y, z) is a
generator: any one-hot y and any z drawn from the prior should decode into a plausible
log-mel segment. :class:`PriorSampler` lets learners try it:

- choose the emotion code y (a one-hot vector) and move one slider per dimension of z, or draw
  z from the prior;
- see the decoded segment (converted back to dB with the training corpus's
  :class:`~sertutor.features.NormStats`) and hear it: an inverse mel filterbank and
  Griffin-Lim phase reconstruction (Griffin & Lim 1984) turn it into a waveform
  (:func:`sertutor.features.log_mel_to_audio`);
- compare, per dimension, the histogram of the codes z the encoder gives real segments (from
  ``source``) with the prior's density: the gap is what D_z could still detect.

A model without a decoder (``baseline``, ``mtl``) cannot generate; the widget then says so in
its message instead of failing.

References
----------
- A. Makhzani, J. Shlens, N. Jaitly, I. Goodfellow and B. Frey, "Adversarial autoencoders",
  ICLR workshop 2016 (arXiv:1511.05644).
- D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time Fourier
  transform", IEEE Trans. ASSP 32(2), 1984.
- S. Latif et al., "Multi-task semi-supervised adversarial autoencoding for speech emotion
  recognition", IEEE Trans. Affective Computing 13(2), 2022 (arXiv:1907.06078).
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import Config
from ..data.manifest import emotion_labels
from ..data.prepare import segments_for_model
from ..data.segments import SegmentSet
from ..evaluate import predict
from ..features import NormStats, log_mel_to_audio
from ..models import sample_gaussian_prior
from .figures import resend_trace_names, waveform_envelope

# plotly, ipywidgets and IPython are imported where the widget is built or shown: they take
# seconds to load.

__all__ = ["PriorSampler"]

_BINS = 30  # histogram bins over [-z_range, z_range] prior standard deviations


@contextlib.contextmanager
def _eval_mode(model) -> Iterator[None]:
    """Evaluation mode (no dropout) and no gradients; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


class PriorSampler:
    """Decode an emotion code y and a style code z chosen with sliders; show and play it.

    Parameters
    ----------
    model : MultiTaskAAE
        A trained model; generating needs a decoder (``ae``, ``aae``, ``full``).
    config : Config
        The model's configuration (``pretrained.load`` / ``load_trained`` return it).
    meta : dict, optional
        The run's metadata (the third value of ``pretrained.load``): its
        ``meta["norm_stats"]["emotion"]`` turns decoded segments back into dB and its label
        maps name the emotions. May be omitted when ``source`` is a ``PreparedData``.
    source : optional
        Real speech whose codes z are compared with the prior: a ``PreparedData`` (its test
        set), a ``SegmentSet``, a corpus spec (``"synth-emo"``), a manifest DataFrame, or the
        codes themselves as an array of shape (n, z_dim). None: the prior alone.
    seed : int
        Seed of :meth:`draw_prior` and of the subsample of ``source``.
    n_iter : int
        Griffin-Lim iterations (see :func:`sertutor.features.log_mel_to_audio`).
    max_segments : int
        At most this many segments of ``source`` are encoded (a random subset).
    z_range : float
        The sliders span ``[-z_range, z_range]`` prior standard deviations.

    Attributes
    ----------
    figure : plotly.graph_objects.FigureWidget
        Decoded log-mel (dB), its Griffin-Lim waveform, encoded z versus the prior.
    widget : ipywidgets.VBox
    message : str
        Why the sampler cannot work ("" when it can).
    emotion : str
        The emotion of the one-hot code y.
    z : numpy.ndarray, shape (z_dim,)
        The style code.
    logmel : numpy.ndarray, shape (n_mels, T), or None
        The decoded segment in dB (static channel); None without a decoder.
    z_codes : numpy.ndarray, shape (n, z_dim), or None
        Codes z of the source's segments.
    """

    def __init__(self, model, *, config, meta: dict | None = None, source: Any = None,
                 seed: int = 0, n_iter: int = 32, max_segments: int = 400,
                 z_range: float = 4.0):
        if not isinstance(model, torch.nn.Module) or not hasattr(model, "model_config"):
            raise TypeError(f"model must be a sertutor MultiTaskAAE (pretrained.load returns "
                            f"one), got {type(model).__name__}")
        if not isinstance(config, Config):
            raise TypeError(f"config must be a sertutor Config (the second value of "
                            f"pretrained.load), got {type(config).__name__}")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"meta must be a dict (the third value of pretrained.load), got "
                            f"{type(meta).__name__}")
        for name, value, low in (("seed", seed, 0), ("n_iter", n_iter, 1),
                                 ("max_segments", max_segments, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if isinstance(z_range, bool) or not isinstance(z_range, (int, float)) \
                or not 0.5 <= z_range <= 10:
            raise ValueError(f"z_range must be a number in [0.5, 10] (prior standard "
                             f"deviations), got {z_range!r}")
        self.model, self.config, self.meta = model, config, dict(meta or {})
        self.seed, self.n_iter, self.max_segments = int(seed), int(n_iter), int(max_segments)
        mc = model.model_config
        self.prior_std = float(mc.prior_std)
        self.z_limit = float(z_range) * self.prior_std
        self.sample_rate = int(config.features.sample_rate)
        self.labels = list(self.meta.get("label_maps", {}).get("emotions", [])) or \
            list(emotion_labels(mc.n_emotions))
        if len(self.labels) != mc.n_emotions:
            raise ValueError(f"meta['label_maps']['emotions'] names {len(self.labels)} "
                             f"emotions but the model has {mc.n_emotions}")
        self.has_decoder = bool(getattr(model, "has_decoder", False))
        self.message = "" if self.has_decoder else (
            f"This model (variant {getattr(model, 'variant', '?')!r}) has no decoder, so it "
            f"cannot turn a code (y, z) back into a spectrogram. Use a model with a decoder: "
            f"pretrained.load('classroom'), or train the 'ae', 'aae' or 'full' variant.")
        self.norm_stats = None
        stats = self.meta.get("norm_stats", {}).get("emotion")
        if stats is not None:
            self.norm_stats = NormStats.from_dict(stats)
        elif hasattr(source, "norm_stats") and "emotion" in source.norm_stats:
            self.norm_stats = source.norm_stats["emotion"]
        elif self.has_decoder:
            raise ValueError("meta must hold meta['norm_stats']['emotion'] (pass the third "
                             "value of pretrained.load / load_trained), or pass a PreparedData "
                             "as source: decoded segments are normalised and need the "
                             "statistics to go back to dB")
        self.emotion = self.labels[0]
        self.z = np.zeros(mc.z_dim, dtype=np.float32)
        self.shown_dim = 0
        self.logmel: np.ndarray | None = None
        self._wave: np.ndarray | None = None
        self._gen = torch.Generator().manual_seed(self.seed)
        self.z_codes = self._encode_source(source) if self.has_decoder else None
        self._hold = False
        self._build()
        if self.has_decoder:
            self._render()

    # -------------------------------------------------------------------------- source
    def _device(self):
        p = next(self.model.parameters(), None)
        return p.device if p is not None else "cpu"

    def _segments_of(self, source, name: str):
        """Segments of a corpus spec or manifest, normalised as the model expects."""
        return segments_for_model(source, features=self.config.features, meta=self.meta,
                                  spec=name, preset=self.config, progress=False).segments

    def _encode_source(self, source: Any) -> np.ndarray | None:
        """Codes z (n, z_dim) of (a random subset of) the source's segments."""
        z_dim = self.model.model_config.z_dim
        if source is None:
            return None
        if isinstance(source, (np.ndarray, torch.Tensor)):
            codes = np.asarray(source.detach().cpu() if isinstance(source, torch.Tensor)
                               else source, dtype=np.float32)
            if codes.ndim != 2 or codes.shape[1] != z_dim or len(codes) == 0:
                raise ValueError(f"source given as codes must have shape (n, {z_dim}), got "
                                 f"{codes.shape}")
            if not np.all(np.isfinite(codes)):
                raise ValueError("source codes contain NaN or infinite values")
            return codes
        if hasattr(source, "test") and hasattr(source, "streams"):  # PreparedData
            segs = source.test
        elif isinstance(source, SegmentSet):
            segs = source
        elif isinstance(source, str):
            segs = self._segments_of(source, source)
        elif isinstance(source, pd.DataFrame):
            if source.empty:
                raise ValueError("source manifest has no rows")
            name = str(source["corpus"].iloc[0]) if "corpus" in source.columns else "manifest"
            segs = self._segments_of(source, name)
        else:
            raise TypeError(f"source must be a PreparedData, SegmentSet, corpus spec, manifest "
                            f"DataFrame or array of codes (n, {z_dim}), got "
                            f"{type(source).__name__}")
        if len(segs) == 0:
            raise ValueError("source has no segments to encode")
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(len(segs), size=min(len(segs), self.max_segments),
                                 replace=False))  # (n,)
        sample = segs.subset(torch.as_tensor(idx))
        try:
            self.model.check_input(sample.x[:1])  # (1, C, n_mels, frames)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"source's segments do not fit this model: {exc}") from exc
        return predict(self.model, sample, device=self._device())["z"]  # (n, z_dim)

    # ------------------------------------------------------------------------- widget
    def _build(self) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        z_dim = len(self.z)
        fig = make_subplots(rows=1, cols=3, column_widths=[0.42, 0.29, 0.29],
                            horizontal_spacing=0.08,
                            subplot_titles=("decoded log-mel (dB)", "Griffin-Lim waveform",
                                            "z[0]: encoded vs prior"))
        right = fig.layout.xaxis.domain[1]
        fig.add_trace(go.Heatmap(z=[[0.0]], colorscale="Viridis", name="decoded log-mel",
                                 colorbar={"x": right + 0.005, "len": 0.9, "thickness": 10,
                                           "title": "dB"}), 1, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name="waveform",
                                 line={"width": 1}, showlegend=False), 1, 2)
        fig.add_trace(go.Bar(x=[], y=[], name="encoded z (source)", opacity=0.6), 1, 3)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name="prior N(0, σ²)"), 1, 3)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name="your z",
                                 line={"dash": "dash", "color": "black"}), 1, 3)
        fig.update_xaxes(title_text="time (s)", row=1, col=1)
        fig.update_yaxes(title_text="mel band", row=1, col=1)
        fig.update_xaxes(title_text="time (s)", row=1, col=2)
        fig.update_xaxes(title_text="z value", range=[-self.z_limit, self.z_limit], row=1,
                         col=3)
        fig.update_yaxes(title_text="density", row=1, col=3)
        fig.update_layout(height=340, width=1150, bargap=0.02,
                          legend={"orientation": "h", "y": -0.25, "x": 0.7})
        if not self.has_decoder:
            fig.add_annotation(text="no decoder: nothing to sample", showarrow=False,
                               xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 18})
        self.figure = go.FigureWidget(fig)

        self._emotion = widgets.Dropdown(options=self.labels, value=self.emotion,
                                         description="emotion y")
        self._sliders = [widgets.FloatSlider(
            value=0.0, min=-self.z_limit, max=self.z_limit, step=0.05 * self.prior_std,
            description=f"z[{i}]", continuous_update=False, readout_format=".2f")
            for i in range(z_dim)]
        self._dim = widgets.Dropdown(options=[(f"z[{i}]", i) for i in range(z_dim)], value=0,
                                     description="compare")
        self._draw_button = widgets.Button(description="draw z from the prior", icon="random")
        self._zero_button = widgets.Button(description="z = 0")
        self._audio_out = widgets.Output()
        self._readout = widgets.HTML()
        self._message = widgets.HTML(
            f"<span style='color:#b45309'>⚠ {html.escape(self.message)}</span>"
            if self.message else "")
        for control in (self._emotion, self._dim, self._draw_button, self._zero_button,
                        *self._sliders):
            control.disabled = not self.has_decoder
        self._emotion.observe(self._on_control, names="value")
        for s in self._sliders:
            s.observe(self._on_control, names="value")
        self._dim.observe(self._on_dim, names="value")
        self._draw_button.on_click(lambda _: self.draw_prior())
        self._zero_button.on_click(lambda _: self.set(z=np.zeros(z_dim)))
        half = (z_dim + 1) // 2
        sliders = widgets.HBox([widgets.VBox(self._sliders[:half]),
                                widgets.VBox(self._sliders[half:])])
        self.widget = widgets.VBox([
            self._message,
            widgets.HBox([self._emotion, self._draw_button, self._zero_button, self._dim]),
            sliders, self.figure, widgets.HBox([self._audio_out, self._readout])])

    def _on_control(self, change: dict) -> None:
        if self._hold or not self.has_decoder:
            return
        self.emotion = self._emotion.value
        self.z = np.array([s.value for s in self._sliders], dtype=np.float32)
        self._render()

    def _on_dim(self, change: dict) -> None:
        self.shown_dim = int(change["new"])
        if not self._hold and self.has_decoder:
            with self.figure.batch_update():
                self._draw_histogram(self.figure)
            resend_trace_names(self.figure)

    # -------------------------------------------------------------------------- logic
    def set(self, *, emotion: str | None = None, z: Sequence[float] | np.ndarray | None = None,
            dim: int | None = None) -> PriorSampler:
        """Choose the emotion code, the style code and the dimension compared; redraw once.

        Parameters
        ----------
        emotion : str, optional
            One of :attr:`labels`.
        z : sequence of float, shape (z_dim,), optional
            Each within ``[-z_range, z_range]`` prior standard deviations (the sliders).
        dim : int, optional
            The dimension of z whose histogram is compared with the prior.
        """
        if emotion is not None and emotion not in self.labels:
            raise ValueError(f"emotion must be one of {self.labels}, got {emotion!r}")
        if z is not None:
            z = np.asarray(z, dtype=np.float64)
            if z.shape != self.z.shape:
                raise ValueError(f"z must have shape ({len(self.z)},) (one value per style "
                                 f"dimension), got shape {z.shape}")
            if not np.all(np.isfinite(z)):
                raise ValueError("z contains NaN or infinite values")
            bad = np.flatnonzero(np.abs(z) > self.z_limit + 1e-9)
            if len(bad):
                raise ValueError(f"z[{bad[0]}] = {z[bad[0]]:.3g} lies outside the sliders' "
                                 f"range [{-self.z_limit:.3g}, {self.z_limit:.3g}]")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))
                                or not 0 <= dim < len(self.z)):
            raise ValueError(f"dim must be an int in [0, {len(self.z) - 1}], got {dim!r}")
        if not self.has_decoder:
            return self
        self._hold = True
        try:
            if emotion is not None:
                self._emotion.value = self.emotion = emotion
            if z is not None:
                self.z = z.astype(np.float32)
                for s, v in zip(self._sliders, self.z):
                    s.value = float(v)
            if dim is not None:
                self._dim.value = self.shown_dim = int(dim)
        finally:
            self._hold = False
        self._render()
        return self

    def draw_prior(self) -> np.ndarray:
        """Draw z from the Gaussian prior N(0, prior_std^2 I), decode it; returns z (z_dim,).

        Draws beyond the sliders' range (|z| > z_range standard deviations, rare) are clipped.
        """
        z = sample_gaussian_prior(1, len(self.z), std=self.prior_std, generator=self._gen)
        z = z[0].clamp(-self.z_limit, self.z_limit).numpy()  # (z_dim,)
        self.set(z=z)
        return self.z.copy()

    def _decode(self) -> np.ndarray:
        """The decoded segment of (emotion, z) in dB, static channel: (n_mels, T)."""
        k = self.labels.index(self.emotion)
        dev = self._device()
        y = torch.zeros(1, len(self.labels), device=dev)
        y[0, k] = 1.0  # (1, n_emotions) one-hot: a sample of the categorical prior
        z = torch.as_tensor(self.z, dtype=torch.float32, device=dev).view(1, -1)  # (1, z_dim)
        with _eval_mode(self.model):
            x = self.model.decode(y, z).float().cpu()  # (1, C, n_mels, T), normalised
        return self.norm_stats.invert(x)[0, 0].numpy()  # (n_mels, T) in dB

    def _render(self) -> None:
        """Decode, invert to sound, redraw the figure and the player."""
        from IPython.display import Audio

        self.logmel = self._decode()  # (n_mels, T)
        self._wave = log_mel_to_audio(self.logmel, config=self.config.features,
                                      n_iter=self.n_iter).numpy()  # (N,)
        with self.figure.batch_update():
            self._draw_sample(self.figure)
            self._draw_histogram(self.figure)
        resend_trace_names(self.figure)  # else the browser's legend says "trace 2", "trace 3"
        self._audio_out.outputs = ()
        self._audio_out.append_display_data(Audio(data=self._wave, rate=self.sample_rate))
        self._readout.value = html.escape(
            f"y = {self.emotion}, z = [{', '.join(f'{v:.2f}' for v in self.z)}]; "
            f"{len(self._wave) / self.sample_rate:.2f} s of audio")

    def _draw_sample(self, fig) -> None:
        hop_s = self.config.features.hop_length / self.sample_rate
        heat = fig.data[0]
        heat.z = self.logmel
        heat.x = np.arange(self.logmel.shape[1]) * hop_s  # (T,) frame times
        heat.y = np.arange(self.logmel.shape[0])  # (n_mels,)
        t, w = waveform_envelope(self._wave, self.sample_rate)
        fig.data[1].x, fig.data[1].y = t, w

    def _draw_histogram(self, fig) -> None:
        d = self.shown_dim
        grid = np.linspace(-self.z_limit, self.z_limit, 201)  # (201,)
        pdf = (np.exp(-0.5 * (grid / self.prior_std) ** 2)
               / (self.prior_std * math.sqrt(2 * math.pi)))
        fig.data[3].x, fig.data[3].y = grid, pdf
        top = float(pdf.max())
        title = f"z[{d}]: prior N(0, {self.prior_std:g}²) (pass source= to compare)"
        if self.z_codes is not None:
            values = self.z_codes[:, d]  # (n,)
            edges = np.linspace(-self.z_limit, self.z_limit, _BINS + 1)
            inside = np.clip(values, edges[0], edges[-1])  # outliers go to the edge bins
            density, _ = np.histogram(inside, bins=edges, density=True)  # (_BINS,)
            fig.data[2].x = (edges[:-1] + edges[1:]) / 2
            fig.data[2].y = density
            fig.data[2].width = edges[1] - edges[0]
            top = max(top, float(density.max()))
            title = (f"z[{d}]: encoded (mean {values.mean():.2f}, sd {values.std():.2f}, "
                     f"n={len(values)}) vs prior")
        fig.data[4].x, fig.data[4].y = [self.z[d], self.z[d]], [0.0, top]
        fig.data[4].name = f"your z[{d}]"
        fig.layout.annotations[2].text = title

    # ------------------------------------------------------------------------ outputs
    @property
    def audio(self) -> tuple[np.ndarray, int] | None:
        """(waveform (N,) float32, sample_rate) of the decoded segment; None without decoder."""
        if self._wave is None:
            return None
        return self._wave, self.sample_rate

    def static_figure(self):
        """The current figure as a plain ``plotly.graph_objects.Figure``."""
        import plotly.graph_objects as go

        return go.Figure(self.figure)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return (f"PriorSampler(emotion={self.emotion!r}, z={np.round(self.z, 2).tolist()}"
                f"{', no decoder' if not self.has_decoder else ''})")
