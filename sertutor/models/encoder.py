"""The encoder q(h|x) and the latent split h -> (y, z).

The encoder reads a log-mel segment, an image of shape (C, n_mels, T), with a small 2-D CNN.
Each conv block sees a 3x3 neighbourhood of (mel band, frame) and then halves both axes with a
2x2 max-pool, so after ``len(channels)`` blocks one feature-map cell summarises a patch of
roughly 2^L bands x 2^L frames. The map is pooled (``ModelConfig.pooling``) and projected to
the shared hidden vector ``h`` that every head of the model reads::

    x (B, C, n_mels, T)
      -> [Conv3x3 -> BatchNorm -> LeakyReLU -> MaxPool2x2] x L    # (B, c_L, m_L, t_L)
      -> pooling "flatten": flatten                               # (B, c_L * m_L * t_L)
         pooling "stats":   mean, std over time; concatenate      # (B, 2 * c_L * m_L)
      -> Linear -> LeakyReLU                                      # h (B, hidden_dim)

``"flatten"`` keeps every cell, so h knows *when* in the segment each pattern occurs; most of
that is phonetic content, which says little about emotion. ``"stats"`` (the default) is the
statistics pooling of speaker-embedding networks (x-vectors, Snyder et al. 2018): per channel
and mel row, the mean and standard deviation over time. Emotion is a property of the whole
utterance (its level, pitch, spectral balance and how much they vary), so a summary that
ignores timing fits it, and the projection to h has ``t_L`` times fewer weights to learn from
few labels. Padding frames at the end of a short utterance's last segment are pooled like the
others (they are zeros, the corpus or speaker mean, as in ``"flatten"``).

Sizes that are not divisible by 2^L are fine: the pools use ``ceil_mode=True``, so an odd
length 2k+1 becomes k+1 (the last row/column is pooled on its own) and nothing is dropped.
:func:`pooled_size` does the same arithmetic and :func:`feature_map_shape` applies it to both
axes, so the flattened size is known without a dummy forward pass, and the decoder starts from
exactly that shape.

The latent split lives in its own module, :class:`LatentSplit`, because it is the heart of the
semi-supervised AAE (Makhzani et al. 2016, section 5): from h it reads

- the emotion code ``y``: logits over ``n_emotions`` classes; ``softmax(logits)`` is the
  categorical code the decoder and D_y see, and the logits are the emotion classifier, and
- the style code ``z``: a continuous vector of size ``z_dim`` (a plain linear map, no
  activation), meant to hold everything else about the segment (speaker, words, loudness).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import FeatureConfig, ModelConfig

__all__ = ["NEG_SLOPE", "POOLINGS", "ConvBlock", "pooled_size", "feature_map_shape", "Encoder",
           "LatentSplit"]

#: Slope of LeakyReLU for negative inputs, used throughout the models (as in most GAN/AAE code):
#: a small gradient for negative pre-activations keeps units from dying.
NEG_SLOPE = 0.2

#: Values of ``ModelConfig.pooling``: how the last feature map becomes h.
POOLINGS = ("flatten", "stats")


def pooled_size(n: int, n_blocks: int) -> int:
    """Length of an axis of size ``n`` after ``n_blocks`` halvings with ``ceil_mode=True``.

    >>> pooled_size(64, 3), pooled_size(50, 3), pooled_size(37, 2)
    (8, 7, 10)
    """
    for _ in range(n_blocks):
        n = (n + 1) // 2  # ceil(n / 2): an odd last row/column is pooled on its own
    return n


def feature_map_shape(model: ModelConfig, features: FeatureConfig) -> tuple[int, int, int]:
    """``(c_L, m_L, t_L)``: the shape of one segment's last encoder feature map.

    ``c_L`` is the last conv block's width, ``m_L`` and ``t_L`` the mel and frame axes after
    ``len(model.channels)`` halvings (:func:`pooled_size`). The encoder flattens or pools this
    map; the decoder starts from a map of this shape.

    >>> from sertutor.config import FeatureConfig, ModelConfig
    >>> feature_map_shape(ModelConfig(channels=(16, 32, 64)),
    ...                   FeatureConfig(n_mels=64, segment_frames=50))
    (64, 8, 7)
    """
    n_blocks = len(model.channels)
    return (model.channels[-1],
            pooled_size(features.n_mels, n_blocks),
            pooled_size(features.segment_frames, n_blocks))


class ConvBlock(nn.Sequential):
    """Conv3x3 -> BatchNorm -> LeakyReLU -> MaxPool2x2.

    Shapes: (B, c_in, M, T) -> (B, c_out, ceil(M/2), ceil(T/2)).

    The convolution has no bias because BatchNorm right after it subtracts the mean anyway
    (and adds its own learned shift).
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),  # keeps (M, T)
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(NEG_SLOPE),
            nn.MaxPool2d(kernel_size=2, ceil_mode=True),  # halves (M, T), rounding up
        )


