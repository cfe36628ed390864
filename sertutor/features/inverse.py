"""The way back: from a dB log-mel spectrogram to a waveform you can listen to.

- :func:`log_mel_to_audio` is the inverse as a function, in three steps, each undoing one step
  of :func:`~sertutor.features.log_mel`: decibels to mel power; mel bands to linear frequency
  by least squares (what ``torchaudio.transforms.InverseMelScale`` computes); and the missing
  phase by Griffin-Lim (``torchaudio.functional.griffinlim``). It keeps no state: the
  filterbank and window it needs are built from the settings (and kept in a small cache).
- :class:`LogMelToAudio` is the same function as a thin ``nn.Module``: the filterbank and the
  window are its buffers, so ``.to(device)`` moves them.

The widgets use it to play what a decoder generates. What the forward transform threw away
stays lost: the phase (re-estimated), the spectral detail within a mel band (64 bands cannot
pin down 257 frequency bins, so harmonics are smeared and the sound is buzzy but
recognisable) and anything below the ``top_db`` floor.

Shapes: one spectrogram ``(n_mels, T)`` -> waveform ``(N,)``; a batch ``(B, n_mels, T)`` ->
``(B, N)``, with ``N = (T - 1) * hop_length`` unless a length is given.

References
----------
- D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time Fourier
  transform", IEEE Trans. ASSP 32(2), 1984 (phase reconstruction from a magnitude).
- N. Perraudin, P. Balazs and P. L. Sondergaard, "A fast Griffin-Lim algorithm", IEEE WASPAA,
  2013 (the momentum torchaudio's ``griffinlim`` uses).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..config import FeatureConfig
from ..deps import import_torchaudio
from ._checks import cached_on_device, check_config, check_features
from .logmel import MEL_NORM, MEL_SCALE

__all__ = ["log_mel_to_audio", "LogMelToAudio"]


def _check_griffin_lim(n_iter: Any, momentum: Any) -> tuple[int, float]:
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int (Griffin-Lim iterations), got "
                         f"{n_iter!r}")
    if not 0.0 <= float(momentum) < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    return int(n_iter), float(momentum)


def _filterbank_and_window(c: FeatureConfig) -> tuple[Tensor, Tensor]:
    """The mel filterbank, shape (n_freqs, n_mels), and the Hann window, (win_length,).

    The filterbank is the one ``torchaudio.transforms.InverseMelScale`` builds (its default
    ``f_max``, ``sample_rate // 2``, is :func:`~sertutor.features.log_mel`'s for every even
    sample rate); the window the one ``torchaudio.transforms.GriffinLim`` builds.
    """
    AF = import_torchaudio().functional

    f_max = c.f_max or float(c.sample_rate // 2)
    if c.f_min > f_max:
        raise ValueError("Require f_min: {} <= f_max: {}".format(c.f_min, f_max))
    fb = AF.melscale_fbanks(c.n_fft // 2 + 1, c.f_min, f_max, c.n_mels, c.sample_rate,
                            MEL_NORM, MEL_SCALE)  # (n_freqs, n_mels)
    return fb, torch.hann_window(c.win_length)  # (n_freqs, n_mels), (win_length,)


def _log_mel_to_audio(log_mel: Tensor | np.ndarray, length: int | None, *,
                      config: FeatureConfig, fb: Tensor, window: Tensor, n_iter: int,
                      momentum: float) -> Tensor:
    """The inverse, given its filterbank and window; see :func:`log_mel_to_audio`."""
    AF = import_torchaudio().functional

    c = config
    check_features(log_mel, name="log_mel", ndim=(2, 3), shape_text="(n_mels, T) or "
                   "(B, n_mels, T)")
    if isinstance(log_mel, np.ndarray):
        log_mel = torch.from_numpy(np.ascontiguousarray(log_mel))
    if log_mel.shape[-2] != c.n_mels:
        raise ValueError(f"log_mel has shape {tuple(log_mel.shape)}: expected "
                         f"n_mels={c.n_mels} bands on axis -2 (config.n_mels); for model "
                         f"input of shape (B, C, n_mels, T) pass x[:, 0]")
    if log_mel.shape[-1] < 2:
        raise ValueError(f"log_mel has {log_mel.shape[-1]} frame(s); Griffin-Lim needs at "
                         f"least 2 (shape {tuple(log_mel.shape)})")
    if not bool(torch.isfinite(log_mel).all()):
        raise ValueError("log_mel contains NaN or infinite values")
    if length is not None and (isinstance(length, bool) or not isinstance(
            length, (int, np.integer)) or length < 1):
        raise ValueError(f"length must be a positive int (samples), got {length!r}")
    single = log_mel.ndim == 2
    db = log_mel.float().to(window.device)
    if single:
        db = db.unsqueeze(0)  # (1, n_mels, T)
    # 1. decibels to mel power (or magnitude)
    mel = torch.pow(10.0, db / (10.0 if c.power == 2.0 else 20.0))  # (B, n_mels, T)
    # 2. mel to linear frequency: the least-squares solution of fb.T @ spec = mel, clipped at
    # 0, as torchaudio.transforms.InverseMelScale computes it
    spec = torch.relu(torch.linalg.lstsq(fb.transpose(-1, -2)[None], mel,
                                         driver="gels").solution)  # (B, n_fft // 2 + 1, T)
    # 3. the phase: Griffin-Lim from zero phase (deterministic)
    audio = AF.griffinlim(spec, window, c.n_fft, c.hop_length, c.win_length, c.power, n_iter,
                          momentum, length, False)
    # audio: (B, N) with N = length or (T - 1) * hop_length
    return audio[0] if single else audio


def log_mel_to_audio(log_mel: Tensor | np.ndarray, *, config: FeatureConfig | None = None,
                     n_iter: int = 32, momentum: float = 0.99,
                     length: int | None = None) -> Tensor:
    """Turn a dB log-mel spectrogram back into sound (inverse mel filterbank + Griffin-Lim).

    The inverse of :func:`~sertutor.features.log_mel`'s static channel, up to what is lost
    on the way: the phase (re-estimated by Griffin & Lim's algorithm), the spectral detail
    within a mel band and anything below the ``top_db`` floor. Runs on the device ``log_mel``
    is on, without gradients (:class:`LogMelToAudio` is the same as a module).

    The steps:

    1. decibels to mel power ``10 ** (dB / 10)`` (mel magnitude ``10 ** (dB / 20)`` when
       ``config.power == 1``);
    2. mel to linear frequency: the non-negative least-squares (minimum-norm) solution of
       ``fb @ spec = mel`` with the same Slaney filterbank, as
       ``torchaudio.transforms.InverseMelScale`` computes it;
    3. the missing phase: Griffin-Lim (Griffin & Lim 1984, with the momentum of Perraudin et
       al. 2013), ``n_iter`` rounds of STFT / inverse STFT, starting from zero phase so the
       result is deterministic.

    Parameters
    ----------
    log_mel : torch.Tensor or numpy.ndarray, shape (n_mels, T) or (B, n_mels, T)
        Log-mel spectrogram(s) in dB, as :func:`~sertutor.features.log_mel` computes them
        (one channel: take ``feats[:, 0]``); normalised model features must first go back to
        dB with :meth:`~sertutor.features.NormStats.invert`.
    config : FeatureConfig, optional
        The feature settings the spectrogram was made with (default: ``FeatureConfig()``).
    n_iter : int
        Griffin-Lim iterations; 32 is a good trade-off (20-35 ms per second of audio on one
        CPU core); more iterations barely change the sound.
    momentum : float
        Fast Griffin-Lim momentum in [0, 1).
    length : int, optional
        Samples of the output (default ``(T - 1) * hop_length``, the length of an utterance
        whose log-mel has T frames).

    Returns
    -------
    torch.Tensor, shape (N,) or (B, N), float32
        Waveform(s) at ``config.sample_rate``; not peak-normalised.

    Raises
    ------
    ValueError
        If ``log_mel`` is not a finite float array of shape (n_mels, T) or (B, n_mels, T) with
        ``config.n_mels`` bands and T >= 2, or ``n_iter``, ``momentum`` or ``length`` is out of
        range.

    Examples
    --------
    >>> import torch
    >>> from sertutor.features import log_mel
    >>> feats, _ = log_mel(torch.randn(16000) * 0.1)     # (1, 1, 64, 101)
    >>> log_mel_to_audio(feats[:, 0]).shape               # (B, N)
    torch.Size([1, 16000])
    """
    config = check_config(config)
    n_iter, momentum = _check_griffin_lim(n_iter, momentum)
    device = log_mel.device if isinstance(log_mel, Tensor) else torch.device("cpu")
    fb, window = cached_on_device(_filterbank_and_window, config, device)
    with torch.no_grad():
        return _log_mel_to_audio(log_mel, length, config=config, fb=fb, window=window,
                                 n_iter=n_iter, momentum=momentum)


class LogMelToAudio(nn.Module):
    """dB log-mel spectrogram back to a waveform: ``LogMelToAudio(config)(log_mel)``.

    A thin wrapper of :func:`log_mel_to_audio` (see it for the steps and shapes): the mel
    filterbank and the Griffin-Lim window are buffers, so ``.to(device)`` moves them. The
    ``top_db`` clip of the forward transform is not undone (what was clipped is lost).

    Parameters
    ----------
    config : FeatureConfig, optional
        The settings the log-mel was computed with (default: ``FeatureConfig()``).
    n_iter : int
        Griffin-Lim iterations (>= 1). 32 take 20-35 ms per second of audio on one CPU
        core; more iterations barely change the sound.
    momentum : float
        Fast Griffin-Lim momentum in [0, 1).
    """

    fb: Tensor
    window: Tensor

    def __init__(self, config: FeatureConfig | None = None, *, n_iter: int = 32,
                 momentum: float = 0.99):
        super().__init__()
        self.config = check_config(config)
        self.n_iter, self.momentum = _check_griffin_lim(n_iter, momentum)
        fb, window = _filterbank_and_window(self.config)
        self.register_buffer("fb", fb, persistent=False)  # (n_freqs, n_mels)
        self.register_buffer("window", window, persistent=False)  # (win_length,)

    def forward(self, log_mel: Tensor | np.ndarray, length: int | None = None) -> Tensor:
        """Waveform(s) of dB log-mel spectrogram(s); see :func:`log_mel_to_audio`."""
        return _log_mel_to_audio(log_mel, length, config=self.config, fb=self.fb,
                                 window=self.window, n_iter=self.n_iter, momentum=self.momentum)
