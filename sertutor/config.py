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
import math
import numbers
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
    "parse_override",
    "MODEL_VARIANTS",
    "DECODER_VARIANTS",
    "PAPER_VARIANTS",
]

#: The comparison models of the paper, all built from the same code by switches.
PAPER_VARIANTS = ("baseline", "ae", "aae", "mtl", "full")
#: Every model ``--model`` accepts: the paper's five, and ``fixmatch``, a modern semi-supervised
#: comparison (the baseline CNN trained with FixMatch-style pseudo-labels, Sohn et al. 2020).
MODEL_VARIANTS = PAPER_VARIANTS + ("fixmatch",)
#: The variants with a decoder (``sertutor.models.VARIANT_PARTS`` agrees): the only ones that
#: read ``model.decoder_speaker_dim`` and ``model.decoder_prosody``.
DECODER_VARIANTS = ("ae", "aae", "full")

#: The emotion classes every corpus maps onto (neutral, happy, sad, angry; see
#: :data:`sertutor.data.manifest.EMOTIONS`): the size the emotion code y must have.
N_EMOTION_CLASSES = 4
#: Arousal / valence classes of :func:`sertutor.data.dataset.dimension_bins` (low, mid, high).
N_DIMENSION_BINS = 3
# the command-line option that sets a field, named in error messages
_OPTIONS = {"train.steps": "--steps", "train.seed": "--seed",
            "train.label_fraction": "--label-fraction", "model.variant": "--model"}
# the allowed values of the string fields
_CHOICES = {"model.variant": MODEL_VARIANTS, "features.normalise": ("corpus", "speaker"),
            "model.pooling": ("flatten", "stats"), "train.unlabelled": ("train", "train+test"),
            "train.augment": ("none", "specaugment", "strong"),
            "train.balance": ("none", "class"),
            "train.speaker_corpora": ("aux", "aux+emotion"),
            "train.optimizer_steps": ("per_phase", "per_step"),
            "train.recon_corrupt": ("none", "specaugment")}


def _where(section: str, name: str) -> str:
    key = f"{section}.{name}"
    option = _OPTIONS.get(key)
    return f"{key} ({option})" if option else key


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def _int(section: str, name: str, value: Any, low: int) -> None:
    if not _is_int(value) or value < low:
        raise ValueError(f"{_where(section, name)} must be an integer >= {low}, "
                         f"got {_got(value)}")


def _real(section: str, name: str, value: Any, low: float, high: float = math.inf, *,
          low_open: bool = False, high_open: bool = False, optional: bool = False) -> None:
    if optional and value is None:
        return
    ok = _is_real(value) and (value > low if low_open else value >= low) \
        and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
        span = "a finite number" if low == -math.inf and high == math.inf else \
            f"a number > {low:g}" if high == math.inf and low_open else \
            f"a number >= {low:g}" if high == math.inf else f"a number in {lo}{low:g}, {high:g}{hi}"
        raise ValueError(f"{_where(section, name)} must be {span}"
                         f"{' or None' if optional else ''}, got {_got(value)}")


def _bool(section: str, name: str, value: Any) -> None:
    if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):  # numpy
        raise ValueError(f"{_where(section, name)} must be True or False, got {_got(value)}")


def _choice(section: str, name: str, value: Any) -> None:
    allowed = _CHOICES[f"{section}.{name}"]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{_where(section, name)} must be one of {list(allowed)}, "
                         f"got {_got(value)}")


