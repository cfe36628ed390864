"""The decoder p(x|y, z): from the two codes back to a log-mel segment.

It mirrors the encoder: a linear layer unflattens [y, z] into the encoder's last feature-map
shape, and one up block per encoder block doubles mel and time again::

    [y, z] (B, n_emotions + z_dim)
      -> Linear -> LeakyReLU -> reshape                          # (B, c_L, m_L, t_L)
      -> [Upsample x2 -> Conv3x3 -> BatchNorm -> LeakyReLU] x L  # (B, c_1, m_L 2^L, t_L 2^L)
      -> Conv3x3 to C channels (no activation)                    # (B, C, >= n_mels, >= T)
      -> crop                                                     # (B, C, n_mels, T)

With ``model.decoder_speaker_dim`` = d > 0 the decoder also reads who speaks: a learnt
embedding of the segment's speaker, (B, d), joins [y, z] before the linear layer (a
speaker-conditioned decoder, as in AutoVC: Qian et al., "AutoVC: Zero-Shot Voice Style
Transfer with Only Autoencoder Loss", ICML 2019). The codes then need not carry the speaker to
reconstruct the segment, which is what the speaker adversary asks of ``h`` anyway.

With ``model.decoder_prosody`` the decoder also predicts, linearly from the same codes, the
utterance's 18 prosodic descriptors (:mod:`sertutor.features.prosody`: pitch, loudness,
spectral balance, voicing, tempo, z-scored within the speaker), :meth:`Decoder.prosody`. A
1 s log-mel segment is mostly what was said, which an 8-dimensional ``z`` and a 4-way ``y``
cannot carry; the descriptors are what emotion moves, so rebuilding them asks the codes for
emotion's correlates on every segment, labelled or not.

Upsampling by repetition followed by a 3x3 convolution is used instead of a strided transposed
convolution, whose overlapping kernels tend to paint a checkerboard pattern into the output
(Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016).

Why crop: the encoder's pools round up (``ceil_mode=True``), so 50 frames -> 25 -> 13 -> 7, and
doubling gives 7 -> 14 -> 28 -> 56 >= 50. The extra rows/columns are cut off at the end, so the
output always has exactly the input's shape, whatever ``n_mels`` and ``segment_frames`` are.

The last layer is linear: the features are mean/variance-normalised log-mels, which can take
any real value, so the decoder must be able to output any real value too.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import FeatureConfig, ModelConfig
from ..features.prosody import PROSODY_NAMES
from .encoder import NEG_SLOPE, feature_map_shape

__all__ = ["UpBlock", "Decoder"]


class UpBlock(nn.Sequential):
    """Upsample x2 -> Conv3x3 -> BatchNorm -> LeakyReLU: (B, c_in, M, T) -> (B, c_out, 2M, 2T)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),  # doubles (M, T)
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),  # keeps (2M, 2T)
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(NEG_SLOPE),
        )


