"""Typed configuration and the named presets ``tiny``, ``classroom`` and ``paper``.

Every size in sertutor (corpus sizes, feature settings, model widths, the training schedule)
comes from one :class:`Config`, made of four dataclasses, one per concern. A preset is a named
``Config``; ``get_config("classroom", **overrides)`` returns a fresh copy you can change.

- ``tiny``: seconds on a CPU; what the tests use.
- ``classroom``: the notebooks' and ``sertutor train``'s default; minutes on a 2-core CPU with
  2 GB of memory (Binder's free tier).
- ``paper``: the full-size model and schedule for a GPU and a real corpus, after Latif et al.,
  *Multi-Task Semi-Supervised Adversarial Autoencoding for Speech Emotion Recognition*, IEEE
  Trans. Affective Computing 13(2), 2022 (arXiv:1907.06078).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FeatureConfig",
    "SynthConfig",
    "ModelConfig",
    "TrainConfig",
    "Config",
    "PRESETS",
    "get_config",
    "MODEL_VARIANTS",
]

#: The comparison models of the paper, all built from the same code by switches.
MODEL_VARIANTS = ("baseline", "ae", "aae", "mtl", "full")


@dataclass
class FeatureConfig:
    """Log-mel front end (see :mod:`sertutor.features`)."""

    sample_rate: int = 16000  # Hz; every corpus is resampled to this
    win_ms: float = 25.0  # analysis window length in milliseconds
    hop_ms: float = 10.0  # frame shift in milliseconds
    n_fft: int = 512  # FFT size (>= window length in samples)
    n_mels: int = 64  # number of mel bands
    f_min: float = 0.0  # lowest mel filter edge, Hz
    f_max: float | None = None  # highest mel filter edge, Hz (None: sample_rate / 2)
    power: float = 2.0  # 2.0: power spectrogram, 1.0: magnitude
    top_db: float | None = 80.0  # dynamic-range clip of the dB spectrogram (None: no clip)
    deltas: bool = False  # append delta and delta-delta channels
    segment_frames: int = 96  # frames per fixed-length segment the model sees (~1 s)
    segment_hop: int = 48  # frames between segment starts (50 % overlap)

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return int(round(self.sample_rate * self.win_ms / 1000.0))

    @property
    def hop_length(self) -> int:
        """Hop length in samples."""
        return int(round(self.sample_rate * self.hop_ms / 1000.0))

    @property
    def n_channels(self) -> int:
        """Feature channels the model sees: 1, or 3 with deltas."""
        return 3 if self.deltas else 1


@dataclass
class SynthConfig:
    """Sizes of the three embedded synthetic corpora (see :mod:`sertutor.data.synth`)."""

    emo_speakers: int = 10  # synth-emo: speakers (alternating female / male)
    emo_utts_per_emotion: int = 8  # synth-emo: per speaker and core emotion (neu, hap, sad, ang)
    emo_utts_per_extended: int = 3  # synth-emo: per speaker and extra emotion (calm, fear, ...)
    aux_speakers: int = 120  # synth-aux: speakers, labelled with speaker and gender only
    aux_utts_per_speaker: int = 8  # synth-aux: utterances per speaker (mostly neutral)
    field_speakers: int = 8  # synth-field: speakers of the cross-corpus target
    field_utts_per_emotion: int = 6  # synth-field: per speaker and core emotion
    min_duration_s: float = 1.0  # shortest utterance, seconds
    max_duration_s: float = 3.5  # longest utterance, seconds
    seed: int = 0  # master seed; each corpus derives its own from it


@dataclass
class ModelConfig:
    """Sizes of the multi-task semi-supervised AAE (see :mod:`sertutor.models`)."""

    variant: str = "full"  # one of MODEL_VARIANTS
    channels: tuple[int, ...] = (8, 16, 32)  # conv channels; each block halves mel and time
    hidden_dim: int = 128  # size of the shared hidden vector h
    z_dim: int = 8  # size of the continuous style code z
    n_emotions: int = 4  # size of the categorical emotion code y
    disc_hidden: int = 64  # hidden units of the discriminators D_z and D_y
    head_hidden: int = 64  # hidden units of the auxiliary heads
    n_bins: int = 3  # arousal / valence classes (low, mid, high)
    dropout: float = 0.2  # dropout on h before the heads
    prior_std: float = 1.0  # standard deviation of the Gaussian prior p(z)


@dataclass
class TrainConfig:
    """Schedule and loss weights of the semi-supervised multi-task loop (:mod:`sertutor.train`)."""

    steps: int = 700  # optimiser steps (one step = one batch from every stream)
    batch_size: int = 16  # segments per batch in each stream
    lr: float = 1e-3  # Adam learning rate of encoder, decoder and heads
    disc_lr: float = 2e-4  # Adam learning rate of the discriminators
    weight_decay: float = 1e-4  # L2 penalty of the main optimiser
    label_fraction: float = 1.0  # share of emotion-training utterances that keep their label
    w_recon: float = 1.0  # weight of the reconstruction loss
    w_adv: float = 0.1  # weight of the generator (fool D_z and D_y) loss
    w_emotion: float = 1.0  # weight of the emotion cross-entropy
    w_speaker: float = 0.3  # weight of the speaker cross-entropy (auxiliary corpus)
    w_gender: float = 0.3  # weight of the gender cross-entropy (auxiliary corpus)
    w_dimensional: float = 0.3  # weight of the arousal / valence losses (bins + CCC)
    eval_every: int = 100  # steps between validation passes
    patience: int = 4  # validation passes without improvement before early stopping
    val_fraction: float = 0.15  # share of training speakers held out for validation
    seed: int = 0  # fixes data order, label subset and initialisation
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    num_threads: int = 0  # torch CPU threads (0: torch's default)


@dataclass
class Config:
    """Everything one run needs: features, corpora, model and schedule."""

    name: str = "classroom"  # preset this config came from
    features: FeatureConfig = field(default_factory=FeatureConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what checkpoints store)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Inverse of :meth:`to_dict`; unknown keys raise, so a typo cannot pass silently."""
        if not isinstance(data, dict):
            raise TypeError(f"config must be a dict, got {type(data).__name__}")
        parts = {"features": FeatureConfig, "synth": SynthConfig, "model": ModelConfig,
                 "train": TrainConfig}
        unknown = set(data) - set(parts) - {"name"}
        if unknown:
            raise ValueError(f"unknown config sections {sorted(unknown)}; expected {sorted(parts)}")
        kwargs: dict[str, Any] = {"name": data.get("name", "custom")}
        for key, kind in parts.items():
            section = dict(data.get(key, {}))
            names = {f.name for f in dataclasses.fields(kind)}
            bad = set(section) - names
            if bad:
                raise ValueError(f"unknown fields {sorted(bad)} in config section {key!r}")
            if key == "model" and "channels" in section:
                section["channels"] = tuple(section["channels"])
            kwargs[key] = kind(**section)
        return cls(**kwargs)