def _check_features(c: "FeatureConfig") -> None:
    s = "features"
    _int(s, "sample_rate", c.sample_rate, 1000)
    _real(s, "win_ms", c.win_ms, 0.0, low_open=True)
    _real(s, "hop_ms", c.hop_ms, 0.0, low_open=True)
    _int(s, "n_fft", c.n_fft, 2)
    _int(s, "n_mels", c.n_mels, 1)
    _real(s, "f_min", c.f_min, 0.0, c.sample_rate / 2, high_open=True)
    _real(s, "f_max", c.f_max, c.f_min, c.sample_rate / 2, low_open=True, optional=True)
    _real(s, "power", c.power, 0.0, low_open=True)
    _real(s, "top_db", c.top_db, 0.0, low_open=True, optional=True)
    _bool(s, "deltas", c.deltas)
    _int(s, "segment_frames", c.segment_frames, 1)
    _int(s, "segment_hop", c.segment_hop, 1)
    if c.hop_length < 1:
        raise ValueError(f"features.hop_ms must give at least one sample per hop at "
                         f"{c.sample_rate} Hz, got {c.hop_ms!r} ms")
    if not 1 <= c.win_length <= c.n_fft:
        raise ValueError(f"features.n_fft must be >= the window length in samples "
                         f"(win_ms {c.win_ms:g} ms at {c.sample_rate} Hz = {c.win_length}), "
                         f"got n_fft {c.n_fft}")
    _choice(s, "normalise", c.normalise)
    _real(s, "speaker_prior_utts", c.speaker_prior_utts, 0.0)


def _check_synth(c: "SynthConfig") -> None:
    s = "synth"
    for name in ("emo_speakers", "aux_speakers", "field_speakers"):
        _int(s, name, getattr(c, name), 1)
    for name in ("emo_utts_per_emotion", "emo_utts_per_extended", "aux_utts_per_speaker",
                 "field_utts_per_emotion"):
        _int(s, name, getattr(c, name), 0)
    _real(s, "min_duration_s", c.min_duration_s, 0.3, 30.0)
    _real(s, "max_duration_s", c.max_duration_s, 0.3, 30.0)
    if c.max_duration_s < c.min_duration_s:
        raise ValueError(f"synth.max_duration_s must be >= synth.min_duration_s, got "
                         f"min_duration_s {c.min_duration_s!r} and max_duration_s "
                         f"{c.max_duration_s!r}")
    _int(s, "seed", c.seed, 0)


def _check_model(c: "ModelConfig") -> None:
    s = "model"
    _choice(s, "variant", c.variant)
    channels = c.channels
    if isinstance(channels, list):
        c.channels = channels = tuple(channels)
    if not isinstance(channels, tuple) or not channels \
            or not all(_is_int(v) and v >= 1 for v in channels):
        raise ValueError(f"model.channels must be a non-empty tuple of integers >= 1 (one per "
                         f"conv block), got {_got(channels)}")
    for name in ("hidden_dim", "z_dim", "disc_hidden", "head_hidden"):
        _int(s, name, getattr(c, name), 1)
    if not _is_int(c.n_emotions) or c.n_emotions != N_EMOTION_CLASSES:
        raise ValueError(f"model.n_emotions must be {N_EMOTION_CLASSES} (the emotion classes "
                         f"neutral, happy, sad, angry that every corpus maps onto), "
                         f"got {_got(c.n_emotions)}")
    if not _is_int(c.n_bins) or c.n_bins != N_DIMENSION_BINS:
        raise ValueError(f"model.n_bins must be {N_DIMENSION_BINS} (low, mid, high arousal / "
                         f"valence), got {_got(c.n_bins)}")
    _real(s, "dropout", c.dropout, 0.0, 1.0, high_open=True)
    _real(s, "prior_std", c.prior_std, 0.0, low_open=True)
    _choice(s, "pooling", c.pooling)
    _real(s, "speaker_grad", c.speaker_grad, -math.inf)
    _int(s, "decoder_speaker_dim", c.decoder_speaker_dim, 0)
    _bool(s, "decoder_prosody", c.decoder_prosody)


