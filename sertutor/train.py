"""The explicit semi-supervised multi-task training loop.

One optimisation step draws a batch from each stream and runs three phases, as in the
semi-supervised adversarial autoencoder (Makhzani et al., *Adversarial Autoencoders*, 2016,
section 5) extended with the auxiliary tasks of Latif et al. (IEEE TAC 2022, arXiv:1907.06078):

1. **Reconstruction** on all audio (labelled, unlabelled, auxiliary): encoder and decoder
   minimise the reconstruction error of the log-mel segment (and, with
   ``model.decoder_prosody``, of its utterance's prosodic descriptors).
2. **Regularisation**: the discriminators D_z (Gaussian prior on the style code z) and D_y
   (categorical prior on the emotion code y) learn to tell prior samples from codes; then the
   encoder, as generator, learns to fool them.
3. **Supervised**: emotion cross-entropy on the labelled batch (plus arousal / valence where
   labelled), speaker and gender cross-entropy on the auxiliary batch, weighted by the config.

Each phase is a method of :class:`Trainer` (:meth:`~Trainer.reconstruction_phase`,
:meth:`~Trainer.regularisation_phase`, :meth:`~Trainer.supervised_phase`), fed by the batches
:meth:`~Trainer.draw_batches` draws; :meth:`~Trainer.train_step` runs them in order. Each model
variant uses the phases it has parts for: ``baseline`` and ``mtl`` only phase 3, ``ae`` phases
1 and 3, ``aae`` and ``full`` all three. D_y sees only the emotion corpus's codes: the
auxiliary corpus is mostly neutral speech, so its codes should not be pushed towards a uniform
mix of emotions. ``fixmatch``, a modern comparison that is not the paper's, is the baseline
plus a pseudo-label term in phase 3 (:meth:`~Trainer.pseudo_labels`).

The :class:`Trainer` also does what a real training run needs: callbacks (the notebook's live
dashboard is one), early stopping on a validation split (of a moving average of the weights
by default, ``train.ema_decay``), detection of a collapsed adversarial game and of NaN
losses, bf16 autocast on CUDA, atomic checkpoints loaded with ``weights_only=True``, exact
resumption, and DistributedDataParallel under ``torchrun``.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel

from . import losses as L
from .config import Config
from .data.manifest import emotion_labels
from .data.segments import Streams, sibling_segments
from .evaluate import evaluate_segments, pool_utterances, predict
from .models import sample_categorical_prior, sample_gaussian_prior
from .runtime import ThreadGovernor, apply_num_threads
from .storage import atomic_write

__all__ = [
    "SELECTIONS",
    "Streams",
    "Batches",
    "Callback",
    "PrintLogger",
    "Trainer",
    "TrainingDivergedError",
    "AdversarialCollapseWarning",
    "save_checkpoint",
    "load_checkpoint",
    "resolve_device",
    "ema_avg_fn",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = 1  # bumped when the checkpoint layout changes

#: Values of ``TrainConfig.select``: how the validation speakers pick the weights a run keeps.
SELECTIONS = ("uar", "loss", "last")

# Importing the training code (a notebook's first cell, the command line) sizes torch's CPU
# thread pool from the CPU budget this process really has and the load of other processes,
# instead of torch's default of every host core (see sertutor.runtime for why).
apply_num_threads()


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite; the message says which one and at which step."""


class AdversarialCollapseWarning(UserWarning):
    """A discriminator wins (accuracy ~1) or loses (~0) all the time: the min-max game is stuck."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else CPU; otherwise ``torch.device(device)``, checked."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; "
                         "use --device cpu or auto")
    return dev


@dataclass
class Batches:
    """The batches of one training step (:meth:`Trainer.draw_batches`); absent streams None.

    ``x_*`` are (B, C, n_mels, T) segments, ``idx_*`` their rows in the stream.
    """

    x_l: torch.Tensor  # labelled emotion segments
    idx_l: torch.Tensor
    x_u: torch.Tensor | None = None  # unlabelled emotion segments
    idx_u: torch.Tensor | None = None
    x_a: torch.Tensor | None = None  # auxiliary-corpus segments
    idx_a: torch.Tensor | None = None
    # another segment of each unlabelled segment's utterance (train.w_utterance > 0), and
    # whether its utterance has one (a single-segment utterance repeats itself)
    x_u2: torch.Tensor | None = None
    has_u2: torch.Tensor | None = None
    # train.utterance_segments = k > 1: k - 1 more segments of each labelled segment's
    # utterance, ((k - 1) B, C, n_mels, T), view j of row b at [j B + b]
    x_l_more: torch.Tensor | None = None

    @property
    def x_emotion(self) -> list[torch.Tensor]:
        return [x for x in (self.x_l, self.x_u) if x is not None]

    @property
    def n_emotion(self) -> int:
        """Rows of the emotion corpus (labelled + unlabelled) at the front of ``x_all``."""
        return sum(len(x) for x in self.x_emotion)

    @cached_property
    def x_all(self) -> torch.Tensor:
        """All audio of the step, emotion corpus first: (B_all, C, n_mels, T)."""
        return torch.cat(self.x_emotion + ([self.x_a] if self.x_a is not None else []))

    def field_all(self, streams: "Streams", name: str) -> torch.Tensor:
        """One field of ``x_all``'s rows (a SegmentSet attribute): ``"mask"`` (B_all, T),
        ``"speaker"`` (B_all,), ..."""
        parts = [getattr(streams.labelled, name)[self.idx_l]]
        if self.x_u is not None:
            parts.append(getattr(streams.unlabelled, name)[self.idx_u])
        if self.x_a is not None:
            parts.append(getattr(streams.aux, name)[self.idx_a])
        return torch.cat(parts)

    def mask_all(self, streams: "Streams") -> torch.Tensor:
        """Valid-frame masks of ``x_all``'s rows, (B_all, T)."""
        return self.field_all(streams, "mask")


