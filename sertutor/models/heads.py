"""Auxiliary heads on the shared hidden vector h (the multi-task part).

Latif et al. train the encoder on more than emotion: a large auxiliary corpus labelled only with
speaker and gender (LibriSpeech / VoxCeleb in the paper, synth-aux here) teaches h what voices
sound like, and dimensional labels (arousal, valence) give a second view of emotion. Each task
is a small MLP on h::

    h (B, hidden_dim) -> Linear -> ReLU -> Linear -> task outputs

- :class:`SpeakerHead`: logits over the training speakers,
- :class:`GenderHead`: logits over (female, male), in the order of ``sertutor.data.GENDERS``,
- :class:`DimensionalHead`: arousal and valence, each both as ``n_bins`` classes
  (low / mid / high) and as a value on the 1-5 rating scale (scored with CCC).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from ..config import ModelConfig

__all__ = ["ClassifierHead", "SpeakerHead", "GenderHead", "DimensionalOutput",
           "DimensionalHead", "N_GENDERS", "SCALE_MID", "SCALE_HALF_RANGE"]

N_GENDERS = 2  # female, male
SCALE_MID = 3.0  # centre of the 1-5 arousal / valence scale
SCALE_HALF_RANGE = 2.0  # 3 +- 2 spans the scale


class ClassifierHead(nn.Module):
    """``h -> Linear -> ReLU -> Linear -> logits``.

    Parameters
    ----------
    in_dim, hidden, n_classes : int
    """

    def __init__(self, in_dim: int, hidden: int, n_classes: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> logits (B, n_classes)."""
        return self.net(h)


class SpeakerHead(ClassifierHead):
    """Speaker identity: h -> logits over ``n_speakers`` training speakers."""

    def __init__(self, model: ModelConfig, n_speakers: int):
        super().__init__(model.hidden_dim, model.head_hidden, n_speakers)


class GenderHead(ClassifierHead):
    """Gender: h -> logits over (female, male)."""

    def __init__(self, model: ModelConfig):
        super().__init__(model.hidden_dim, model.head_hidden, N_GENDERS)


class DimensionalOutput(NamedTuple):
    """What :class:`DimensionalHead` returns (a tuple, so it also unpacks)."""

    arousal_logits: torch.Tensor  # (B, n_bins): low / mid / high arousal
    valence_logits: torch.Tensor  # (B, n_bins)
    arousal: torch.Tensor  # (B,): regression on the 1-5 scale
    valence: torch.Tensor  # (B,)


class DimensionalHead(nn.Module):
    """Arousal and valence, as binned classes and as values on the 1-5 scale.

    One shared hidden layer feeds two read-outs: ``to_bins`` gives ``n_bins`` logits for each
    dimension, ``to_value`` a scalar for each, squashed into the rating scale by
    ``3 + 2 tanh(.)``, so a prediction can never leave [1, 5].

    Parameters
    ----------
    model : ModelConfig
        Uses ``hidden_dim``, ``head_hidden`` and ``n_bins``.
    """

    def __init__(self, model: ModelConfig):
        super().__init__()
        self.n_bins = model.n_bins
        self.trunk = nn.Sequential(nn.Linear(model.hidden_dim, model.head_hidden), nn.ReLU())
        self.to_bins = nn.Linear(model.head_hidden, 2 * model.n_bins)  # arousal bins, valence bins
        self.to_value = nn.Linear(model.head_hidden, 2)  # arousal value, valence value

    def forward(self, h: torch.Tensor) -> DimensionalOutput:
        """Predict.

        Parameters
        ----------
        h : Tensor, shape (B, hidden_dim)

        Returns
        -------
        DimensionalOutput
            ``arousal_logits``, ``valence_logits`` (B, n_bins); ``arousal``, ``valence`` (B,)
            in [1, 5].
        """
        t = self.trunk(h)  # (B, head_hidden)
        bins = self.to_bins(t).view(-1, 2, self.n_bins)  # (B, 2, n_bins): [arousal, valence]
        value = SCALE_MID + SCALE_HALF_RANGE * torch.tanh(self.to_value(t))  # (B, 2) in [1, 5]
        return DimensionalOutput(arousal_logits=bins[:, 0], valence_logits=bins[:, 1],
                                 arousal=value[:, 0], valence=value[:, 1])
