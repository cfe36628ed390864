"""Auxiliary heads on the shared hidden vector h (the multi-task part).

Latif et al. train the encoder on more than emotion: a large auxiliary corpus labelled only with
speaker and gender (LibriSpeech / VoxCeleb in the paper, synth-aux here) teaches h what voices
sound like, and dimensional labels (arousal, valence) give a second view of emotion. Each task
is a small MLP on h::

    h (B, hidden_dim) -> Linear -> ReLU -> Linear -> task outputs

- :class:`SpeakerHead`: logits over the training speakers; ``model.speaker_grad`` scales the
  gradient it sends back into h (:func:`scale_gradient`): 1 is the paper's speaker task, 0 a
  probe that learns without shaping h, -1 a speaker adversary (gradient reversal, Ganin &
  Lempitsky, *Unsupervised Domain Adaptation by Backpropagation*, ICML 2015),
- :class:`GenderHead`: logits over (female, male), in the order of ``sertutor.data.GENDERS``,
- :class:`DimensionalHead`: arousal and valence, each both as ``n_bins`` classes
  (low / mid / high) and as a value on the 1-5 rating scale (scored with CCC).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from ..config import ModelConfig

__all__ = ["scale_gradient", "ClassifierHead", "SpeakerHead", "GenderHead", "DimensionalOutput",
           "DimensionalHead", "N_GENDERS", "SCALE_MID", "SCALE_HALF_RANGE"]

N_GENDERS = 2  # female, male
SCALE_MID = 3.0  # centre of the 1-5 arousal / valence scale
SCALE_HALF_RANGE = 2.0  # 3 +- 2 spans the scale


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the backward multiplies the incoming gradient by ``scale``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.scale * grad, None


def scale_gradient(x: torch.Tensor, *, scale: float) -> torch.Tensor:
    r"""Pass ``x`` through unchanged, scaling the gradient that flows back through it.

    With :math:`g(x) = x` in the forward pass and
    :math:`\partial L / \partial x \leftarrow s \, \partial L / \partial g` in the backward
    pass, a head after :math:`g` learns its task as usual while the layers before it see the
    task's gradient times :math:`s`: :math:`s = 1` shares the task (multi-task learning),
    :math:`s = 0` detaches it (a probe), :math:`s < 0` reverses it, so the encoder *minimises*
    what the head can tell (the gradient reversal layer of Ganin & Lempitsky 2015; the
    encoder and the head play the minimax game
    :math:`\min_{head} \max_{enc} L_{task}` in one backward pass).

    Parameters
    ----------
    x : Tensor, any shape
    scale : float
        :math:`s`.

    Returns
    -------
    Tensor
        ``x`` itself in value (same shape), with the scaled backward.
    """
    if scale == 1.0:
        return x
    return _ScaleGradient.apply(x, float(scale))


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
    """Speaker identity: h -> logits over ``n_speakers`` training speakers.

    The gradient the head sends back into h is scaled by ``model.speaker_grad``
    (:func:`scale_gradient`): 1 asks h to tell speakers apart (the paper's auxiliary task),
    -1 asks h to hide them from the head (a speaker adversary), 0 leaves h alone.
    """

    def __init__(self, model: ModelConfig, n_speakers: int):
        super().__init__(model.hidden_dim, model.head_hidden, n_speakers)
        self.grad_scale = float(model.speaker_grad)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(B, hidden_dim) -> logits (B, n_speakers)."""
        return self.net(scale_gradient(h, scale=self.grad_scale))


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