PRESETS: dict[str, Config] = {
    "tiny": Config(
        name="tiny",
        features=FeatureConfig(n_mels=32, segment_frames=64, segment_hop=32),
        synth=SynthConfig(emo_speakers=10, emo_utts_per_emotion=5, emo_utts_per_extended=1,
                          aux_speakers=12, aux_utts_per_speaker=4, field_speakers=4,
                          field_utts_per_emotion=3, min_duration_s=0.8, max_duration_s=1.6),
        model=ModelConfig(channels=(8, 16), hidden_dim=32, z_dim=4, disc_hidden=32,
                          head_hidden=32),
        train=TrainConfig(steps=120, batch_size=16, eval_every=40, patience=3),
    ),
    # Sized for Binder's free tier (2 cores, 2 GB): `sertutor train` in <= 3 minutes on CPU.
    "classroom": Config(name="classroom"),
    "paper": Config(
        name="paper",
        features=FeatureConfig(segment_frames=128, segment_hop=64),
        synth=SynthConfig(emo_speakers=12, emo_utts_per_emotion=25, emo_utts_per_extended=10,
                          aux_speakers=500, aux_utts_per_speaker=40, field_speakers=10,
                          field_utts_per_emotion=20, max_duration_s=4.0),
        model=ModelConfig(channels=(32, 64, 128, 256), hidden_dim=256, z_dim=16,
                          disc_hidden=256, head_hidden=128, dropout=0.3),
        train=TrainConfig(steps=20000, batch_size=64, eval_every=500, patience=8),
    ),
}


def get_config(preset: str | Config = "classroom", **overrides: Any) -> Config:
    """Return a fresh copy of a named preset, with dotted overrides applied.

    Parameters
    ----------
    preset : str or Config
        ``"tiny"``, ``"classroom"`` or ``"paper"``, or a ``Config`` to copy.
    **overrides
        ``section__field=value`` pairs, e.g. ``train__steps=50`` or ``model__variant="aae"``.

    Examples
    --------
    >>> cfg = get_config("tiny", train__steps=10)
    >>> cfg.train.steps
    10
    """
    if isinstance(preset, Config):
        cfg = copy.deepcopy(preset)
    elif isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        cfg = copy.deepcopy(PRESETS[preset])
    else:
        raise TypeError(f"preset must be a preset name or a Config, got {type(preset).__name__}")
    for key, value in overrides.items():
        section_name, sep, field_name = key.partition("__")
        section = getattr(cfg, section_name, None) if sep else None
        if section is None or not dataclasses.is_dataclass(section) \
                or field_name not in {f.name for f in dataclasses.fields(section)}:
            raise ValueError(f"unknown config override {key!r}; use section__field, "
                             "e.g. train__steps=100")
        setattr(section, field_name, value)
    if cfg.model.variant not in MODEL_VARIANTS:
        raise ValueError(f"unknown model variant {cfg.model.variant!r}; "
                         f"choose one of {MODEL_VARIANTS}")
    return cfg
