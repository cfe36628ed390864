"""The assembled model: a multi-task semi-supervised adversarial autoencoder.

One class, :class:`MultiTaskAAE`, builds every comparison model of Latif et al. (2022) from
the same parts; ``ModelConfig.variant`` decides which parts exist::

    variant    encoder+y  decoder(z)  D_z, D_y  speaker/gender/dimensional heads
    baseline       x
    ae             x          x
    aae            x          x          x
    mtl            x                                x
    full           x          x          x          x
    fixmatch       x       (pseudo-labels on unlabelled audio, no extra parts)

- ``baseline``: a supervised CNN emotion classifier (h -> y logits).
- ``ae``: plus a decoder reconstructing x from [y, z], so unlabelled audio trains the encoder.
- ``aae``: plus adversarial priors on z (Gaussian) and y (categorical): the semi-supervised
  AAE of Makhzani et al. (2016).
- ``mtl``: the baseline plus speaker, gender and arousal/valence heads (supervised multi-task).
- ``full``: everything, the paper's model.
- ``fixmatch``: not in the paper; a modern semi-supervised comparison. The baseline CNN, plus
  a consistency loss on unlabelled audio: confident predictions on a segment become pseudo-
  labels for a strongly augmented copy of it (Sohn et al., *FixMatch*, NeurIPS 2020).

Parts a variant does not use are not created at all (they are ``None``), so parameter counts
and state dicts show exactly what each model has. The data flow of ``full``::

    x (B, C, n_mels, T) --Encoder--> h (B, hidden_dim) --dropout--+--LatentSplit--> y_logits, z
                                                                  +--SpeakerHead--> speaker_logits
                                                                  +--GenderHead---> gender_logits
                                                                  +--DimensionalHead--> arousal,
                                                                                  valence, bins
    y = softmax(y_logits);  [y, z] --Decoder--> recon (B, C, n_mels, T)
    D_z(z), D_y(y): "is this a sample of the prior?" logits, used by the losses

Training uses two optimisers (as in a GAN): one over :meth:`MultiTaskAAE.main_parameters`
(encoder, decoder, heads), one over :meth:`MultiTaskAAE.discriminator_parameters`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn

from ..config import DECODER_VARIANTS, MODEL_VARIANTS, Config, FeatureConfig, ModelConfig
from .decoder import Decoder
from .discriminators import CategoricalPriorDiscriminator, GaussianPriorDiscriminator
from .encoder import Encoder, LatentSplit
from .heads import DimensionalHead, GenderHead, SpeakerHead

__all__ = ["VariantParts", "VARIANT_PARTS", "Codes", "AAEOutput", "MultiTaskAAE"]


class VariantParts(NamedTuple):
    """Which optional parts a model variant has."""

    decoder: bool  # decoder p(x|y,z)
    adversaries: bool  # discriminators D_z and D_y
    aux_heads: bool  # speaker, gender and dimensional heads
    consistency: bool = False  # pseudo-labels on unlabelled audio (FixMatch-style training)


#: The switch table behind ``ModelConfig.variant``.
VARIANT_PARTS: dict[str, VariantParts] = {
    "baseline": VariantParts(decoder=False, adversaries=False, aux_heads=False),
    "ae": VariantParts(decoder=True, adversaries=False, aux_heads=False),
    "aae": VariantParts(decoder=True, adversaries=True, aux_heads=False),
    "mtl": VariantParts(decoder=False, adversaries=False, aux_heads=True),
    "full": VariantParts(decoder=True, adversaries=True, aux_heads=True),
    # not the paper's: the baseline CNN with FixMatch-style pseudo-labelling, for comparison
    "fixmatch": VariantParts(decoder=False, adversaries=False, aux_heads=False,
                             consistency=True),
}
assert tuple(VARIANT_PARTS) == MODEL_VARIANTS
assert DECODER_VARIANTS == tuple(v for v, parts in VARIANT_PARTS.items() if parts.decoder)


class Codes(NamedTuple):
    """What :meth:`MultiTaskAAE.encode` returns (unpacks as ``h, y_logits, y, z``)."""

    h: torch.Tensor  # (B, hidden_dim) shared hidden vector (before dropout)
    y_logits: torch.Tensor  # (B, n_emotions) emotion scores
    y: torch.Tensor  # (B, n_emotions) softmax(y_logits): the categorical emotion code
    z: torch.Tensor  # (B, z_dim) style code (trained only by the decoder and D_z)


@dataclass
class AAEOutput:
    """Everything one forward pass computes. Parts the variant lacks are ``None``.

    Attributes
    ----------
    h : Tensor, shape (B, hidden_dim)
        Shared hidden vector (before dropout).
    y_logits : Tensor, shape (B, n_emotions)
        Emotion logits (the emotion classifier; train with cross-entropy).
    y : Tensor, shape (B, n_emotions)
        ``softmax(y_logits)``: the categorical code the decoder and D_y see.
    z : Tensor, shape (B, z_dim)
        Style code. Every variant reads it, so all expose the same latent interface, but only
        the reconstruction and D_z train it: in ``baseline`` and ``mtl`` it is an untrained
        projection of h.
    recon : Tensor, shape (B, C, n_mels, T), or None
        Reconstruction of the input; None without a decoder.
    speaker_logits : Tensor, shape (B, n_speakers), or None
    gender_logits : Tensor, shape (B, 2), or None
    arousal_logits, valence_logits : Tensor, shape (B, n_bins), or None
        Low / mid / high classes.
    arousal, valence : Tensor, shape (B,), or None
        Regression on the 1-5 scale. All six auxiliary outputs are None without aux heads
        (``baseline``, ``ae``, ``aae``).
    """

    h: torch.Tensor
    y_logits: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    recon: torch.Tensor | None = None
    speaker_logits: torch.Tensor | None = None
    gender_logits: torch.Tensor | None = None
    arousal_logits: torch.Tensor | None = None
    valence_logits: torch.Tensor | None = None
    arousal: torch.Tensor | None = None
    valence: torch.Tensor | None = None


# submodule name -> what it is, for describe(); the discriminators are the ones named d_*
_ROLES = {
    "encoder": "q(h|x): 2-D CNN -> h",
    "latent": "h -> y logits (emotion), z (style)",
    "decoder": "p(x|y,z): [y, z] -> x",
    "d_z": "D_z: Gaussian prior vs q(z|x)",
    "d_y": "D_y: categorical prior vs q(y|x)",
    "speaker_head": "h -> speaker logits",
    "gender_head": "h -> gender logits",
    "dimensional_head": "h -> arousal/valence bins + values",
}
_DISCRIMINATORS = ("d_z", "d_y")


class MultiTaskAAE(nn.Module):
    """The multi-task semi-supervised AAE and, by ``model.variant``, its comparison models.

    Parameters
    ----------
    model : ModelConfig
        Sizes and ``variant`` (one of ``baseline``, ``ae``, ``aae``, ``mtl``, ``full``).
    features : FeatureConfig
        Input shape: ``n_channels``, ``n_mels``, ``segment_frames``.
    n_speakers : int
        Number of training speakers (``LabelMaps.speakers``: the speaker head's classes, and
        the rows of a speaker-conditioned decoder's embedding table). Needed (>= 1) by
        variants with auxiliary heads (``mtl``, ``full``); otherwise read only by a decoder
        with ``model.decoder_speaker_dim`` > 0.

    Examples
    --------
    >>> from sertutor.config import get_config
    >>> cfg = get_config("tiny")
    >>> model = MultiTaskAAE(model=cfg.model, features=cfg.features, n_speakers=12)
    >>> out = model(torch.randn(5, 1, 32, 64))
    >>> tuple(out.recon.shape), tuple(out.y.shape)
    ((5, 1, 32, 64), (5, 4))
    """

    def __init__(self, *, model: ModelConfig, features: FeatureConfig, n_speakers: int = 0):
        super().__init__()
        if model.variant not in VARIANT_PARTS:
            raise ValueError(f"unknown model variant {model.variant!r}; "
                             f"choose one of {MODEL_VARIANTS}")
        self.variant = model.variant
        self.parts = VARIANT_PARTS[model.variant]
        if self.parts.aux_heads and n_speakers < 1:
            raise ValueError(f"variant {model.variant!r} has a speaker head: pass n_speakers >= 1 "
                             f"(the number of training speakers), got {n_speakers}")
        self.model_config = copy.deepcopy(model)  # a private copy: later edits cannot desync
        self.feature_config = copy.deepcopy(features)
        self.input_shape = (features.n_channels, features.n_mels, features.segment_frames)
        self.n_speakers = n_speakers if self.parts.aux_heads else 0

        # always: the encoder and the emotion code y (its logits are the emotion classifier)
        self.encoder = Encoder(model, features)
        self.dropout = nn.Dropout(model.dropout)
        self.latent = LatentSplit(model)
        # the autoencoder
        self.decoder = Decoder(model, features, n_speakers) if self.parts.decoder else None
        # the adversarial priors
        self.d_z = GaussianPriorDiscriminator(model) if self.parts.adversaries else None
        self.d_y = CategoricalPriorDiscriminator(model) if self.parts.adversaries else None
        # the auxiliary tasks
        aux = self.parts.aux_heads
        self.speaker_head = SpeakerHead(model, n_speakers) if aux else None
        self.gender_head = GenderHead(model) if aux else None
        self.dimensional_head = DimensionalHead(model) if aux else None

    @classmethod
    def from_config(cls, cfg: Config, *, n_speakers: int = 0) -> "MultiTaskAAE":
        """Build from a whole :class:`~sertutor.config.Config` (its ``model`` and ``features``)."""
        return cls(model=cfg.model, features=cfg.features, n_speakers=n_speakers)

    # ---- which parts exist -------------------------------------------------------------------

    @property
    def has_decoder(self) -> bool:
        """Whether the model reconstructs its input (``ae``, ``aae``, ``full``)."""
        return self.parts.decoder

    @property
    def has_adversaries(self) -> bool:
        """Whether the model has the discriminators D_z and D_y (``aae``, ``full``)."""
        return self.parts.adversaries

    @property
    def has_consistency(self) -> bool:
        """Whether training adds the pseudo-label consistency loss (``fixmatch``)."""
        return self.parts.consistency

    @property
    def has_aux_heads(self) -> bool:
        """Whether the model has speaker, gender and dimensional heads (``mtl``, ``full``)."""
        return self.parts.aux_heads

    # ---- the forward pass --------------------------------------------------------------------

    def check_input(self, x: torch.Tensor) -> None:
        """Raise if ``x`` is not a float batch of shape (B, C, n_mels, T) this model expects."""
        c, m, t = self.input_shape
        expected = f"(B, C={c}, n_mels={m}, T={t})"
        if not isinstance(x, torch.Tensor):
            # a SegmentSet's x stores overlapping segments once (sertutor.data.SegmentFrames)
            hint = (": index it for a batch, seg.x[idx], or take every segment, seg.x[:]"
                    if type(x).__name__ == "SegmentFrames" else "")
            raise TypeError(f"expected a torch.Tensor of shape {expected}, "
                            f"got {type(x).__name__}{hint}")
        if x.ndim != 4:
            hint = " (add the channel axis with x.unsqueeze(1))" if x.ndim == 3 else ""
            raise ValueError(f"expected log-mel segments of shape {expected}, got a "
                             f"{x.ndim}-D tensor of shape {tuple(x.shape)}{hint}")
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"expected log-mel segments of shape {expected} "
                             "(FeatureConfig.n_channels, n_mels, segment_frames), "
                             f"got {tuple(x.shape)}")
        if not torch.is_floating_point(x):
            raise TypeError(f"expected a floating-point tensor, got dtype {x.dtype}")

    def encode(self, x: torch.Tensor) -> Codes:
        """q(y, z|x): encode segments into the shared hidden vector and the two codes.

        The codes are read from ``dropout(h)`` (dropout acts only in training mode), like the
        auxiliary heads; the returned ``h`` is before dropout.

        Parameters
        ----------
        x : Tensor, shape (B, C, n_mels, T)

        Returns
        -------
        Codes
            ``(h, y_logits, y, z)``.
        """
        self.check_input(x)
        h = self.encoder(x)  # (B, hidden_dim)
        y_logits, z = self.latent(self.dropout(h))  # (B, n_emotions), (B, z_dim)
        y = y_logits.softmax(dim=1)  # (B, n_emotions), rows sum to 1
        return Codes(h=h, y_logits=y_logits, y=y, z=z)

    def decode(self, y: torch.Tensor, z: torch.Tensor,
               speaker: torch.Tensor | None = None) -> torch.Tensor:
        """p(x|y, z): segments from emotion codes ``y`` (B, n_emotions) and style codes
        ``z`` (B, z_dim); returns (B, C, n_mels, T). Only for variants with a decoder.

        A speaker-conditioned decoder (``model.decoder_speaker_dim`` > 0) also reads
        ``speaker`` (B,), each row's index into ``LabelMaps.speakers`` (-1, or None for all
        rows: an unknown speaker); the paper's decoder ignores it."""
        if self.decoder is None:
            raise RuntimeError(f"variant {self.variant!r} has no decoder "
                               "(use 'ae', 'aae' or 'full')")
        self._check_codes(y, z, speaker)
        return self.decoder(y, z, speaker)

    def decode_prosody(self, y: torch.Tensor, z: torch.Tensor,
                       speaker: torch.Tensor | None = None) -> torch.Tensor:
        """The utterance's prosodic descriptors (B, 18) predicted from the codes, as
        :meth:`decode` takes them (``model.decoder_prosody``: raises without it)."""
        if self.decoder is None or self.decoder.to_prosody is None:
            raise RuntimeError(f"variant {self.variant!r} with model.decoder_prosody="
                               f"{self.model_config.decoder_prosody} reconstructs no prosody")
        self._check_codes(y, z, speaker)
        return self.decoder.prosody(y, z, speaker)

    def reconstruct(self, y: torch.Tensor, z: torch.Tensor,
                    speaker: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`decode` and, with ``model.decoder_prosody``, :meth:`decode_prosody` (else
        None) in one pass of the decoder's input: what the reconstruction phase trains on."""
        if self.decoder is None:
            raise RuntimeError(f"variant {self.variant!r} has no decoder "
                               "(use 'ae', 'aae' or 'full')")
        self._check_codes(y, z, speaker)
        return self.decoder.reconstruct(y, z, speaker)

    def _check_codes(self, y: torch.Tensor, z: torch.Tensor,
                     speaker: torch.Tensor | None) -> None:
        """Raise ValueError unless y is (B, n_emotions), z (B, z_dim), speaker None or (B,)."""
        cfg = self.model_config
        if y.ndim != 2 or z.ndim != 2 or y.shape[0] != z.shape[0] \
                or y.shape[1] != cfg.n_emotions or z.shape[1] != cfg.z_dim:
            raise ValueError(f"decode expects y of shape (B, {cfg.n_emotions}) and z of shape "
                             f"(B, {cfg.z_dim}), got {tuple(y.shape)} and {tuple(z.shape)}")
        if speaker is not None and (not isinstance(speaker, torch.Tensor)
                                    or speaker.shape != (y.shape[0],)
                                    or speaker.dtype not in (torch.int32, torch.int64)):
            raise ValueError(f"decode expects speaker as an integer tensor of shape "
                             f"({y.shape[0]},), got "
                             f"{getattr(speaker, 'dtype', type(speaker).__name__)} "
                             f"{tuple(getattr(speaker, 'shape', ()))}")

    def forward(self, x: torch.Tensor, *, reconstruct: bool = True,
                speaker: torch.Tensor | None = None) -> AAEOutput:
        """Run every part the variant has.

        Parameters
        ----------
        x : Tensor, shape (B, C, n_mels, T)
            Normalised log-mel segments; the shape must match the FeatureConfig the model was
            built with.
        reconstruct : bool
            Run the decoder too (if the variant has one). The supervised training phase skips
            it: it needs only the heads.
        speaker : Tensor, shape (B,), long, optional
            Each row's speaker for a speaker-conditioned decoder (:meth:`decode`).

        Returns
        -------
        AAEOutput
            Parts the variant lacks are None.

        Raises
        ------
        ValueError
            If ``x`` does not have shape (B, C, n_mels, T).
        """
        h, y_logits, y, z = self.encode(x)
        out = AAEOutput(h=h, y_logits=y_logits, y=y, z=z)
        if self.decoder is not None and reconstruct:
            out.recon = self.decode(y, z, speaker)  # (B, C, n_mels, T)
        if self.has_aux_heads:
            h_drop = self.dropout(h)
            out.speaker_logits = self.speaker_head(h_drop)  # (B, n_speakers)
            out.gender_logits = self.gender_head(h_drop)  # (B, 2)
            dims = self.dimensional_head(h_drop)
            out.arousal_logits, out.valence_logits = dims.arousal_logits, dims.valence_logits
            out.arousal, out.valence = dims.arousal, dims.valence  # (B,) each, in [1, 5]
        return out

    def discriminate_z(self, z: torch.Tensor) -> torch.Tensor:
        """D_z logits (B,) for style codes ``z`` (B, z_dim): prior samples or encoder outputs."""
        if self.d_z is None:
            raise RuntimeError(f"variant {self.variant!r} has no discriminators "
                               "(use 'aae' or 'full')")
        return self.d_z(z)

    def discriminate_y(self, y: torch.Tensor) -> torch.Tensor:
        """D_y logits (B,) for emotion codes ``y`` (B, n_emotions): one-hot prior samples or
        softmax outputs of the encoder."""
        if self.d_y is None:
            raise RuntimeError(f"variant {self.variant!r} has no discriminators "
                               "(use 'aae' or 'full')")
        return self.d_y(y)

    # ---- parameters, for the two optimisers ---------------------------------------------------

    def main_parameters(self) -> list[nn.Parameter]:
        """Parameters of the encoder, latent split, decoder and heads (the main optimiser)."""
        return [p for name, module in self.named_children() if name not in _DISCRIMINATORS
                for p in module.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Parameters of D_z and D_y (the discriminator optimiser); empty without adversaries."""
        return [p for name, module in self.named_children() if name in _DISCRIMINATORS
                for p in module.parameters()]

    def n_parameters(self, which: str = "all") -> int:
        """Number of parameters: ``"all"``, ``"main"`` or ``"discriminators"``."""
        groups = {"all": self.parameters, "main": self.main_parameters,
                  "discriminators": self.discriminator_parameters}
        if which not in groups:
            raise ValueError(f"which must be one of {sorted(groups)}, got {which!r}")
        return sum(p.numel() for p in groups[which]())

    def describe(self) -> str:
        """A short table of the submodules this variant has and their parameter counts."""
        c, m, t = self.input_shape
        cfg = self.model_config
        lines = [f"MultiTaskAAE, variant {self.variant!r}: input (B, {c}, {m}, {t}), "
                 f"h {cfg.hidden_dim}, y {cfg.n_emotions}, z {cfg.z_dim}",
                 f"  {'submodule':<18}{'parameters':>12}  role"]
        for name, module in self.named_children():
            if name in _ROLES:
                n = sum(p.numel() for p in module.parameters())
                lines.append(f"  {name:<18}{n:>12,}  {_ROLES[name]}")
        lines.append(f"  {'main':<18}{self.n_parameters('main'):>12,}  "
                     "everything but D_z, D_y (main optimiser)")
        if self.has_adversaries:
            lines.append(f"  {'discriminators':<18}{self.n_parameters('discriminators'):>12,}  "
                         "D_z, D_y (discriminator optimiser)")
        lines.append(f"  {'total':<18}{self.n_parameters():>12,}")
        return "\n".join(lines)