def _check_train(c: "TrainConfig") -> None:
    s = "train"
    _int(s, "steps", c.steps, 1)
    _int(s, "batch_size", c.batch_size, 1)
    # 0 is allowed: it freezes those weights (a baseline for a demo or a test)
    _real(s, "lr", c.lr, 0.0)
    _real(s, "disc_lr", c.disc_lr, 0.0)
    _real(s, "weight_decay", c.weight_decay, 0.0)
    _real(s, "label_fraction", c.label_fraction, 0.0, 1.0, low_open=True)
    for name in ("w_recon", "w_adv", "w_adv_y", "w_emotion", "w_speaker", "w_gender",
                 "w_dimensional", "w_consistency", "w_utterance", "w_prosody"):
        _real(s, name, getattr(c, name), 0.0)
    _int(s, "recon_smooth_frames", c.recon_smooth_frames, 0)
    _choice(s, "recon_corrupt", c.recon_corrupt)
    _int(s, "rampup_steps", c.rampup_steps, 0)
    _int(s, "pretrain_steps", c.pretrain_steps, 0)
    _bool(s, "phase_optimizers", c.phase_optimizers)
    _real(s, "confidence", c.confidence, 0.0, 1.0)
    _int(s, "eval_every", c.eval_every, 1)
    _int(s, "patience", c.patience, 1)
    _real(s, "val_fraction", c.val_fraction, 0.0, 1.0, high_open=True)
    _int(s, "seed", c.seed, 0)
    _bool(s, "amp", c.amp)
    _int(s, "num_threads", c.num_threads, 0)
    _choice(s, "unlabelled", c.unlabelled)
    _choice(s, "augment", c.augment)
    _int(s, "utterance_segments", c.utterance_segments, 1)
    _choice(s, "balance", c.balance)
    _choice(s, "speaker_corpora", c.speaker_corpora)
    _int(s, "speaker_grad_ramp", c.speaker_grad_ramp, 0)
    _choice(s, "optimizer_steps", c.optimizer_steps)
    if c.phase_optimizers and c.optimizer_steps == "per_step":
        raise ValueError("train.phase_optimizers=True gives each phase its own Adam step; it "
                         "cannot be combined with train.optimizer_steps='per_step' (one step "
                         "for all phases): set one of them back to its default")
    _real(s, "ema_decay", c.ema_decay, 0.0, 1.0, high_open=True)


class _Checked:
    """Mixin of the config sections: validate every field when the section is made."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field whose type or range is wrong."""
        check = next(_CHECKS[k.__name__] for k in type(self).__mro__ if k.__name__ in _CHECKS)
        check(self)


@dataclass
class FeatureConfig(_Checked):
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
    # how log-mels are mean/variance normalised: "speaker" (each speaker's own mean/std, from
    # all of that speaker's audio, never labels; the default since issue #14: it removes the
    # voice differences that otherwise dominate, benchmarks/results/method_confirm.md) or
    # "corpus" (one mean/std per corpus)
    normalise: str = "speaker"
    # speaker normalisation: pseudo-utterances of the corpus statistics a speaker's own are
    # shrunk towards (a speaker with n utterances gets weight n / (n + speaker_prior_utts))
    speaker_prior_utts: float = 1.0

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
class SynthConfig(_Checked):
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
class ModelConfig(_Checked):
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
    # how the encoder turns its last feature map into h: "stats" (mean and standard deviation
    # over time per channel and mel row, as speaker-embedding networks pool: h no longer
    # depends on where in the segment a cue falls; the default since issue #14) or "flatten"
    # (every cell, time position included)
    pooling: str = "stats"
    # scale of the gradient the speaker head sends back into h (sertutor.models.scale_gradient):
    # 1 = the paper's speaker task (h learns to tell speakers apart), 0 = the head learns
    # without shaping h (a probe), -1 = a speaker adversary (gradient reversal, Ganin &
    # Lempitsky 2015: h learns to hide the speaker; the default since issue #14's session 17,
    # method_study.md). Acts only when train.w_speaker > 0
    speaker_grad: float = -1.0
    # size of a learnt speaker embedding the decoder reads beside [y, z] (a speaker-conditioned
    # decoder, as in voice conversion's AutoVC, Qian et al. 2019): who speaks is given to the
    # decoder, so reconstruction no longer asks the codes, and so h, for the speaker, which
    # the speaker adversary asks h to hide. Each training speaker (auxiliary corpus and
    # emotion corpus) gets a vector; an unknown speaker, or decode() without one, reads zeros.
    # 0: the paper's decoder p(x|y, z)
    decoder_speaker_dim: int = 0
    # the decoder also reconstructs, from the same codes, each segment's utterance's 18
    # prosodic descriptors (pitch, loudness, spectral balance, voicing, tempo; eGeMAPS-like,
    # sertutor.features.prosody), z-scored within each speaker: a target that keeps what
    # emotion moves and drops what was said, so the unlabelled audio teaches the codes
    # emotion's correlates (weight train.w_prosody; the default since issue #14's session
    # 21, method_study.md: full +5.0 UAR points over the baseline at 10 % labels, where the
    # paper's decoder gave +0.9). False: the paper's decoder (log-mel segments only)
    decoder_prosody: bool = True