class Encoder(nn.Module):
    """q(h|x): a 2-D CNN from a log-mel segment to the shared hidden vector h.

    Parameters
    ----------
    model : ModelConfig
        Uses ``channels`` (one conv block per entry), ``hidden_dim`` and ``pooling``.
    features : FeatureConfig
        Uses ``n_channels`` (1, or 3 with deltas), ``n_mels`` and ``segment_frames``.

    Attributes
    ----------
    feature_shape : tuple of int
        ``(c_L, m_L, t_L)``, the shape of one segment's last feature map (before flattening);
        the decoder starts from a map of this shape.
    pooling : str
        ``"flatten"`` or ``"stats"`` (see the module docstring).
    """

    #: Added to the variance before its square root: the gradient of sqrt at 0 is infinite.
    STD_EPS = 1e-5

    def __init__(self, model: ModelConfig, features: FeatureConfig):
        super().__init__()
        if len(model.channels) == 0:
            raise ValueError("ModelConfig.channels must list at least one conv block width")
        widths = (features.n_channels, *model.channels)  # e.g. (1, 16, 32, 64)
        self.blocks = nn.Sequential(*[ConvBlock(c_in, c_out)
                                      for c_in, c_out in zip(widths[:-1], widths[1:])])
        self.feature_shape = feature_map_shape(model, features)  # (c_L, m_L, t_L)
        c_last, m_last, t_last = self.feature_shape
        self.pooling = getattr(model, "pooling", "flatten")
        if self.pooling == "flatten":
            pooled = c_last * m_last * t_last  # every cell of the map
        elif self.pooling == "stats":
            pooled = 2 * c_last * m_last  # mean and std over time per (channel, mel row)
        else:
            raise ValueError(f"ModelConfig.pooling must be one of {POOLINGS}, got "
                             f"{self.pooling!r}")
        self.to_hidden = nn.Linear(pooled, model.hidden_dim)

    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        """The last feature map (B, c_L, m_L, t_L) as one vector per segment.

        ``"stats"``: mean and standard deviation over time per (channel, mel row), shape
        (B, 2 * c_L * m_L); ``"flatten"``: every cell, shape (B, c_L * m_L * t_L).
        """
        if self.pooling == "stats":
            mean = fmap.mean(dim=-1)  # (B, c_L, m_L)
            var = fmap.var(dim=-1, unbiased=False)  # (B, c_L, m_L)
            std = (var + self.STD_EPS).sqrt()  # (B, c_L, m_L)
            stats = torch.cat([mean, std], dim=1)  # (B, 2 * c_L, m_L)
            return stats.flatten(start_dim=1)  # (B, 2 * c_L * m_L)
        return fmap.flatten(start_dim=1)  # (B, c_L * m_L * t_L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode segments.

        Parameters
        ----------
        x : Tensor, shape (B, C, n_mels, T)

        Returns
        -------
        h : Tensor, shape (B, hidden_dim)
        """
        x = self.blocks(x)  # (B, c_L, m_L, t_L)
        x = self.pool(x)  # (B, pooled)
        return F.leaky_relu(self.to_hidden(x), NEG_SLOPE)  # (B, hidden_dim)


class LatentSplit(nn.Module):
    """Split h into the emotion code y (logits) and the style code z.

    Parameters
    ----------
    model : ModelConfig
        Uses ``hidden_dim``, ``n_emotions`` and ``z_dim``.
    """

    def __init__(self, model: ModelConfig):
        super().__init__()
        self.to_y = nn.Linear(model.hidden_dim, model.n_emotions)  # the emotion classifier
        self.to_z = nn.Linear(model.hidden_dim, model.z_dim)  # the style code

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Read the codes from h.

        Parameters
        ----------
        h : Tensor, shape (B, hidden_dim)

        Returns
        -------
        y_logits : Tensor, shape (B, n_emotions)
            Unnormalised emotion scores; ``y = softmax(y_logits)`` is the categorical code.
        z : Tensor, shape (B, z_dim)
            The continuous style code.
        """
        return self.to_y(h), self.to_z(h)  # (B, n_emotions), (B, z_dim)