class Callback:
    """Hooks the trainer calls; subclass and override what you need (minGPT style).

    ``logs`` holds the step's losses and discriminator accuracies as floats; ``metrics`` the
    validation metrics of :func:`sertutor.evaluate.evaluate_segments`.
    """

    def on_train_start(self, trainer: "Trainer") -> None: ...

    def on_step_end(self, trainer: "Trainer", step: int, logs: dict[str, float]) -> None: ...

    def on_eval_end(self, trainer: "Trainer", step: int, metrics: dict[str, Any]) -> None: ...

    def on_train_end(self, trainer: "Trainer") -> None: ...


class PrintLogger(Callback):
    """Print validation results (for scripts and the command line)."""

    def on_eval_end(self, trainer, step, metrics):
        print(f"step {step:5d}  val UAR {metrics['uar']:.3f}  WA {metrics['wa']:.3f}",
              flush=True)


class DiscriminatorLogits(NamedTuple):
    """What the ``"discriminate"`` phase returns: D's logits, each (B,)."""

    z_real: torch.Tensor  # D_z on samples of the Gaussian prior
    z_fake: torch.Tensor  # D_z on encoder codes z
    y_real: torch.Tensor  # D_y on one-hot samples of the categorical prior
    y_fake: torch.Tensor  # D_y on encoder codes y


class GeneratorLogits(NamedTuple):
    """What the ``"generate"`` phase returns: D's logits of the encoder's own codes."""

    z: torch.Tensor  # (B_all,) D_z on q(z|x) of all audio
    y: torch.Tensor  # (n_emo,) D_y on q(y|x) of the emotion corpus only


class Reconstruction(NamedTuple):
    """What the decoder rebuilds of a batch (phase ``"reconstruct"``)."""

    x: torch.Tensor  # (B, C, n_mels, T) the segments
    prosody: torch.Tensor | None  # (B, 18) the prosodic descriptors (model.decoder_prosody)


class HeadOutputs(NamedTuple):
    """What the ``"supervise"`` phase returns; the auxiliary outputs are None without heads."""

    y_logits: torch.Tensor  # (B, n_emotions)
    speaker_logits: torch.Tensor | None = None  # (B, n_speakers)
    gender_logits: torch.Tensor | None = None  # (B, 2)
    arousal_logits: torch.Tensor | None = None  # (B, n_bins)
    valence_logits: torch.Tensor | None = None  # (B, n_bins)
    arousal: torch.Tensor | None = None  # (B,)
    valence: torch.Tensor | None = None  # (B,)