@dataclass
class TrainConfig(_Checked):
    """Schedule and loss weights of the semi-supervised multi-task loop (:mod:`sertutor.train`)."""

    steps: int = 700  # optimiser steps (one step = one batch from every stream)
    batch_size: int = 16  # segments per batch in each stream
    lr: float = 1e-3  # Adam learning rate of encoder, decoder and heads
    disc_lr: float = 2e-4  # Adam learning rate of the discriminators
    weight_decay: float = 1e-4  # L2 penalty of the main optimiser
    label_fraction: float = 1.0  # share of emotion-training utterances that keep their label
    w_recon: float = 1.0  # weight of the reconstruction loss
    # weight of the prosody reconstruction loss (read only with model.decoder_prosody)
    w_prosody: float = 1.0
    w_adv: float = 0.1  # weight of the generator (fool D_z and D_y) loss
    # share of fooling D_y (the categorical prior on the emotion codes) in the generator loss,
    # L_G = L_G(D_z) + w_adv_y L_G(D_y): 1 = the paper; 0 keeps only the Gaussian prior on z,
    # so the unlabelled codes are no longer pushed towards one-hot (an ablation)
    w_adv_y: float = 1.0
    w_emotion: float = 1.0  # weight of the emotion cross-entropy
    # weight of the speaker cross-entropy (auxiliary corpus). The paper trains the speaker
    # task: h learns to tell speakers apart, which costs the transfer to unseen speakers of
    # another corpus (issue #14, session 15: synth-field +3.2 / +2.8 / +5.5 UAR points for
    # full at 10 / 30 / 100 % labels without it). With model.speaker_grad = -1 (the default)
    # the head is an adversary instead and h learns to hide the speaker (session 17,
    # method_study.md); 0 trains no speaker head
    w_speaker: float = 0.3
    # whose speakers the speaker head tells apart: "aux" (the auxiliary corpus's, the paper's
    # speaker task) or "aux+emotion" (also the emotion corpus's training speakers, read from
    # every emotion segment a step draws, labelled or not: speaker identity needs no emotion
    # label). With the adversary (model.speaker_grad < 0) the second hides from h the very
    # speakers the emotion head learns from (Trainer.supervised_phase)
    speaker_corpora: str = "aux"
    # steps over which the speaker head's gradient scale into h rises from 0 to
    # model.speaker_grad, as DANN's 2 / (1 + exp(-10 t / R)) - 1 (Ganin & Lempitsky 2015:
    # the adversary acts once the head has learnt something to hide; Trainer.speaker_ramp);
    # 0: the full scale from the first step
    speaker_grad_ramp: int = 0
    w_gender: float = 0.3  # weight of the gender cross-entropy (auxiliary corpus)
    w_dimensional: float = 0.3  # weight of the arousal / valence losses (bins + CCC)
    # reconstruction target: 0 = the segment itself; k > 0 = the segment smoothed over time by
    # a k-frame moving average (keeps level and spectral balance, drops syllable-rate content)
    recon_smooth_frames: int = 0
    # reconstruction input: "none" (the segment itself) or "specaugment" (a denoising
    # autoencoder: the encoder reads the segment with SpecAugment's band and span masks and
    # the decoder must restore the clean one, so the code has to model context, not copy)
    recon_corrupt: str = "none"
    w_consistency: float = 1.0  # fixmatch: weight of the pseudo-label loss on unlabelled audio
    confidence: float = 0.8  # fixmatch: softmax confidence a pseudo-label needs to count
    # weight of the utterance-agreement loss: two segments of one unlabelled utterance should
    # get the same emotion posterior (sertutor.losses.utterance_agreement_loss); used by the
    # models that read the unlabelled stream (ae, aae, full, fixmatch); 0 turns it off
    w_utterance: float = 0.0
    # steps over which the unsupervised weights (w_recon, w_adv, w_utterance, w_consistency)
    # ramp up from ~0 to their value, exp(-5 (1 - t/R)^2) (Trainer.rampup); 0: no ramp
    rampup_steps: int = 0
    # unsupervised pre-training: this many steps of only the reconstruction and prior phases
    # (no labels), then the `steps` of the full schedule with a fresh main optimiser; only
    # the models with a decoder or discriminators (ae, aae, full) pre-train, and validation
    # starts after it (Trainer.pretraining)
    pretrain_steps: int = 0
    # one Adam per phase: the reconstruction and generator updates of the encoder use their
    # own optimisers instead of sharing the supervised phase's (see Trainer.phase_opts)
    phase_optimizers: bool = False
    # how often the main Adam steps: "per_phase" (after each phase's loss: the encoder of a
    # model with unsupervised phases moves up to three times a training step, each time
    # along Adam's momentum, which the supervised gradients dominate) or "per_step" (the
    # phases' gradients, all taken at the same weights, summed into one step: the joint loss
    # w_recon L_rec + w_adv L_G + L_sup, Trainer.train_step)
    optimizer_steps: str = "per_phase"
    eval_every: int = 100  # steps between validation passes
    patience: int = 4  # validation passes without improvement before early stopping
    val_fraction: float = 0.15  # share of training speakers held out for validation
    # model selection on the validation speakers: "uar" (keep the weights of the best
    # validation UAR, stop after `patience` evaluations without a better one), "loss" (the
    # same on the validation emotion cross-entropy of utterance-pooled posteriors: smoother
    # than the UAR of a few utterances) or "last" (no selection, no early stopping: train
    # all `steps` and keep the final weights; validation is only logged)
    select: str = "uar"
    # the audio of the unlabelled stream: "train" (the training speakers' utterances whose
    # label is hidden) or "train+test" (also the held-out test speakers' audio, never their
    # labels: transductive, the setting of adapting to new speakers whose recordings exist
    # but are not annotated; per-speaker normalisation reads that audio already)
    unlabelled: str = "train"
    # augmentation of the labelled emotion segments in the supervised phase: "none",
    # "specaugment" (two frequency-band and two time-span masks per segment, Park et al. 2019)
    # or "strong" (the masks plus a level shift and noise: fixmatch's strong view);
    # sertutor.losses.strong_augment
    augment: str = "none"
    # segments of each labelled utterance the supervised phase classifies together: 1 = each
    # segment on its own; k > 1 = the drawn segment and k - 1 others of its utterance (drawn
    # with replacement) share one prediction, the mean of their emotion logits (the emotion
    # head is linear, so this is the head on their mean h): an utterance-level emotion code,
    # as evaluation already pools an utterance's segments (Trainer.supervised_phase)
    utterance_segments: int = 1
    # how the labelled segments of a batch are drawn: "none" (every labelled segment equally
    # likely, so a class with more or longer labelled utterances fills more of each batch)
    # or "class" (each emotion class equally likely, then a segment of it at random: a
    # class-balanced batch, Trainer.draw_batches)
    balance: str = "none"
    # the weights that validation reads and a run keeps: 0 = the trained weights of the step;
    # d in (0, 1) = their exponential moving average, updated after every step with decay
    # min(d, (1 + n) / (10 + n)) at the n-th update (Polyak & Juditsky 1992; the "teacher"
    # of Tarvainen & Valpola 2017): an average over the last ~n / 9 steps, at most
    # ~1 / (1 - d), less noisy than any one step's weights, so one validation speaker's UAR
    # picks among steadier candidates (Trainer.ema; batch-norm statistics are averaged too).
    # The default since issue #14's session 13: 0.99 lifts the classroom baseline 3.7 points
    # at 100 % labels over 80 (fold, seed) pairs (benchmarks/results/method_study.md)
    ema_decay: float = 0.99
    seed: int = 0  # fixes data order, label subset and initialisation
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    num_threads: int = 0  # torch CPU threads (0: sertutor chooses, see sertutor.runtime)