class Decoder(nn.Module):
    """p(x|y, z): reconstruct a log-mel segment from the emotion code y and style code z.

    Parameters
    ----------
    model : ModelConfig
        Uses ``channels`` (mirrored), ``n_emotions`` and ``z_dim``.
    features : FeatureConfig
        Uses ``n_channels``, ``n_mels`` and ``segment_frames``: the output shape.
    n_speakers : int
        Speakers the embedding table knows (only with ``model.decoder_speaker_dim`` > 0); row
        ``n_speakers`` is the zero vector read for an unknown speaker.
    """

    def __init__(self, model: ModelConfig, features: FeatureConfig, n_speakers: int = 0):
        super().__init__()
        self.out_shape = (features.n_channels, features.n_mels, features.segment_frames)
        # the encoder's last feature map, which the decoder starts from: (c_L, m_L, t_L)
        self.start_shape = feature_map_shape(model, features)
        c_last, m_last, t_last = self.start_shape
        d_speaker = model.decoder_speaker_dim
        self.n_speakers = int(n_speakers) if d_speaker else 0
        # one learnt vector per known speaker, zeros (never trained) for an unknown one
        self.speaker_embedding = nn.Embedding(self.n_speakers + 1, d_speaker,
                                              padding_idx=self.n_speakers) if d_speaker else None
        n_codes = model.n_emotions + model.z_dim + d_speaker
        self.from_codes = nn.Linear(n_codes, c_last * m_last * t_last)
        # model.decoder_prosody: the utterance's prosodic descriptors, linear in the codes
        self.to_prosody = nn.Linear(n_codes, len(PROSODY_NAMES)) \
            if model.decoder_prosody else None
        # encoder widths (16, 32, 64) -> up blocks 64->32, 32->16, 16->16, then 16 -> C
        widths_in = tuple(reversed(model.channels))  # (64, 32, 16)
        widths_out = widths_in[1:] + (model.channels[0],)  # (32, 16, 16)
        self.blocks = nn.Sequential(*[UpBlock(c_in, c_out)
                                      for c_in, c_out in zip(widths_in, widths_out)])
        self.to_features = nn.Conv2d(model.channels[0], features.n_channels, kernel_size=3,
                                     padding=1)

    def forward(self, y: torch.Tensor, z: torch.Tensor,
                speaker: torch.Tensor | None = None) -> torch.Tensor:
        """Decode.

        Parameters
        ----------
        y : Tensor, shape (B, n_emotions)
            Emotion code (softmax probabilities, or one-hot vectors to generate a chosen emotion).
        z : Tensor, shape (B, z_dim)
            Style code.
        speaker : Tensor, shape (B,), long, optional
            Speaker index per row (``LabelMaps.speakers``; -1 unknown). Read only by a
            speaker-conditioned decoder, for which None means "unknown" for every row.

        Returns
        -------
        recon : Tensor, shape (B, C, n_mels, T)
        """
        return self._segments(self._codes(y, z, speaker))

    def reconstruct(self, y: torch.Tensor, z: torch.Tensor, speaker: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Segments (B, C, n_mels, T) and, with ``model.decoder_prosody``, the prosodic
        descriptors (B, 18), else None: :meth:`forward` and :meth:`prosody` from one build of
        the codes (arguments as :meth:`forward`)."""
        codes = self._codes(y, z, speaker)  # (B, n_emotions + z_dim [+ d_speaker])
        prosody = None if self.to_prosody is None else self.to_prosody(codes)  # (B, 18)
        return self._segments(codes), prosody

    def _segments(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, n_emotions + z_dim [+ d_speaker]) -> segments (B, C, n_mels, T)."""
        x = F.leaky_relu(self.from_codes(codes), NEG_SLOPE)  # (B, c_L * m_L * t_L)
        x = x.view(x.shape[0], *self.start_shape)  # (B, c_L, m_L, t_L)
        x = self.blocks(x)  # (B, c_1, m_L * 2^L, t_L * 2^L)
        x = self.to_features(x)  # (B, C, m_L * 2^L, t_L * 2^L), each >= (n_mels, T)
        _, n_mels, n_frames = self.out_shape
        return x[:, :, :n_mels, :n_frames]  # (B, C, n_mels, T): crop the rounding-up

    def prosody(self, y: torch.Tensor, z: torch.Tensor,
                speaker: torch.Tensor | None = None) -> torch.Tensor:
        """The prosodic descriptors (B, 18) the codes predict (``model.decoder_prosody``;
        arguments as :meth:`forward`)."""
        if self.to_prosody is None:
            raise RuntimeError("this decoder does not reconstruct prosody "
                               "(model.decoder_prosody is off)")
        return self.to_prosody(self._codes(y, z, speaker))  # (B, 18)

    def _codes(self, y: torch.Tensor, z: torch.Tensor,
               speaker: torch.Tensor | None) -> torch.Tensor:
        """[y, z] and, for a speaker-conditioned decoder, each row's speaker vector."""
        codes = [y, z]
        if self.speaker_embedding is not None:
            if speaker is None:
                speaker = torch.full((len(y),), -1, dtype=torch.long, device=y.device)
            unknown = (speaker < 0) | (speaker >= self.n_speakers)
            rows = torch.where(unknown, torch.full_like(speaker, self.n_speakers), speaker)
            codes.append(self.speaker_embedding(rows).to(y.dtype))  # (B, d_speaker)
        return torch.cat(codes, dim=1)  # (B, n_emotions + z_dim [+ d_speaker])
