"""Voice lab: hear and see the acoustic cues of emotion on the synthetic voice.

:class:`VoiceLab` puts sliders on :func:`sertutor.data.voice.synthesize_voice`, the
source-filter voice behind the embedded corpora: the emotion preset and its intensity, then
the cues one at a time (F0 level and range, speaking rate, loudness, breathiness) and the
speaker. Each change re-synthesises the sentence and shows its waveform, log-mel spectrogram
(the model's input, :func:`sertutor.features.log_mel`) and F0 contour, with a player and the
measured cues (median F0, F0 range, level, syllable rate). Learners hear that arousal raises
F0, F0 range, loudness and rate, that sadness lowers them and adds breath, and that a single
cue rarely decides the emotion: the categories overlap, as in acted corpora.

References
----------
- R. Banse and K. R. Scherer, "Acoustic profiles in vocal emotion expression", J. Personality
  and Social Psychology 70(3), 1996.
- P. N. Juslin and P. Laukka, "Communication of emotions in vocal expression and music
  performance: Different channels, same code?", Psychological Bulletin 129(5), 2003.
- D. H. Klatt, "Software for a cascade/parallel formant synthesizer", JASA 67(3), 1980.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import torch

from ..config import FeatureConfig
from ..data.manifest import EMOTIONS_EXTENDED, GENDERS
from ..data.voice import SAMPLE_RATE, synthesize_voice
from ..features import log_mel
from .figures import waveform_envelope

# plotly, ipywidgets and IPython are imported where the widget is built or shown: they take
# seconds to load.

__all__ = ["RANGES", "VoiceLab", "voice_cues"]

#: Slider ranges (min, max, step) of the numeric controls; ``set`` accepts values within them.
RANGES: dict[str, tuple[float, float, float]] = {
    "intensity": (0.0, 1.0, 0.05),
    "f0_scale": (0.5, 2.0, 0.05),
    "f0_range_scale": (0.25, 3.0, 0.05),
    "rate_scale": (0.5, 2.0, 0.05),
    "loudness_db": (-20.0, 12.0, 1.0),
    "breathiness": (0.0, 1.0, 0.05),
    "speaker": (0, 19, 1),
}
_VOWELS = frozenset("aeiou")
_DEFAULTS: dict[str, Any] = {"emotion": "neutral", "intensity": 1.0, "f0_scale": 1.0,
                             "f0_range_scale": 1.0, "rate_scale": 1.0, "loudness_db": 0.0,
                             "breathiness": None, "speaker": 0, "gender": "female", "seed": 0}


def voice_cues(audio: np.ndarray, info: dict[str, Any]) -> dict[str, float]:
    """Measured cues of one synthesised utterance.

    Parameters
    ----------
    audio : numpy.ndarray, shape (N,)
    info : dict
        As returned by :func:`~sertutor.data.voice.synthesize_voice`.

    Returns
    -------
    dict
        ``f0_median_hz``, ``f0_p5_hz``, ``f0_p95_hz`` (over voiced frames), ``rms_dbfs``
        (whole utterance), ``syllables_per_s`` (vowels per second of speech, pauses excluded).
    """
    f0 = np.asarray(info["f0"], dtype=float)
    voiced = f0[f0 > 0]
    p5, p50, p95 = np.percentile(voiced, [5, 50, 95]) if len(voiced) else (np.nan,) * 3
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    speech_s = sum(end - start for phone, start, end in info["segments"] if phone != "#")
    vowels = sum(1 for phone, _, _ in info["segments"] if phone in _VOWELS)
    return {"f0_median_hz": float(p50), "f0_p5_hz": float(p5), "f0_p95_hz": float(p95),
            "rms_dbfs": float(20 * np.log10(max(rms, 1e-10))),
            "syllables_per_s": float(vowels / speech_s) if speech_s > 0 else float("nan")}


class VoiceLab:
    """Sliders on the synthetic voice, with its waveform, log-mel, F0 contour and a player.

    Parameters
    ----------
    seed : int
        Seed of the sentence said (the words and the cycle-to-cycle randomness); the "new
        sentence" button and ``set(seed=...)`` change it.
    duration_s : float
        Length of the sentence in seconds (0.5-6).
    features : FeatureConfig, optional
        Log-mel settings of the spectrogram panel (default: the classroom front end).

    Attributes
    ----------
    figure : plotly.graph_objects.FigureWidget
        Waveform, log-mel (dB) and F0 contour (Hz) over time.
    widget : ipywidgets.VBox
    message : str
        Always "" once constructed (bad values raise in :meth:`set`).
    audio : numpy.ndarray, shape (N,), float32
    sample_rate : int
    info : dict
        What :func:`~sertutor.data.voice.synthesize_voice` returned (``f0``, ``f0_times``,
        ``text``, ``params``, ...), plus ``cues`` (:func:`voice_cues`).
    settings : dict
        The current control values.
    """

    def __init__(self, *, seed: int = 0, duration_s: float = 2.0, features=None):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) \
                or not 0.5 <= duration_s <= 6.0:
            raise ValueError(f"duration_s must be a number of seconds in [0.5, 6], got "
                             f"{duration_s!r}")
        if features is not None and not isinstance(features, FeatureConfig):
            raise TypeError(f"features must be a FeatureConfig, got {type(features).__name__}")
        self.features = features or FeatureConfig()
        self.duration_s = float(duration_s)
        self.sample_rate = SAMPLE_RATE
        self.settings: dict[str, Any] = {**_DEFAULTS, "seed": int(seed)}
        self.message = ""
        self.audio = np.zeros(0, np.float32)
        self.info: dict[str, Any] = {}
        self._hold = False
        self._build()
        self._render()

    # ------------------------------------------------------------------------- widget
    def _build(self) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                            row_heights=[0.25, 0.45, 0.30],
                            subplot_titles=("waveform", "log-mel spectrogram (dB)",
                                            "F0 contour (Hz)"))
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", line={"width": 1},
                                 name="waveform"), 1, 1)
        fig.add_trace(go.Heatmap(z=[[0.0]], colorscale="Viridis", name="log-mel",
                                 colorbar={"len": 0.45, "y": 0.5, "thickness": 10,
                                           "title": "dB"}), 2, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name="F0",
                                 connectgaps=False), 3, 1)
        fig.update_yaxes(title_text="mel band", row=2, col=1)
        fig.update_yaxes(title_text="Hz", row=3, col=1)
        fig.update_xaxes(title_text="time (s)", row=3, col=1)
        fig.update_layout(height=560, width=900, showlegend=False,
                          margin={"t": 40, "b": 40})
        self.figure = go.FigureWidget(fig)

        s = self.settings

        def slider(name: str, description: str, kind=widgets.FloatSlider, **kw):
            lo, hi, step = RANGES[name]
            value = s[name] if s.get(name) is not None else (lo + hi) / 2
            w = kind(value=value, min=lo, max=hi, step=step, description=description,
                     continuous_update=False, style={"description_width": "110px"}, **kw)
            w.observe(self._on_control, names="value")
            return w

        self._controls = {
            "emotion": widgets.Dropdown(options=list(EMOTIONS_EXTENDED), value=s["emotion"],
                                        description="emotion",
                                        style={"description_width": "110px"}),
            "intensity": slider("intensity", "intensity"),
            "f0_scale": slider("f0_scale", "F0 level ×"),
            "f0_range_scale": slider("f0_range_scale", "F0 range ×"),
            "rate_scale": slider("rate_scale", "speaking rate ×"),
            "loudness_db": slider("loudness_db", "loudness (dB)"),
            "breathiness": slider("breathiness", "breathiness", disabled=True),
            "speaker": slider("speaker", "speaker", kind=widgets.IntSlider),
            "gender": widgets.ToggleButtons(options=list(GENDERS), value=s["gender"],
                                            description="gender",
                                            style={"description_width": "110px"}),
        }
        self._controls["emotion"].observe(self._on_control, names="value")
        self._controls["gender"].observe(self._on_control, names="value")
        # unticked: the speaker's and emotion's own breathiness, shown on the greyed slider
        self._breath_on = widgets.Checkbox(value=False, description="set breathiness",
                                           indent=False)
        self._breath_on.observe(self._on_control, names="value")
        self._new_sentence = widgets.Button(description="new sentence", icon="refresh")
        self._new_sentence.on_click(lambda _: self.set(seed=self.settings["seed"] + 1))
        self._reset = widgets.Button(description="reset cues")
        self._reset.on_click(lambda _: self.set(**{k: v for k, v in _DEFAULTS.items()
                                                   if k not in ("emotion", "speaker",
                                                                "gender", "seed")}))
        self._audio_out = widgets.Output()
        self._readout = widgets.HTML()
        c = self._controls
        left = widgets.VBox([c["emotion"], c["intensity"], c["gender"], c["speaker"]])
        right = widgets.VBox([c["f0_scale"], c["f0_range_scale"], c["rate_scale"],
                              c["loudness_db"], widgets.HBox([self._breath_on,
                                                              c["breathiness"]])])
        self.widget = widgets.VBox([
            widgets.HBox([left, right]),
            widgets.HBox([self._new_sentence, self._reset, self._audio_out]),
            self._readout, self.figure])

    def _on_control(self, change: dict) -> None:
        if self._hold:
            return
        c = self._controls
        for name in ("emotion", "intensity", "f0_scale", "f0_range_scale", "rate_scale",
                     "loudness_db", "speaker", "gender"):
            self.settings[name] = c[name].value
        c["breathiness"].disabled = not self._breath_on.value
        self.settings["breathiness"] = c["breathiness"].value if self._breath_on.value else None
        self._render()

    # -------------------------------------------------------------------------- logic
    def set(self, **values: Any) -> VoiceLab:
        """Change any of the controls at once, then synthesise once.

        Keyword arguments: ``emotion`` (one of ``EMOTIONS_EXTENDED``), ``intensity``,
        ``f0_scale``, ``f0_range_scale``, ``rate_scale``, ``loudness_db``, ``breathiness``
        (a value, or None for the speaker's and emotion's own), ``speaker`` (int), ``gender``
        (``"female"`` / ``"male"``), ``seed`` (the sentence). Numeric values must lie within
        the sliders' ranges (:data:`RANGES`).
        """
        unknown = set(values) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; choose from "
                            f"{sorted(_DEFAULTS)}")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name == "emotion":
                if value not in EMOTIONS_EXTENDED:
                    raise ValueError(f"emotion must be one of {list(EMOTIONS_EXTENDED)}, got "
                                     f"{value!r}")
            elif name == "gender":
                if value not in GENDERS:
                    raise ValueError(f"gender must be one of {list(GENDERS)}, got {value!r}")
            elif name == "seed":
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                        or value < 0:
                    raise ValueError(f"seed must be a non-negative int, got {value!r}")
                value = int(value)
            elif name == "breathiness" and value is None:
                pass
            else:
                lo, hi, _ = RANGES[name]
                integer = name == "speaker"
                ok = (int, np.integer) if integer else (int, float, np.integer, np.floating)
                if isinstance(value, bool) or not isinstance(value, ok) \
                        or not np.isfinite(value) or not lo <= value <= hi:
                    kind = "an int" if integer else "a number"
                    raise ValueError(f"{name} must be {kind} in [{lo:g}, {hi:g}] (the "
                                     f"slider's range), got {value!r}")
                value = int(value) if integer else float(value)
            checked[name] = value
        self.settings.update(checked)
        self._hold = True
        try:
            for name, value in checked.items():
                if name == "breathiness":
                    self._breath_on.value = value is not None
                    self._controls["breathiness"].disabled = value is None
                    if value is not None:
                        self._controls[name].value = value
                elif name in self._controls:
                    self._controls[name].value = value
        finally:
            self._hold = False
        self._render()
        return self

    def _render(self) -> None:
        """Synthesise with the current settings; redraw the figure, readout and player."""
        from IPython.display import Audio

        s = self.settings
        self.audio, info = synthesize_voice(
            emotion=s["emotion"], intensity=s["intensity"], gender=s["gender"],
            speaker_seed=s["speaker"], f0_scale=s["f0_scale"],
            f0_range_scale=s["f0_range_scale"], rate_scale=s["rate_scale"],
            loudness_db=s["loudness_db"], breathiness=s["breathiness"],
            duration_s=self.duration_s, seed=s["seed"], sample_rate=self.sample_rate)
        info["cues"] = cues = voice_cues(self.audio, info)
        self.info = info
        if s["breathiness"] is None:  # the greyed slider shows the breathiness spoken with
            lo, hi, _ = RANGES["breathiness"]
            self._hold = True
            try:
                self._controls["breathiness"].value = float(
                    np.clip(info["params"]["breathiness"], lo, hi))
            finally:
                self._hold = False
        feats, _ = log_mel(torch.from_numpy(self.audio), config=self.features)
        db = feats[0, 0].numpy()  # (n_mels, T)
        f0 = np.where(info["f0"] > 0, info["f0"], np.nan)  # (frames,) gaps where unvoiced
        t, w = waveform_envelope(self.audio, self.sample_rate)
        hop_s = self.features.hop_length / self.features.sample_rate
        with self.figure.batch_update():
            self.figure.data[0].x, self.figure.data[0].y = t, w
            heat = self.figure.data[1]
            heat.z, heat.x, heat.y = db, np.arange(db.shape[1]) * hop_s, np.arange(db.shape[0])
            self.figure.data[2].x, self.figure.data[2].y = info["f0_times"], f0
            self.figure.layout.title.text = (
                f"{s['emotion']} (intensity {s['intensity']:.2f}), {s['gender']} speaker "
                f"{s['speaker']}: “{info['text']}”")
        self._audio_out.outputs = ()
        # not peak-normalised, so that loudness differences stay audible
        self._audio_out.append_display_data(Audio(data=np.clip(self.audio, -1.0, 1.0),
                                                  rate=self.sample_rate, normalize=False))
        self._readout.value = html.escape(
            f"median F0 {cues['f0_median_hz']:.0f} Hz · F0 range (5-95 %) "
            f"{cues['f0_p5_hz']:.0f}-{cues['f0_p95_hz']:.0f} Hz · level "
            f"{cues['rms_dbfs']:.1f} dBFS · {cues['syllables_per_s']:.1f} syllables/s · "
            f"breathiness {info['params']['breathiness']:.2f}")

    # ------------------------------------------------------------------------ outputs
    def static_figure(self):
        """The current figure as a plain ``plotly.graph_objects.Figure``."""
        import plotly.graph_objects as go

        return go.Figure(self.figure)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        s = self.settings
        return f"VoiceLab(emotion={s['emotion']!r}, intensity={s['intensity']}, ...)"