class _Phases(nn.Module):
    """Routes every phase through one ``forward`` so DistributedDataParallel sees it.

    DDP synchronises gradients only for computations that go through the wrapped module's
    ``forward``; the AAE's phases call different parts (encoder, decoder, discriminators), so
    this wrapper dispatches on the phase name and returns named tuples. Without DDP it is a
    thin, free indirection.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, phase: str, x: torch.Tensor | None = None, *, n_emotion: int = 0,
                z_real: torch.Tensor | None = None, z_fake: torch.Tensor | None = None,
                y_real: torch.Tensor | None = None, y_fake: torch.Tensor | None = None,
                speaker: torch.Tensor | None = None):
        m = self.model
        if phase == "reconstruct":  # x [, speaker] -> Reconstruction: segments [, prosody]
            codes = m.encode(x)
            return Reconstruction(*m.reconstruct(codes.y, codes.z, speaker))
        if phase == "discriminate":  # detached codes and prior samples -> D logits
            return DiscriminatorLogits(z_real=m.discriminate_z(z_real),
                                       z_fake=m.discriminate_z(z_fake),
                                       y_real=m.discriminate_y(y_real),
                                       y_fake=m.discriminate_y(y_fake))
        if phase == "generate":  # x -> D logits of its codes (the encoder tries to fool D)
            codes = m.encode(x)
            return GeneratorLogits(z=m.discriminate_z(codes.z),
                                   y=m.discriminate_y(codes.y[:n_emotion]))
        if phase == "supervise":  # x -> the head outputs the supervised losses use
            out = m(x, reconstruct=False)
            return HeadOutputs(out.y_logits, out.speaker_logits, out.gender_logits,
                               out.arousal_logits, out.valence_logits, out.arousal,
                               out.valence)
        raise ValueError(f"unknown phase {phase!r}")


def ema_avg_fn(*, decay: float):
    r"""The update of an exponential moving average of weights, with a warm-up.

    After ``n`` earlier updates the average :math:`\bar\theta` moves towards the current
    weights :math:`\theta` as

    .. math:: \bar\theta \leftarrow d_n \bar\theta + (1 - d_n)\,\theta, \qquad
              d_n = \min\left(d, \frac{1 + n}{10 + n}\right),

    so the first averages follow the fast-moving early weights closely and later ones average
    over about :math:`1 / (1 - d)` steps (the warm-up of TensorFlow's
    ``ExponentialMovingAverage``).

    Parameters
    ----------
    decay : float in (0, 1)
        :math:`d`, the decay once warmed up.

    Returns
    -------
    callable
        ``update(averaged, current, n) -> tensor``, the ``avg_fn`` of
        :class:`torch.optim.swa_utils.AveragedModel`, which applies it to every weight (and
        buffer); integer counters such as batch-norm's ``num_batches_tracked`` are copied.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be a number in (0, 1), got {decay!r}")

    def update(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        if not averaged.is_floating_point():
            return current
        d = torch.clamp((1.0 + n) / (10.0 + n), max=decay).to(averaged.device, averaged.dtype)
        return averaged + (current - averaged) * (1.0 - d)
    return update


class Trainer:
    """Train a :class:`~sertutor.models.MultiTaskAAE` on :class:`Streams`.

    Parameters
    ----------
    model : MultiTaskAAE
    streams : Streams
    config : Config
        ``config.train`` holds the schedule and loss weights.
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    callbacks : sequence of Callback
    out_dir : path, optional
        Where :meth:`fit` writes ``checkpoint.pt`` (at every validation and at the end).
    meta : dict, optional
        JSON-ready extras stored in the checkpoint (label maps, normalisation statistics, ...).
    progress : bool
        Show a tqdm progress bar.
    """

    def __init__(self, model: nn.Module, streams: Streams, *, config: Config,
                 device: str | torch.device = "auto", callbacks: Sequence[Callback] = (),
                 out_dir: str | os.PathLike | None = None, meta: dict | None = None,
                 progress: bool = True):
        if streams.labelled is None or len(streams.labelled) == 0:
            raise ValueError("streams.labelled is empty: training needs emotion-labelled "
                             "segments")
        config.validate()  # fields assigned after get_config are checked before any work
        self.config = config
        self.cfg = config.train
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.callbacks = list(callbacks)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.meta = dict(meta or {})
        self.progress = progress
        # -- distributed (torchrun sets these variables) ------------------------------------
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.is_main = self.rank == 0
        # -- data: on the device when it fits, else batches are moved per step ----------------
        self.streams = streams.to(self.device) if self._fits_on_device(streams) else streams
        # -- optimisers: one for encoder/decoder/heads, one for the discriminators ---------------
        self.opt = torch.optim.Adam(model.main_parameters(), lr=self.cfg.lr,
                                    weight_decay=self.cfg.weight_decay)
        # with train.phase_optimizers, the reconstruction and generator phases each get their
        # own Adam over the same parameters, so the moment estimates of one loss do not scale
        # the steps of another (as in Makhzani et al.'s per-phase updates)
        self.phase_opts: dict[str, torch.optim.Optimizer] = {}
        if getattr(self.cfg, "phase_optimizers", False):
            self.phase_opts = {phase: torch.optim.Adam(model.main_parameters(), lr=self.cfg.lr,
                                                       weight_decay=self.cfg.weight_decay)
                               for phase in ("reconstruction", "generator")}
        disc = list(model.discriminator_parameters())
        self.opt_disc = torch.optim.Adam(disc, lr=self.cfg.disc_lr, betas=(0.5, 0.999)) \
            if disc else None
        # -- schedule: optional unsupervised pre-training, then the full steps ---------------
        # (only a model with unsupervised phases pre-trains; step counts include it)
        unsupervised = model.has_decoder or model.has_adversaries
        self.pretrain_steps = getattr(self.cfg, "pretrain_steps", 0) if unsupervised else 0
        self.total_steps = self.pretrain_steps + self.cfg.steps
        # -- train.balance = "class": each labelled segment drawn with weight 1 / (segments of
        # its class), so every emotion is equally likely in a labelled batch ----------------
        self.class_weights: torch.Tensor | None = None
        if getattr(self.cfg, "balance", "none") == "class":
            emotion = streams.labelled.emotion.cpu()  # (N_seg,)
            count = torch.bincount(emotion)  # (K,) segments per class
            self.class_weights = 1.0 / count[emotion].double()  # (N_seg,)
        # -- randomness: batches and prior samples from one generator (saved in checkpoints) ---
        self.gen = torch.Generator().manual_seed(self.cfg.seed * 1000 + self.rank)
        # -- an exponential moving average of the weights (train.ema_decay > 0): validation
        # reads it and a run keeps it (see eval_model) --------------------------------------
        self.ema: AveragedModel | None = None
        if getattr(self.cfg, "ema_decay", 0.0) > 0:
            self.ema = AveragedModel(self.model, avg_fn=ema_avg_fn(decay=self.cfg.ema_decay),
                                     use_buffers=True)
        self.net: nn.Module = _Phases(self.model)
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DDP(self.net, device_ids=ids, find_unused_parameters=True)
        # -- state that a checkpoint must restore ----------------------------------------------
        self.step_count = 0
        self.history: list[dict[str, float]] = []
        self.evals: list[dict[str, Any]] = []
        self.best_uar = -math.inf  # validation UAR at best_step
        self.best_score = -math.inf  # the selection score at best_step (higher is better)
        self.best_step = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_evals = 0
        self.stopped_early = False
        self.collapse_warned = False

    # ----------------------------------------------------------------------------- helpers
    @property
    def eval_model(self) -> nn.Module:
        """The weights validation reads: the moving average with ``train.ema_decay > 0``,
        else the model being trained."""
        return self.ema.module if self.ema is not None else self.model

    def _fits_on_device(self, streams: Streams) -> bool:
        if self.device.type != "cuda":
            return True
        free, _ = torch.cuda.mem_get_info(self.device)
        return streams.nbytes() < 0.5 * free

    def _autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16,
                              enabled=self.cfg.amp and self.device.type == "cuda")

    def _batch(self, segments, weights: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``batch_size`` random segment indices (with replacement) from a stream:
        uniformly, or in proportion to ``weights`` (N_seg,) where given."""
        if weights is None:
            idx = torch.randint(len(segments), (self.cfg.batch_size,), generator=self.gen)
        else:
            idx = torch.multinomial(weights, self.cfg.batch_size, replacement=True,
                                    generator=self.gen)
        return idx.to(segments.x.device), segments.x[idx.to(segments.x.device)].to(self.device)

    def _field(self, segments, name: str, idx: torch.Tensor) -> torch.Tensor:
        return getattr(segments, name)[idx].to(self.device)

    def _check_finite(self, logs: dict[str, float]) -> None:
        for name, value in logs.items():
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"step {self.step_count}: {name} = {value}. Training diverged; try a lower "
                    f"learning rate (train.lr={self.cfg.lr}, train.disc_lr={self.cfg.disc_lr}) "
                    f"or a smaller adversarial weight (train.w_adv={self.cfg.w_adv}).")

    def rampup(self) -> float:
        """Weight factor of the unsupervised losses at the current step, in [0, 1].

        With ``train.rampup_steps`` = R > 0 it rises as ``exp(-5 (1 - t/R)^2)`` over the first
        R steps, then stays 1 (the ramp of Laine & Aila, ICLR 2017): while the classifier's
        early guesses are still poor, the priors and consistency terms do not lock them in.
        """
        ramp = getattr(self.cfg, "rampup_steps", 0)
        if ramp <= 0 or self.step_count >= ramp:
            return 1.0
        return math.exp(-5.0 * (1.0 - self.step_count / ramp) ** 2)

    def speaker_ramp(self) -> float:
        """Factor on ``model.speaker_grad`` at the current step, in [0, 1].

        With ``train.speaker_grad_ramp`` = R > 0 it is DANN's ``2 / (1 + exp(-10 t/R)) - 1``
        over the first R steps (0 at t = 0, 0.76 at t = R/5, 0.99 at t = R/2), then 1.
        """
        ramp = getattr(self.cfg, "speaker_grad_ramp", 0)
        if ramp <= 0 or self.step_count >= ramp:
            return 1.0
        return 2.0 / (1.0 + math.exp(-10.0 * self.step_count / ramp)) - 1.0

    @property
    def pretraining(self) -> bool:
        """True during the ``train.pretrain_steps`` unsupervised steps that open the run."""
        return self.step_count < self.pretrain_steps

    @property
    def joint_step(self) -> bool:
        """True with ``train.optimizer_steps = "per_step"``: the main optimiser steps once a
        training step, on the summed gradients of its phases (:meth:`train_step`)."""
        return getattr(self.cfg, "optimizer_steps", "per_phase") == "per_step"

    def _update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        if optimizer is self.opt and self.joint_step:
            loss.backward()  # accumulated; train_step takes the one step
            return
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # -------------------------------------------------------------------------- one step
    def draw_batches(self) -> "Batches":
        """Draw one batch from each stream the model's phases use (labelled, unlabelled, aux)."""
        m, s = self.model, self.streams
        # (B, C, n_mels, T) labelled emotion segments
        idx_l, x_l = self._batch(s.labelled, self.class_weights)
        b = Batches(x_l=x_l, idx_l=idx_l)
        if self.cfg.utterance_segments > 1:
            # (k - 1) draws of another segment of the same utterance (itself where it has one)
            more = [sibling_segments(s.labelled.utt, idx_l, generator=self.gen)[0]
                    for _ in range(self.cfg.utterance_segments - 1)]
            more = torch.cat(more).to(s.labelled.x.device)  # ((k - 1) B,)
            b.x_l_more = s.labelled.x[more].to(self.device)  # ((k - 1) B, C, n_mels, T)
        # Unlabelled audio feeds only the unsupervised phases (reconstruction, priors) and the
        # consistency phase of a pseudo-labelling model.
        if s.unlabelled is not None and len(s.unlabelled) and \
                (m.has_decoder or m.has_adversaries or m.has_consistency):
            b.idx_u, b.x_u = self._batch(s.unlabelled)  # (B, C, n_mels, T) label hidden
            if self.cfg.w_utterance > 0:
                sib, has = sibling_segments(s.unlabelled.utt, b.idx_u, generator=self.gen)
                sib = sib.to(s.unlabelled.x.device)
                b.x_u2 = s.unlabelled.x[sib].to(self.device)  # (B, C, n_mels, T)
                b.has_u2 = has.to(self.device)  # (B,)
        if s.aux is not None and len(s.aux) and (m.has_decoder or m.has_aux_heads):
            b.idx_a, b.x_a = self._batch(s.aux)  # (B, C, n_mels, T) speaker/gender labelled
        return b

    def reconstruction_phase(self, b: "Batches") -> dict[str, float]:
        """Phase 1: encoder and decoder minimise the reconstruction error on all audio.

        The target is the segment itself, or with ``train.recon_smooth_frames`` = k > 0 the
        segment smoothed over time by a k-frame moving average
        (:func:`sertutor.losses.smooth_time`). A speaker-conditioned decoder
        (``model.decoder_speaker_dim`` > 0) also reads each row's speaker. With
        ``train.recon_corrupt = "specaugment"`` the encoder reads a masked copy
        (:meth:`_masked`) and the target stays clean: a denoising autoencoder (Vincent et al.
        2008), the idea behind masked prediction in today's self-supervised speech models.
        With ``model.decoder_prosody`` the decoder also predicts each row's utterance's
        prosodic descriptors (``SegmentSet.prosody``), weighted ``train.w_prosody``
        (:func:`sertutor.losses.prosody_loss`).
        """
        x_all = b.x_all  # (B_all, C, n_mels, T): emotion corpus first, then aux
        x_in = x_all if self.cfg.recon_corrupt == "none" else self._masked(x_all)
        # a speaker-conditioned decoder (model.decoder_speaker_dim > 0) is told who speaks
        speaker = None
        if self.model.model_config.decoder_speaker_dim:
            speaker = b.field_all(self.streams, "speaker").to(self.device)  # (B_all,)
        with self._autocast():
            recon = self.net("reconstruct", x_in, speaker=speaker)
        target = L.smooth_time(x_all, self.cfg.recon_smooth_frames)  # (B_all, C, n_mels, T)
        loss = L.reconstruction_loss(recon.x, target, b.mask_all(self.streams).to(self.device))
        logs = {"recon": loss.item()}
        total = self.rampup() * self.cfg.w_recon * loss
        if recon.prosody is not None:  # model.decoder_prosody
            target_p = b.field_all(self.streams, "prosody").to(self.device)  # (B_all, 18)
            loss_p = L.prosody_loss(recon.prosody.float(), target_p)
            total = total + self.rampup() * self.cfg.w_prosody * loss_p
            logs["prosody"] = loss_p.item()
        self._update(self.phase_opts.get("reconstruction", self.opt), total)
        return logs

    def regularisation_phase(self, b: "Batches") -> dict[str, float]:
        """Phase 2: D_z and D_y learn prior samples from codes, then the encoder fools them.

        D_z judges the style codes of all audio; D_y only the emotion corpus's emotion codes
        (``codes.y[:n_emo]``: labelled and unlabelled segments). ``train.w_adv_y`` weighs
        fooling D_y against fooling D_z (0: D_y still learns, the encoder ignores it).
        """
        m, x_all, n_emo = self.model, b.x_all, b.n_emotion
        with torch.no_grad(), self._autocast():
            codes = m.encode(x_all)
        z_fake = codes.z.float()  # (B_all, z_dim)
        y_fake = codes.y[:n_emo].float()  # (n_emo, K)
        z_real = sample_gaussian_prior(len(z_fake), z_fake.shape[1],
                                       std=m.model_config.prior_std,
                                       generator=self.gen).to(self.device)
        y_real = sample_categorical_prior(n_emo, y_fake.shape[1],
                                          generator=self.gen).to(self.device)
        with self._autocast():
            d = self.net("discriminate", z_real=z_real, z_fake=z_fake, y_real=y_real,
                         y_fake=y_fake)
        loss_dz = L.discriminator_loss(d.z_real, d.z_fake)
        loss_dy = L.discriminator_loss(d.y_real, d.y_fake)
        self._update(self.opt_disc, loss_dz + loss_dy)
        logs = {"d_z": loss_dz.item(), "d_y": loss_dy.item(),
                "acc_d_z": L.discriminator_accuracy(d.z_real, d.z_fake),
                "acc_d_y": L.discriminator_accuracy(d.y_real, d.y_fake)}

        with self._autocast():
            g = self.net("generate", x_all, n_emotion=n_emo)
        loss_g = L.generator_loss(g.z) + self.cfg.w_adv_y * L.generator_loss(g.y)
        self._update(self.phase_opts.get("generator", self.opt),
                     self.rampup() * self.cfg.w_adv * loss_g)
        logs["generator"] = loss_g.item()
        return logs

    def supervised_phase(self, b: "Batches") -> dict[str, float]:
        """Phase 3: emotion (and arousal / valence) on the labelled batch, speaker and gender
        on the auxiliary batch, weighted; ``fixmatch`` adds its pseudo-label loss on the
        unlabelled batch (:meth:`pseudo_labels`). One forward pass over all of them.

        With ``train.speaker_corpora = "aux+emotion"`` the speaker head also reads the
        emotion segments of the step (labelled, and unlabelled where the model draws them),
        whose speakers are known though their emotion may not be.
        """
        cfg, m, s = self.cfg, self.model, self.streams
        use_aux = b.x_a is not None and m.has_aux_heads
        emotion_speakers = m.has_aux_heads and cfg.speaker_corpora == "aux+emotion"
        x_l = b.x_l if b.x_l_more is None else torch.cat([b.x_l, b.x_l_more])  # (k B, C, M, T)
        blocks = {"labelled": self.augment(x_l)}
        if use_aux:
            blocks["aux"] = b.x_a
        consistency = m.has_consistency and b.x_u is not None
        if consistency:
            pseudo, keep, x_strong = self.pseudo_labels(b.x_u)
            blocks["strong"] = x_strong
        agreement = b.x_u2 is not None
        if agreement or (emotion_speakers and b.x_u is not None):
            blocks["unlabelled"] = b.x_u
        if agreement:
            blocks["sibling"] = b.x_u2
        rows, start = {}, 0  # each block's rows in x_sup
        for name, x in blocks.items():
            rows[name], start = slice(start, start + len(x)), start + len(x)
        # (B_sup, C, n_mels, T): labelled, [aux], [strong views], [unlabelled, [siblings]]
        x_sup = torch.cat(list(blocks.values()))
        if m.speaker_head is not None and getattr(cfg, "speaker_grad_ramp", 0) > 0:
            m.speaker_head.grad_scale = m.model_config.speaker_grad * self.speaker_ramp()
        with self._autocast():
            heads = self.net("supervise", x_sup)
        y_logits, n_l, k_l = heads.y_logits, len(b.x_l), len(x_l)
        # one prediction per labelled row: the mean logits of its utterance's k segments
        y_l = y_logits[:k_l].reshape(k_l // n_l, n_l, -1).mean(0)  # (B, K)
        loss_emotion = L.cross_entropy(y_l, self._field(s.labelled, "emotion", b.idx_l))
        total = cfg.w_emotion * loss_emotion
        logs = {"emotion": loss_emotion.item()}
        if m.has_aux_heads:
            loss_dim = y_logits.new_zeros((), dtype=torch.float32)
            for dim, bin_logits, value_pred in (
                    ("arousal", heads.arousal_logits, heads.arousal),
                    ("valence", heads.valence_logits, heads.valence)):
                bins = self._field(s.labelled, f"{dim}_bin", b.idx_l)
                value = self._field(s.labelled, dim, b.idx_l)
                rated = (torch.isfinite(value).sum() >= 2).float()  # CCC needs >= 2 ratings
                loss_dim = loss_dim + L.cross_entropy(bin_logits[:n_l], bins) \
                    + rated * L.ccc_loss(value_pred[:n_l], value)
            total = total + cfg.w_dimensional * loss_dim
            logs["dimensional"] = loss_dim.item()
            # the speaker head's rows and their speakers: aux, [labelled, unlabelled]
            spk_rows = [(rows["aux"], s.aux, b.idx_a)] if use_aux else []
            if emotion_speakers:
                spk_rows.append((slice(0, n_l), s.labelled, b.idx_l))
                if "unlabelled" in rows:
                    spk_rows.append((rows["unlabelled"], s.unlabelled, b.idx_u))
            if spk_rows:
                loss_spk = L.cross_entropy(
                    torch.cat([heads.speaker_logits[r] for r, _, _ in spk_rows]),
                    torch.cat([self._field(seg, "speaker", i) for _, seg, i in spk_rows]))
                total = total + cfg.w_speaker * loss_spk
                logs["speaker"] = loss_spk.item()
            if use_aux:
                gen = self._field(s.aux, "gender", b.idx_a)
                loss_gen = L.cross_entropy(heads.gender_logits[rows["aux"]], gen)
                total = total + cfg.w_gender * loss_gen
                logs["gender"] = loss_gen.item()
        if agreement:
            loss_utt = L.utterance_agreement_loss(y_logits[rows["unlabelled"]],
                                                  y_logits[rows["sibling"]], b.has_u2)
            total = total + self.rampup() * cfg.w_utterance * loss_utt
            logs["utterance"] = loss_utt.item()
        if consistency:
            strong_logits = y_logits[rows["strong"]].float()  # (B_u, K)
            loss_u = L.pseudo_label_loss(strong_logits, pseudo, keep)
            total = total + self.rampup() * cfg.w_consistency * loss_u
            logs.update(consistency=loss_u.item(), pseudo_share=float(keep.float().mean()))
        self._update(self.opt, total)
        return logs

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """The labelled segments ``x`` (B, C, n_mels, T) as the supervised phase sees them.

        ``train.augment = "specaugment"``: each segment gets two frequency-band and two
        time-span masks (SpecAugment, Park et al. 2019), so the classifier cannot rest on one
        band or one moment of the few labelled segments; ``"strong"`` adds a level shift and
        noise (:func:`sertutor.losses.strong_augment`); ``"none"`` returns ``x`` unchanged.
        """
        mode = getattr(self.cfg, "augment", "none")
        if mode == "none":
            return x
        if mode == "strong":
            return L.strong_augment(x, generator=self.gen)  # (B, C, n_mels, T)
        return self._masked(x)

    def _masked(self, x: torch.Tensor) -> torch.Tensor:
        """SpecAugment's masks alone: two bands and two spans of each segment set to 0."""
        return L.strong_augment(x, generator=self.gen, level_std=0.0,
                                noise_std=0.0)  # (B, C, n_mels, T)

    def pseudo_labels(self, x_u: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FixMatch's targets (Sohn et al. 2020) for unlabelled segments ``x_u`` (B_u, C, M, T).

        The model's prediction on a segment as it is (the weak view) is a hard pseudo-label
        where its softmax confidence reaches ``train.confidence``; the supervised phase then
        asks the same prediction of a strongly augmented copy
        (:func:`sertutor.losses.strong_augment`).

        Returns
        -------
        pseudo : Tensor of int64, shape (B_u,)
            argmax class of each segment.
        keep : Tensor of bool, shape (B_u,)
            Whether the pseudo-label is confident enough to count.
        x_strong : Tensor, shape (B_u, C, n_mels, T)
        """
        with torch.no_grad(), self._autocast():
            prob = self.net("supervise", x_u).y_logits.float().softmax(dim=1)  # (B_u, K)
        confidence, pseudo = prob.max(dim=1)  # (B_u,), (B_u,)
        x_strong = L.strong_augment(x_u, generator=self.gen)  # (B_u, C, n_mels, T)
        return pseudo, confidence >= self.cfg.confidence, x_strong

    def train_step(self) -> dict[str, float]:
        """One step: draw the batches, then run the phases the model has parts for.

        While :attr:`pretraining`, only the unsupervised phases run. The first step after it
        empties the main optimiser's moment estimates: they were estimated from the
        reconstruction gradients alone, which are far smaller than the supervised ones, and
        would make Adam's first supervised steps many times the learning rate.

        Each phase steps the main optimiser after its loss (``train.optimizer_steps =
        "per_phase"``), or, with ``"per_step"``, only adds its gradients, taken at the same
        weights, and the optimiser steps once at the end: Adam then sees the joint loss, and
        its momentum, which the supervised gradients dominate, is applied once a step instead
        of once a phase.
        """
        self.model.train()
        if self.pretrain_steps and self.step_count == self.pretrain_steps:
            self.opt.state.clear()
        b = self.draw_batches()
        if self.joint_step:
            self.opt.zero_grad(set_to_none=True)
        logs: dict[str, float] = {}
        if self.model.has_decoder:
            logs.update(self.reconstruction_phase(b))
        if self.model.has_adversaries:
            logs.update(self.regularisation_phase(b))
        if not self.pretraining:
            logs.update(self.supervised_phase(b))
        self._check_finite(logs)
        if self.joint_step:
            self.opt.step()
        return logs

    # ---------------------------------------------------------------------- validation
    def validate(self) -> dict[str, Any] | None:
        """Validation metrics on ``streams.val`` (None without a validation stream).

        Besides :func:`~sertutor.evaluate.evaluate_segments`'s metrics, ``loss`` is the mean
        emotion cross-entropy of the utterance-pooled posteriors (what ``select="loss"`` uses).
        """
        if self.streams.val is None or len(self.streams.val) == 0:
            return None
        metrics = evaluate_segments(self.eval_model, self.streams.val,
                                    emotions=emotion_labels(self.model.model_config.n_emotions),
                                    device=self.device)
        if getattr(self.cfg, "select", "uar") == "loss":
            metrics["loss"] = self._validation_loss()
        return metrics

    def _validation_loss(self) -> float:
        """Emotion cross-entropy of the validation utterances' pooled posteriors."""

        val = self.streams.val
        out = predict(self.eval_model, val, device=self.device)
        _, prob = pool_utterances(out["y_prob"], val.utt)  # (n_utt, K), rows sum to 1
        _, label = pool_utterances(val.emotion.float(), val.utt)  # (n_utt,)
        label = label.round().astype(int)
        keep = label >= 0
        p_true = torch.as_tensor(prob[keep, label[keep]])  # (n_labelled,) p(true class)
        return float(-p_true.clamp(1e-6, 1.0).log().mean())

    def _check_collapse(self) -> None:
        """Warn once if a discriminator's accuracy sat at 0 or 1 over the last window."""
        window = self.history[-max(20, self.cfg.eval_every // 2):]
        for key, name in (("acc_d_z", "D_z"), ("acc_d_y", "D_y")):
            accs = [h[key] for h in window if key in h]
            if len(accs) < 20 or self.collapse_warned:
                continue
            mean = sum(accs) / len(accs)
            if mean >= 0.99 or mean <= 0.01:
                self.collapse_warned = True
                who = "the discriminator always wins" if mean >= 0.99 else \
                    "the discriminator is always fooled"
                warnings.warn(
                    f"adversarial game collapsed at step {self.step_count}: {name} accuracy "
                    f"{mean:.2f} over the last {len(accs)} steps ({who}). Try another "
                    f"train.disc_lr (now {self.cfg.disc_lr}) or train.w_adv (now "
                    f"{self.cfg.w_adv}).", AdversarialCollapseWarning, stacklevel=2)

    def _should_stop(self, metrics: dict[str, Any] | None) -> bool:
        """Model selection and early stopping bookkeeping (``config.train.select``); returns
        True when patience is used up."""
        stop = False
        select = getattr(self.cfg, "select", "uar")
        if select not in SELECTIONS:
            raise ValueError(f"train.select must be one of {SELECTIONS}, got {select!r}")
        if metrics is not None and self.is_main:
            if select == "last":  # no selection: the final weights are kept, never stop
                self.best_uar, self.best_score, self.best_step = metrics["uar"], \
                    metrics["uar"], self.step_count
                self.best_state = None
                return False
            score = metrics["uar"] if select == "uar" else -metrics["loss"]
            if score > self.best_score:
                self.best_uar, self.best_score, self.best_step, self.bad_evals = \
                    metrics["uar"], score, self.step_count, 0
                self.best_state = {k: v.detach().cpu().clone()
                                   for k, v in self.eval_model.state_dict().items()}
            else:
                self.bad_evals += 1
            stop = self.bad_evals >= self.cfg.patience
        if self.world_size > 1:  # rank 0 decides, everyone follows
            import torch.distributed as dist

            flag = torch.tensor([int(stop)], device=self.device if self.device.type == "cuda"
                                else "cpu")
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

    # ---------------------------------------------------------------------------- fit
    def fit(self, *, resume_from: str | os.PathLike | None = None) -> "Trainer":
        """Train for ``config.train.steps`` steps (or until early stopping), after the
        ``config.train.pretrain_steps`` unsupervised ones of a model that has them.

        With ``resume_from``, continue the run saved in that checkpoint exactly where it
        stopped. At the end the model holds the best validation weights (if there was a
        validation stream; with ``train.ema_decay > 0`` the best of the averaged weights, or
        the last average under ``select="last"``), and ``out_dir/checkpoint.pt`` is written.
        """
        if resume_from is not None:
            self.load_state_dict(load_checkpoint(resume_from, map_location=self.device))
        governor = None
        if self.device.type == "cpu":
            if self.cfg.num_threads:
                apply_num_threads(self.cfg.num_threads)
            governor = ThreadGovernor(config_threads=self.cfg.num_threads)
            governor.start()
        self.threads = [(self.step_count, torch.get_num_threads())]  # (step, CPU threads)
        for cb in self.callbacks:
            cb.on_train_start(self)
        bar = None
        if self.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.total_steps, initial=self.step_count, desc="training",
                       unit="step", dynamic_ncols=True)
        t0 = time.perf_counter()
        try:
            while self.step_count < self.total_steps and not self.stopped_early:
                logs = self.train_step()
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                self.step_count += 1
                if governor is not None:
                    governor.step(self.step_count)
                    if governor.changes and governor.changes[-1][0] == self.step_count:
                        self.threads.append(governor.changes[-1])
                self.history.append({"step": self.step_count, **logs})
                for cb in self.callbacks:
                    cb.on_step_end(self, self.step_count, logs)
                if bar is not None:
                    bar.update(1)
                    if self.step_count % 10 == 0:
                        bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()
                                         if not k.startswith("acc")}, refresh=False)
                after = self.step_count - self.pretrain_steps  # steps of the full schedule
                if after > 0 and (after % self.cfg.eval_every == 0 or
                                  self.step_count == self.total_steps):
                    self._check_collapse()
                    metrics = self.validate() if self.is_main else None
                    if metrics is not None:
                        self.evals.append({"step": self.step_count, "uar": metrics["uar"],
                                           "wa": metrics["wa"],
                                           **({"loss": metrics["loss"]} if "loss" in metrics
                                              else {})})
                        for cb in self.callbacks:
                            cb.on_eval_end(self, self.step_count, metrics)
                    self.stopped_early = self._should_stop(metrics) and \
                        self.step_count < self.total_steps
                    self.save()
        finally:
            if bar is not None:
                bar.close()
        self.train_seconds = time.perf_counter() - t0
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif self.ema is not None:  # select="last": the final average
            self.model.load_state_dict(self.ema.module.state_dict())
        self.save()
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self

    # ---------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (tensors and plain containers only)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_json(),
            "meta": json.dumps(self.meta),
            "model": self.model.state_dict(),
            "best_model": self.best_state,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt": self.opt.state_dict(),
            "opt_disc": self.opt_disc.state_dict() if self.opt_disc is not None else None,
            "opt_phases": {k: o.state_dict() for k, o in self.phase_opts.items()},
            "step": self.step_count,
            "history": json.dumps(self.history),
            "evals": json.dumps(self.evals),
            "best": [self.best_uar if math.isfinite(self.best_uar) else -1.0, self.best_step,
                     self.bad_evals, int(self.stopped_early), int(self.collapse_warned),
                     self.best_score if math.isfinite(self.best_score) else -1e30],
            "rng_torch": torch.get_rng_state(),
            "rng_batches": self.gen.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = Config.from_dict(json.loads(state["config"]))
        if saved.model != self.config.model:
            raise ValueError("checkpoint was made with another model config "
                             f"({saved.model}) than this run's ({self.config.model})")
        self.model.load_state_dict(state["model"])
        if self.ema is not None:  # a checkpoint without one: the average starts afresh
            if state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            else:
                self.ema.n_averaged.zero_()
        self.opt.load_state_dict(state["opt"])
        if self.opt_disc is not None and state["opt_disc"] is not None:
            self.opt_disc.load_state_dict(state["opt_disc"])
        for name, opt in self.phase_opts.items():  # absent in older checkpoints: fresh
            if name in state.get("opt_phases", {}):
                opt.load_state_dict(state["opt_phases"][name])
        self.step_count = int(state["step"])
        self.history = json.loads(state["history"])
        self.evals = json.loads(state["evals"])
        best_uar, self.best_step, self.bad_evals, stopped, warned = state["best"][:5]
        self.best_uar = best_uar if best_uar >= 0 else -math.inf
        # checkpoints before train.select stored no score: it was the UAR
        score = state["best"][5] if len(state["best"]) > 5 else best_uar
        self.best_score = score if score > -1e29 and (len(state["best"]) > 5 or score >= 0) \
            else -math.inf
        self.stopped_early, self.collapse_warned = bool(stopped), bool(warned)
        self.best_state = state["best_model"]
        torch.set_rng_state(state["rng_torch"].cpu())
        self.gen.set_state(state["rng_batches"].cpu())

    def save(self, path: str | os.PathLike | None = None) -> Path | None:
        """Write the checkpoint atomically (rank 0 only); default ``out_dir/checkpoint.pt``."""
        if not self.is_main or (path is None and self.out_dir is None):
            return None
        path = Path(path) if path is not None else self.out_dir / "checkpoint.pt"
        save_checkpoint(path, self.state_dict())
        return path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file, then rename: an interrupted save never corrupts."""
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Load a sertutor checkpoint with ``weights_only=True`` (it cannot run code).

    Raises ``FileNotFoundError`` naming the path, or ``ValueError`` if the file is not a
    sertutor checkpoint of a known format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a loadable sertutor checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a sertutor checkpoint of format {CHECKPOINT_FORMAT}")
    return state


def init_distributed(device: str = "auto") -> str:
    """Join the process group when launched by ``torchrun``; return this process's device.

    Without torchrun (``WORLD_SIZE`` unset or 1) this does nothing and returns ``device``.
    Each process then trains on its own batches; DDP averages the gradients. CUDA processes
    use the NCCL backend and GPU ``LOCAL_RANK``; CPU processes use gloo.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return device
    import torch.distributed as dist

    dev = resolve_device(device)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return str(dev)


def shutdown_distributed(*, wait: bool = True) -> None:
    """Leave the process group cleanly: wait for every rank (``wait``), then destroy it.

    A rank that exits while others still use the group (rank 0 evaluates and writes after
    training) can abort in the backend's teardown, so the command calls this before exiting.
    After an error, pass ``wait=False``: the other ranks may never reach the barrier.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