#: The sections of a :class:`Config`, by attribute name.
_SECTIONS = {"features": FeatureConfig, "synth": SynthConfig, "model": ModelConfig,
             "train": TrainConfig}


@dataclass
class Config:
    """Everything one run needs: features, corpora, model and schedule."""

    name: str = "classroom"  # preset this config came from
    features: FeatureConfig = field(default_factory=FeatureConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "Config":
        """Check every section's fields (types and ranges); ``ValueError`` names the field.

        :func:`get_config` calls this after applying overrides; call it yourself after
        changing fields by assignment (``cfg.train.steps = 0`` is not checked until then).
        """
        if not isinstance(self.name, str):
            raise ValueError(f"config name must be a str, got {_got(self.name)}")
        for section, kind in _SECTIONS.items():
            value = getattr(self, section)
            if not isinstance(value, kind):
                raise ValueError(f"config section {section!r} must be a {kind.__name__}, "
                                 f"got {_got(value)}")
            value.validate()
        return self

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
        unknown = set(data) - set(_SECTIONS) - {"name"}
        if unknown:
            raise ValueError(f"unknown config sections {sorted(unknown)}; "
                             f"expected {sorted(_SECTIONS)}")
        kwargs: dict[str, Any] = {"name": data.get("name", "custom")}
        for key, kind in _SECTIONS.items():
            section = dict(data.get(key, {}))
            if key in data:  # a saved config without a field was made before it existed
                for name, value in _LEGACY_DEFAULTS.get(key, {}).items():
                    section.setdefault(name, value)
            names = {f.name for f in dataclasses.fields(kind)}
            bad = set(section) - names
            if bad:
                raise ValueError(f"unknown fields {sorted(bad)} in config section {key!r}")
            if key == "model" and "channels" in section:
                section["channels"] = tuple(section["channels"])
            kwargs[key] = kind(**section)
        return cls(**kwargs)


#: What a field meant in configs saved before it existed (checkpoints, run folders): the
#: behaviour of that time, not today's default. Issue #14 made "speaker" normalisation and
#: "stats" pooling the defaults; a model saved without those fields was trained per corpus
#: with a flattening encoder, and must be rebuilt and fed that way. It then made a moving
#: average of the weights the default; a run saved without ``ema_decay`` trained without one
#: (resuming it must not start averaging half-way). A config saved before ``speaker_grad``
#: existed trained the paper's speaker task (a gradient scale of +1), not an adversary; one
#: saved before ``decoder_prosody`` had the paper's decoder.
_LEGACY_DEFAULTS: dict[str, dict[str, Any]] = {
    "features": {"normalise": "corpus"},
    "model": {"pooling": "flatten", "speaker_grad": 1.0, "decoder_prosody": False},
    "train": {"ema_decay": 0.0},
}

_CHECKS = {"FeatureConfig": _check_features, "SynthConfig": _check_synth,
           "ModelConfig": _check_model, "TrainConfig": _check_train}

PRESETS: dict[str, Config] = {
    "tiny": Config(
        name="tiny",
        features=FeatureConfig(n_mels=32, segment_frames=64, segment_hop=32),
        synth=SynthConfig(emo_speakers=10, emo_utts_per_emotion=5, emo_utts_per_extended=1,
                          aux_speakers=12, aux_utts_per_speaker=4, field_speakers=4,
                          field_utts_per_emotion=3, min_duration_s=0.8, max_duration_s=1.6),
        # the paper's decoder: pYIN's descriptors would cost each test corpus seconds
        # (tests turn model.decoder_prosody on where they need it)
        model=ModelConfig(channels=(8, 16), hidden_dim=32, z_dim=4, disc_hidden=32,
                          head_hidden=32, decoder_prosody=False),
        # one thread: a model this small gains nothing from a second (benchmarks/threads.py),
        # and a fixed count keeps the tests' checkpoints bit-identical however busy the machine
        train=TrainConfig(steps=120, batch_size=16, eval_every=40, patience=3, num_threads=1),
    ),
    # Sized for Binder's free tier (2 cores, 2 GB): `sertutor train` in <= 3 minutes on CPU
    # (the first run on a fresh machine about three more: the prosodic descriptors, which
    # `sertutor tutorials prepare`, Binder's post-build, computes before class).
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
    return cfg.validate()


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def parse_override(text: str) -> tuple[str, Any]:
    """Turn one command-line override ``"section.field=value"`` into a :func:`get_config` keyword.

    The value is read as the type the field has in the presets: an integer, a number, a
    boolean (``true``/``false``, ``yes``/``no``, ``1``/``0``), a string, or a comma-separated
    tuple of integers (``model.channels=8,16,32``). Ranges and choices are checked later, by
    :meth:`Config.validate`, which names the field.

    Parameters
    ----------
    text : str
        E.g. ``"train.w_speaker=0.6"`` or ``"features.normalise=corpus"``.

    Returns
    -------
    (key, value) : tuple
        ``key`` in get_config's ``section__field`` form, ``value`` converted.

    Examples
    --------
    >>> parse_override("train.w_speaker=0.6")
    ('train__w_speaker', 0.6)
    >>> get_config("tiny", **dict([parse_override("model.channels=4,8")])).model.channels
    (4, 8)
    """
    if not isinstance(text, str):
        raise TypeError(f"an override must be a str 'section.field=value', got {_got(text)}")
    key, eq, raw = text.partition("=")
    section, dot, name = key.strip().partition(".")
    raw = raw.strip()
    if not eq or not dot or not raw:
        raise ValueError(f"override {text!r}: expected section.field=value, "
                         "e.g. train.w_speaker=0.6")
    if section not in _SECTIONS:
        raise ValueError(f"override {text!r}: unknown section {section!r}; "
                         f"choose one of {sorted(_SECTIONS)}")
    defaults = _SECTIONS[section]()
    if name not in {f.name for f in dataclasses.fields(defaults)}:
        known = ", ".join(f.name for f in dataclasses.fields(defaults))
        raise ValueError(f"override {text!r}: {section} has no field {name!r}; its fields: "
                         f"{known}")
    like = getattr(defaults, name)
    try:
        if isinstance(like, bool):
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError
            value: Any = raw.lower() in _TRUE
        elif isinstance(like, int):
            value = int(raw)
        elif isinstance(like, float) or like is None:
            value = None if raw.lower() == "none" else float(raw)
        elif isinstance(like, tuple):
            value = tuple(int(v) for v in raw.split(","))
        else:
            value = raw
    except ValueError:
        kind = "true or false" if isinstance(like, bool) else \
            "comma-separated integers" if isinstance(like, tuple) else \
            "an integer" if isinstance(like, int) else "a number"
        raise ValueError(f"override {text!r}: {section}.{name} takes {kind}, got {raw!r}") \
            from None
    return f"{section}__{name}", value
