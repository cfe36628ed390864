"""Log-mel features: batched and GPU-capable with torchaudio, step by step with librosa.

The model sees log-mel spectrogram segments. This module turns waveforms into them:

1. :func:`log_mel` (and its module form :class:`LogMel`): short-time Fourier transform, mel
   filterbank, decibels, a per-utterance dynamic-range clip and, optionally, delta and
   delta-delta channels; batched over zero-padded utterances on the CPU or a GPU.
2. :func:`log_mel_librosa`: the same numbers computed with librosa, one utterance at a time;
   the features notebook uses it because every step is a plain numpy call.
3. :class:`NormStats`: per-corpus mean / standard deviation per channel and mel band, and
   :class:`SpeakerNormStats`: the same per speaker, from each speaker's own audio.
4. :func:`segment`: fixed-length (optionally overlapping) segments with a padding mask.
5. :func:`log_mel_to_audio` (and its module form :class:`LogMelToAudio`): the way back, from a
   dB log-mel spectrogram to a waveform you can listen to: undo the decibels, a least-squares
   inverse of the mel filterbank (``torchaudio.transforms.InverseMelScale``) and Griffin-Lim
   phase reconstruction (``torchaudio.transforms.GriffinLim``). The widgets use it to play
   what a decoder generates.

Settings, fixed here and in both implementations so they agree (to about 1e-3 dB):

==================  =========================================================================
window              periodic Hann of ``win_length`` samples, centred in ``n_fft``
centring            ``center=True`` with zero (``"constant"``) padding of ``n_fft // 2``
                    samples on both sides; an utterance of ``N`` samples has
                    ``1 + N // hop_length`` frames, frame ``t`` centred on sample
                    ``t * hop_length``
mel filterbank      Slaney mel scale, Slaney (area) normalisation (librosa's default),
                    ``f_min`` .. ``f_max`` (``sample_rate / 2`` when None)
decibels            ``10 * log10(max(power, 1e-10))`` (reference 1.0; with ``power == 1``
                    ``20 * log10(max(magnitude, 1e-5))``, librosa's ``amplitude_to_db``
                    floor, where torchaudio's would be 1e-10), then clipped from below at
                    ``max - top_db`` where ``max`` is the maximum **of that utterance's
                    valid frames** (not of the batch, as torchaudio's ``AmplitudeToDB``
                    would do)
deltas              ``torchaudio.functional.compute_deltas`` (window 5, edge frames
                    replicated), delta then delta of delta, stacked as channels
==================  =========================================================================

Zero padding is what makes batching exact: the samples after an utterance's end are zeros
whether they come from the centring pad or from padding the batch, so an utterance's valid
frames are the same batched or alone. Frames past ``1 + N // hop_length`` (batch padding)
repeat the last valid frame.

Shapes: waveforms ``(B, N)``; features ``(B, C, n_mels, T)`` with ``C = config.n_channels``
(1, or 3 with deltas: static, delta, delta-delta); one utterance's features ``(C, n_mels, T)``;
segments ``(S, C, n_mels, frames)``.

References
----------
- D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time Fourier
  transform", IEEE Trans. ASSP 32(2), 1984 (phase reconstruction from a magnitude).
- N. Perraudin, P. Balazs and P. L. Sondergaard, "A fast Griffin-Lim algorithm", IEEE WASPAA,
  2013 (the momentum torchaudio's ``GriffinLim`` uses).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .config import FeatureConfig
from .deps import import_torchaudio

__all__ = [
    "AMIN",
    "PAD_MODE",
    "MEL_SCALE",
    "MEL_NORM",
    "FEATURE_VERSION",
    "n_frames",
    "log_mel",
    "LogMel",
    "log_mel_librosa",
    "deltas",
    "NormStats",
    "SpeakerNormStats",
    "segment",
    "n_segments",
    "LogMelToAudio",
    "log_mel_to_audio",
]

AMIN = 1e-10  # power floor before log10 (librosa's and torchaudio's default)
PAD_MODE = "constant"  # centring pad: zeros (see the module docstring for why)
MEL_SCALE = "slaney"  # mel scale of the filterbank (librosa: htk=False)
MEL_NORM = "slaney"  # filter normalisation (librosa: norm="slaney")
DELTA_WIN = 5  # frames in the delta regression window
#: Bumped whenever the numbers this module computes change, so feature caches are rebuilt.
FEATURE_VERSION = 1


# ------------------------------------------------------------------------------ validation
def _check_config(config: FeatureConfig | None) -> FeatureConfig:
    if config is None:
        return FeatureConfig()
    if not isinstance(config, FeatureConfig):
        raise TypeError(f"config must be a FeatureConfig, got {type(config).__name__}")
    if config.win_length > config.n_fft:
        raise ValueError(f"config: window of {config.win_length} samples is longer than "
                         f"n_fft={config.n_fft}")
    if config.hop_length < 1:
        raise ValueError(f"config: hop of {config.hop_length} samples; need at least 1")
    if config.power not in (1.0, 2.0):
        raise ValueError(f"config: power must be 1.0 (magnitude) or 2.0 (power), "
                         f"got {config.power}")
    return config


def n_frames(n_samples: int | np.ndarray | Tensor, *, config: FeatureConfig | None = None):
    """Frames of an utterance of ``n_samples`` samples: ``1 + n_samples // hop_length``.

    Works elementwise on ints, numpy arrays and tensors.
    """
    config = _check_config(config)
    return 1 + n_samples // config.hop_length


def _as_waveforms(waveforms: Any) -> Tensor:
    """Validate ``waveforms`` and return a float tensor of shape (B, N)."""
    if isinstance(waveforms, np.ndarray):
        waveforms = torch.from_numpy(waveforms)
    if not isinstance(waveforms, Tensor):
        raise TypeError(f"waveforms must be a torch.Tensor or numpy array of shape (B, N) or "
                        f"(N,), got {type(waveforms).__name__}")
    if waveforms.ndim == 1:
        waveforms = waveforms.unsqueeze(0)  # (1, N)
    if waveforms.ndim != 2:
        raise ValueError(f"waveforms must have shape (B, N) or (N,), got shape "
                         f"{tuple(waveforms.shape)}")
    if not waveforms.is_floating_point():
        raise ValueError(f"waveforms must be floating point (float32 in [-1, 1]), got dtype "
                         f"{waveforms.dtype}")
    if waveforms.shape[0] == 0 or waveforms.shape[1] == 0:
        raise ValueError(f"waveforms is empty: shape {tuple(waveforms.shape)}")
    # a sum is non-finite if any sample is (or, rarely, on overflow: then check every sample)
    if not bool(torch.isfinite(waveforms.sum())) and not bool(torch.isfinite(waveforms).all()):
        raise ValueError("waveforms contains NaN or infinite samples")
    return waveforms.float()


def _as_lengths(lengths: Any, batch: int, n: int, device: torch.device) -> Tensor:
    """Validate ``lengths`` (samples per utterance) and return a long tensor (B,)."""
    if lengths is None:
        return torch.full((batch,), n, dtype=torch.long, device=device)
    if isinstance(lengths, (list, tuple, np.ndarray)):
        lengths = torch.as_tensor(np.asarray(lengths))
    if not isinstance(lengths, Tensor):
        raise TypeError(f"lengths must be a tensor of shape ({batch},), got "
                        f"{type(lengths).__name__}")
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},) (one per waveform), got "
                         f"{tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integer sample counts, got dtype {lengths.dtype}")
    lengths = lengths.to(device=device, dtype=torch.long)
    if bool((lengths < 1).any()) or bool((lengths > n).any()):
        raise ValueError(f"lengths must lie in [1, {n}] (the padded length), got "
                         f"[{int(lengths.min())}, {int(lengths.max())}]")
    return lengths


def _check_features(x: Any, *, name: str, ndim: tuple[int, ...], shape_text: str) -> None:
    if not isinstance(x, (np.ndarray, Tensor)):
        raise TypeError(f"{name} must be a numpy array or tensor of shape {shape_text}, got "
                        f"{type(x).__name__}")
    if x.ndim not in ndim:
        raise ValueError(f"{name} must have shape {shape_text}, got shape {tuple(x.shape)}")
    floating = x.is_floating_point() if isinstance(x, Tensor) \
        else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise ValueError(f"{name} must be floating point, got dtype {x.dtype}")


# --------------------------------------------------------------------------- time helpers
def _replicate_tail(x: Tensor, valid: Tensor) -> Tensor:
    """Make frames at and after ``valid[b]`` copies of frame ``valid[b] - 1``.

    ``x`` is (B, ..., T), ``valid`` (B,) long; returns a new tensor of the same shape.
    """
    T = x.shape[-1]
    t = torch.arange(T, device=x.device)  # (T,)
    idx = torch.minimum(t.unsqueeze(0), (valid - 1).unsqueeze(1))  # (B, T)
    idx = idx.view(idx.shape[0], *([1] * (x.ndim - 2)), T).expand_as(x)  # (B, ..., T)
    return torch.gather(x, -1, idx)


def deltas(x: Tensor, *, n_valid: Tensor | None = None, win_length: int = DELTA_WIN) -> Tensor:
    """Stack static, delta and delta-delta features as channels.

    Parameters
    ----------
    x : torch.Tensor, shape (B, n_mels, T) or (n_mels, T)
        Static log-mel features.
    n_valid : torch.Tensor, shape (B,), optional
        Valid frames per utterance; frames after them are treated as repeats of the last valid
        frame, so deltas of a padded batch equal those of each utterance alone.
    win_length : int
        Regression window in frames (odd, >= 3), as in
        ``torchaudio.functional.compute_deltas``.

    Returns
    -------
    torch.Tensor, shape (B, 3, n_mels, T) or (3, n_mels, T)
    """
    AF = import_torchaudio().functional

    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor of shape (B, n_mels, T), got {type(x).__name__}")
    if x.ndim not in (2, 3):
        raise ValueError(f"x must have shape (B, n_mels, T) or (n_mels, T), got shape "
                         f"{tuple(x.shape)}")
    if win_length < 3 or win_length % 2 == 0:
        raise ValueError(f"win_length must be odd and >= 3, got {win_length}")
    single = x.ndim == 2
    if single:
        x = x.unsqueeze(0)  # (1, n_mels, T)
    if n_valid is not None:
        x = _replicate_tail(x, n_valid)  # (B, n_mels, T)
    d1 = AF.compute_deltas(x, win_length=win_length)  # (B, n_mels, T)
    if n_valid is not None:
        d1 = _replicate_tail(d1, n_valid)  # edge replicate, as for an utterance alone
    d2 = AF.compute_deltas(d1, win_length=win_length)  # (B, n_mels, T)
    if n_valid is not None:
        d2 = _replicate_tail(d2, n_valid)
    out = torch.stack([x, d1, d2], dim=1)  # (B, 3, n_mels, T)
    return out[0] if single else out


# ------------------------------------------------------------------------------- log-mel
class LogMel(nn.Module):
    """Log-mel front end as a module: ``LogMel(config)(waveforms, lengths)``.

    Numerically it is ``torchaudio.transforms.MelSpectrogram`` (Hann window, ``center=True``,
    ``pad_mode="constant"``, Slaney mel scale and norm) followed by
    ``torchaudio.transforms.AmplitudeToDB`` with a per-utterance ``top_db`` clip (the tests
    check this). The window and the torchaudio mel filterbank are buffers, so ``.to(device)``
    moves them; the spectrogram is computed directly with ``torch.stft`` because squaring the
    real and imaginary parts is about 3x faster on a CPU than torchaudio's ``abs().pow(2)``.
    See :func:`log_mel` for shapes.

    Parameters
    ----------
    config : FeatureConfig, optional
        Feature settings (default: ``FeatureConfig()``).
    """

    window: Tensor
    fb: Tensor

    def __init__(self, config: FeatureConfig | None = None):
        super().__init__()
        AF = import_torchaudio().functional

        self.config = c = _check_config(config)
        self.register_buffer("window", torch.hann_window(c.win_length), persistent=False)
        fb = AF.melscale_fbanks(n_freqs=c.n_fft // 2 + 1, f_min=c.f_min,
                                f_max=c.f_max if c.f_max is not None else c.sample_rate / 2,
                                n_mels=c.n_mels, sample_rate=c.sample_rate, norm=MEL_NORM,
                                mel_scale=MEL_SCALE)  # (n_freqs, n_mels)
        self.register_buffer("fb", fb.T.contiguous(), persistent=False)  # (n_mels, n_freqs)
        self.multiplier = 10.0 if c.power == 2.0 else 20.0  # dB of power / of magnitude
        self.amin = AMIN if c.power == 2.0 else AMIN ** 0.5  # floor: 1e-10 power = 1e-5 mag.

    def mel_spectrogram(self, x: Tensor) -> Tensor:
        """Mel power (or magnitude) spectrogram of zero-padded waveforms.

        ``x`` is (B, N); returns (B, n_mels, 1 + N // hop_length), float32.
        """
        c = self.config
        spec = torch.stft(x, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=True, pad_mode=PAD_MODE, normalized=False,
                          onesided=True, return_complex=True)  # (B, n_freqs, T) complex
        ri = torch.view_as_real(spec)  # (B, n_freqs, T, 2)
        power = ri[..., 0].square().add_(ri[..., 1].square())  # (B, n_freqs, T) |X|^2
        if c.power == 1.0:
            power = power.sqrt_()  # (B, n_freqs, T) magnitude
        return torch.matmul(self.fb, power)  # (n_mels, n_freqs) @ (B, n_freqs, T)

    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Compute log-mel features; see :func:`log_mel` for shapes."""
        c = self.config
        x = _as_waveforms(waveforms)  # (B, N)
        B, N = x.shape
        x = x.to(self.fb.device)
        lengths = _as_lengths(lengths, B, N, x.device)  # (B,)
        padded = bool((lengths < N).any())  # any utterance shorter than the batch?
        if padded:
            keep = torch.arange(N, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, N)
            x = x * keep  # zero whatever follows each utterance
        spec = self.mel_spectrogram(x)  # (B, n_mels, T), T = 1 + N // hop
        valid = 1 + lengths // c.hop_length  # (B,) valid frames
        db = spec.clamp_(min=self.amin).log10_().mul_(self.multiplier)  # (B, n_mels, T) in dB
        if padded:
            db = _replicate_tail(db, valid)  # (B, n_mels, T), padding frames repeat the last
        if c.top_db is not None:
            # padding frames now copy a valid one, so the max over all frames is the max over
            # this utterance's valid frames
            peak = db.amax(dim=(1, 2))  # (B,)
            db = torch.maximum(db, (peak - c.top_db).view(B, 1, 1))  # (B, n_mels, T)
        if c.deltas:
            feats = deltas(db, n_valid=valid if padded else None)  # (B, 3, n_mels, T)
        else:
            feats = db.unsqueeze(1)  # (B, 1, n_mels, T)
        return feats, valid


_MODULES: dict[tuple, LogMel] = {}


def log_mel(waveforms: Tensor | np.ndarray, *, config: FeatureConfig | None = None,
            lengths: Tensor | np.ndarray | Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
    """Log-mel spectrogram (and deltas) of a batch of zero-padded waveforms.

    Runs on the device ``waveforms`` is on (CPU or CUDA).

    Parameters
    ----------
    waveforms : torch.Tensor or numpy.ndarray, shape (B, N) or (N,)
        Mono 16 kHz float waveforms, utterance ``b`` in ``waveforms[b, :lengths[b]]``; what
        follows is ignored (treated as zeros). A 1-D input is one utterance (B = 1).
    config : FeatureConfig, optional
        Feature settings (default: ``FeatureConfig()``).
    lengths : torch.Tensor, shape (B,), optional
        Samples per utterance, each in [1, N] (default: all N).

    Returns
    -------
    features : torch.Tensor, shape (B, C, n_mels, T), float32
        ``C = config.n_channels``: 1 (log-mel in dB), or 3 with ``config.deltas`` (log-mel,
        delta, delta-delta). ``T = 1 + N // hop_length``. Frames after an utterance's valid
        frames repeat its last valid frame.
    n_frames : torch.Tensor, shape (B,), long
        Valid frames per utterance, ``1 + lengths // hop_length``.

    Raises
    ------
    ValueError
        If ``waveforms`` is not 1-D/2-D floating point and finite, or ``lengths`` is not (B,)
        integers in [1, N].

    Examples
    --------
    >>> import torch
    >>> feats, n = log_mel(torch.zeros(2, 16000), lengths=torch.tensor([16000, 8000]))
    >>> tuple(feats.shape), n.tolist()
    ((2, 1, 64, 101), [101, 51])
    """
    config = _check_config(config)
    shape = tuple(getattr(waveforms, "shape", ()))
    if len(shape) == 2 and shape[1] < config.win_length <= shape[0]:
        # soundfile's layout: (samples, channels); as (B, N) it would be B tiny "waveforms"
        raise ValueError(f"waveforms has shape {shape}, which looks like (samples, channels) "
                         f"audio as soundfile reads it; log_mel takes mono waveforms of shape "
                         f"(N,) or a batch (B, N) with N >= one window ({config.win_length} "
                         f"samples): downmix first, e.g. audio.mean(axis=1), or read the file "
                         f"with sertutor.audio.load_audio")
    device = waveforms.device if isinstance(waveforms, Tensor) else torch.device("cpu")
    key = (dataclasses.astuple(config), str(device))
    module = _MODULES.get(key)
    if module is None:
        if len(_MODULES) > 16:
            _MODULES.clear()
        module = _MODULES[key] = LogMel(config).to(device)
    with torch.no_grad():
        return module(waveforms, lengths)


def log_mel_librosa(y: np.ndarray, *, config: FeatureConfig | None = None) -> np.ndarray:
    """The static log-mel features of one utterance, computed with librosa.

    The same settings as :func:`log_mel` (Hann window, centred frames with zero padding,
    Slaney mel scale and normalisation, dB with reference 1.0, ``top_db`` clip), so the two
    agree to about 1e-3 dB. This is the step-by-step version the features notebook uses.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,)
        Mono float waveform at ``config.sample_rate``.
    config : FeatureConfig, optional
        Feature settings; ``config.deltas`` is ignored (static features only).

    Returns
    -------
    numpy.ndarray, shape (n_mels, T), float32
        ``T = 1 + N // hop_length``.
    """
    import librosa

    config = _check_config(config)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy array of shape (N,), got {type(y).__name__}")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must have shape (N,) with N >= 1, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"y must be floating point, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite samples")
    c = config
    S = librosa.feature.melspectrogram(
        y=y, sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
        window="hann", center=True, pad_mode=PAD_MODE, power=c.power, n_mels=c.n_mels,
        fmin=c.f_min, fmax=c.f_max, htk=MEL_SCALE == "htk", norm=MEL_NORM)  # (n_mels, T)
    to_db = librosa.power_to_db if c.power == 2.0 else librosa.amplitude_to_db
    return to_db(S, ref=1.0, amin=AMIN if c.power == 2.0 else AMIN ** 0.5,
                 top_db=c.top_db).astype(np.float32)  # (n_mels, T)


# --------------------------------------------------------------------- log-mel to audio
class LogMelToAudio(nn.Module):
    """dB log-mel spectrogram back to a waveform: ``LogMelToAudio(config)(log_mel)``.

    Three steps, each the inverse of one step of :class:`LogMel`:

    1. decibels to mel power ``10 ** (dB / 10)`` (mel magnitude ``10 ** (dB / 20)`` when
       ``config.power == 1``);
    2. mel to linear frequency: ``torchaudio.transforms.InverseMelScale``, the non-negative
       least-squares (minimum-norm) solution of ``fb @ spec = mel`` with the same Slaney
       filterbank; 64 mel bands cannot pin down 257 frequency bins, so fine harmonic structure
       is smeared (the sound is buzzy but recognisable);
    3. the missing phase: ``torchaudio.transforms.GriffinLim`` (Griffin & Lim 1984, with the
       momentum of Perraudin et al. 2013), ``n_iter`` rounds of STFT / inverse STFT, starting
       from zero phase so the result is deterministic.

    The ``top_db`` clip of the forward transform is not undone (what was clipped is lost).
    The filterbank pseudo-inverse and the window are buffers: ``.to(device)`` moves them.
    See :func:`log_mel_to_audio` for shapes.

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

    def __init__(self, config: FeatureConfig | None = None, *, n_iter: int = 32,
                 momentum: float = 0.99):
        super().__init__()
        AT = import_torchaudio().transforms

        self.config = c = _check_config(config)
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive int (Griffin-Lim iterations), got "
                             f"{n_iter!r}")
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.inverse_mel = AT.InverseMelScale(
            n_stft=c.n_fft // 2 + 1, n_mels=c.n_mels, sample_rate=c.sample_rate, f_min=c.f_min,
            f_max=c.f_max, norm=MEL_NORM, mel_scale=MEL_SCALE)
        self.griffin_lim = AT.GriffinLim(
            n_fft=c.n_fft, n_iter=int(n_iter), win_length=c.win_length,
            hop_length=c.hop_length, power=c.power, momentum=float(momentum),
            rand_init=False)

    def forward(self, log_mel: Tensor | np.ndarray, length: int | None = None) -> Tensor:
        """Waveform(s) of dB log-mel spectrogram(s); see :func:`log_mel_to_audio`."""
        AF = import_torchaudio().functional

        c = self.config
        _check_features(log_mel, name="log_mel", ndim=(2, 3), shape_text="(n_mels, T) or "
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
        db = log_mel.float().to(self.griffin_lim.window.device)
        if single:
            db = db.unsqueeze(0)  # (1, n_mels, T)
        mel = torch.pow(10.0, db / (10.0 if c.power == 2.0 else 20.0))  # (B, n_mels, T)
        spec = self.inverse_mel(mel)  # (B, n_fft // 2 + 1, T), >= 0
        gl = self.griffin_lim
        audio = AF.griffinlim(spec, gl.window, gl.n_fft, gl.hop_length, gl.win_length,
                              gl.power, gl.n_iter, gl.momentum, length, gl.rand_init)
        # audio: (B, N) with N = length or (T - 1) * hop_length
        return audio[0] if single else audio


_INVERTERS: dict[tuple, LogMelToAudio] = {}


def log_mel_to_audio(log_mel: Tensor | np.ndarray, *, config: FeatureConfig | None = None,
                     n_iter: int = 32, momentum: float = 0.99,
                     length: int | None = None) -> Tensor:
    """Turn a dB log-mel spectrogram back into sound (inverse mel filterbank + Griffin-Lim).

    The inverse of :func:`log_mel`'s static channel, up to what is lost on the way: the
    phase (re-estimated by Griffin & Lim's algorithm), the spectral detail within a mel band
    and anything below the ``top_db`` floor. Runs on the device ``log_mel`` is on.

    Parameters
    ----------
    log_mel : torch.Tensor or numpy.ndarray, shape (n_mels, T) or (B, n_mels, T)
        Log-mel spectrogram(s) in dB, as :func:`log_mel` computes them (one channel: take
        ``feats[:, 0]``); normalised model features must first go back to dB with
        :meth:`NormStats.invert`.
    config : FeatureConfig, optional
        The feature settings the spectrogram was made with (default: ``FeatureConfig()``).
    n_iter : int
        Griffin-Lim iterations; 32 is a good trade-off (20-35 ms per second of audio on one
        CPU core).
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
    >>> feats, _ = log_mel(torch.randn(16000) * 0.1)     # (1, 1, 64, 101)
    >>> log_mel_to_audio(feats[:, 0]).shape               # (B, N)
    torch.Size([1, 16000])
    """
    config = _check_config(config)
    device = log_mel.device if isinstance(log_mel, Tensor) else torch.device("cpu")
    key = (dataclasses.astuple(config), n_iter, momentum, str(device))
    module = _INVERTERS.get(key)
    if module is None:
        module = LogMelToAudio(config, n_iter=n_iter, momentum=momentum).to(device)
        if len(_INVERTERS) > 16:
            _INVERTERS.clear()
        _INVERTERS[key] = module
    with torch.no_grad():
        return module(log_mel, length)


# ------------------------------------------------------------------------- normalisation
@dataclass
class NormStats:
    """Mean and standard deviation per channel and mel band, fitted on one corpus.

    Attributes
    ----------
    mean, std : numpy.ndarray, shape (C, n_mels), float32
    n_frames : int
        Frames the statistics were computed from.
    """

    mean: np.ndarray
    std: np.ndarray
    n_frames: int

    #: Smallest standard deviation used when dividing (a constant band stays finite).
    MIN_STD = 1e-4

    def __post_init__(self):
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 2 or self.mean.shape != self.std.shape:
            raise ValueError(f"mean and std must both have shape (C, n_mels), got "
                             f"{self.mean.shape} and {self.std.shape}")

    @classmethod
    def fit(cls, features: Sequence[np.ndarray | Tensor]) -> "NormStats":
        """Fit on a list of utterances' features, each (C, n_mels, T_i) of valid frames only.

        Accumulates in float64 over all frames of all utterances (a long utterance weighs more
        than a short one, as every frame counts once).
        """
        if isinstance(features, (np.ndarray, Tensor)) or len(features) == 0:
            raise ValueError("features must be a non-empty list of (C, n_mels, T) arrays")
        total = total_sq = None
        count = 0
        for i, f in enumerate(features):
            _check_features(f, name=f"features[{i}]", ndim=(3,), shape_text="(C, n_mels, T)")
            f = f.detach().cpu().numpy() if isinstance(f, Tensor) else f
            f = f.astype(np.float64, copy=False)  # (C, n_mels, T)
            if total is None:
                total = np.zeros(f.shape[:2])  # (C, n_mels)
                total_sq = np.zeros(f.shape[:2])
                first = f.shape[:2]
            elif f.shape[:2] != first:
                raise ValueError(f"features[{i}] has shape {f.shape}; expected (C, n_mels, T) "
                                 f"with (C, n_mels) = {first} like features[0]")
            if not np.all(np.isfinite(f)):
                raise ValueError(f"features[{i}] contains NaN or infinite values")
            total += f.sum(axis=-1)
            total_sq += np.square(f).sum(axis=-1)
            count += f.shape[-1]
        if count == 0:
            raise ValueError("features hold no frames")
        mean = total / count  # (C, n_mels)
        var = np.maximum(total_sq / count - np.square(mean), 0.0)
        return cls(mean=mean, std=np.sqrt(var), n_frames=int(count))

    def apply(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Normalise features of shape (..., C, n_mels, T): ``(x - mean) / std``.

        Returns the same type (numpy or tensor, on the same device) and float32.
        """
        _check_features(x, name="x", ndim=(3, 4, 5), shape_text="(..., C, n_mels, T)")
        if tuple(x.shape[-3:-1]) != self.mean.shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (..., C, n_mels, T) with "
                             f"(C, n_mels) = {self.mean.shape}")
        std = np.maximum(self.std, self.MIN_STD)
        if isinstance(x, Tensor):
            mean_t = torch.as_tensor(self.mean, device=x.device)[..., None]  # (C, n_mels, 1)
            std_t = torch.as_tensor(std, device=x.device)[..., None]
            return (x.float() - mean_t) / std_t
        return ((x - self.mean[..., None]) / std[..., None]).astype(np.float32)

    def invert(self, x: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Undo :meth:`apply`: ``x * std + mean`` for features of shape (..., C, n_mels, T).

        ``invert(apply(x))`` equals ``x`` (up to float32 rounding); a decoder's output, which
        lives in the normalised space, goes back to dB this way. Returns the same type
        (numpy or tensor, on the same device) and float32.
        """
        _check_features(x, name="x", ndim=(3, 4, 5), shape_text="(..., C, n_mels, T)")
        if tuple(x.shape[-3:-1]) != self.mean.shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (..., C, n_mels, T) with "
                             f"(C, n_mels) = {self.mean.shape}")
        std = np.maximum(self.std, self.MIN_STD)  # the same floor apply() divided by
        if isinstance(x, Tensor):
            mean_t = torch.as_tensor(self.mean, device=x.device)[..., None]  # (C, n_mels, 1)
            std_t = torch.as_tensor(std, device=x.device)[..., None]
            return x.float() * std_t + mean_t
        return (x * std[..., None] + self.mean[..., None]).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists), for checkpoints."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "n_frames": self.n_frames}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NormStats":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(mean=np.asarray(data["mean"]), std=np.asarray(data["std"]),
                       n_frames=int(data["n_frames"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"NormStats.from_dict needs keys mean, std, n_frames ({exc})") \
                from exc


@dataclass
class SpeakerNormStats:
    """Per-speaker mean / standard deviation, each from that speaker's own audio.

    Speaker normalisation removes what stays constant within a speaker (vocal-tract length,
    pitch range, voice quality, microphone), which otherwise dominates the log-mel statistics:
    utterance-level features of an emotion corpus cluster by *who* speaks before *how they
    feel*. Each speaker's statistics are fitted on **all of that speaker's audio**, never on its
    labels; at test time a new speaker's statistics come from their own (unlabelled) audio, so
    a deployed model needs a few utterances of a speaker before it can normalise them.

    A speaker with few utterances is shrunk towards the ``reference`` (per-corpus) statistics:
    with ``n`` utterances the speaker's first and second moments get weight
    ``w = n / (n + prior_utts)`` and the reference's ``1 - w``; the standard deviation is the
    one of that mixture. ``prior_utts = 1`` gives one utterance half weight, 40 utterances 98 %.
    Rows whose speaker is unknown (``""``) or not fitted use the reference statistics.

    Attributes
    ----------
    reference : NormStats
        Per-corpus statistics (the fallback and the shrinkage target).
    speakers : dict of str -> NormStats
        Speaker key (``"<corpus>/<speaker>"``) -> that speaker's (shrunk) statistics.
    n_utterances : dict of str -> int
        Utterances each speaker's statistics came from.
    prior_utts : float
        Pseudo-utterances of the reference in the shrinkage.
    """

    reference: NormStats
    speakers: dict[str, NormStats]
    n_utterances: dict[str, int]
    prior_utts: float = 1.0

    @classmethod
    def fit(cls, features: Sequence[np.ndarray | Tensor], speakers: Sequence[str], *,
            reference: NormStats | None = None, prior_utts: float = 1.0) -> "SpeakerNormStats":
        """Fit one set of statistics per speaker.

        Parameters
        ----------
        features : list of arrays, each (C, n_mels, T_i)
            Every utterance of the corpus (valid frames only); labels are not used.
        speakers : sequence of str, one per utterance
            Speaker key of each utterance; ``""`` marks an unknown speaker (not fitted).
        reference : NormStats, optional
            The shrinkage target and fallback (default: fitted on all of ``features``).
        prior_utts : float
            Pseudo-utterance count of the reference (>= 0; 0: no shrinkage).
        """
        if isinstance(features, (np.ndarray, Tensor)) or len(features) == 0:
            raise ValueError("features must be a non-empty list of (C, n_mels, T) arrays")
        speakers = [str(s) for s in speakers]
        if len(speakers) != len(features):
            raise ValueError(f"speakers has {len(speakers)} entries for {len(features)} "
                             "utterances; need one speaker key per utterance")
        if not prior_utts >= 0.0:
            raise ValueError(f"prior_utts must be >= 0, got {prior_utts!r}")
        if reference is None:
            reference = NormStats.fit(features)
        ref_mean = reference.mean.astype(np.float64)  # (C, n_mels)
        ref_sq = np.square(reference.std.astype(np.float64)) + np.square(ref_mean)  # E[x^2]
        rows: dict[str, list[int]] = {}
        for i, s in enumerate(speakers):
            if s:
                rows.setdefault(s, []).append(i)
        fitted, counts = {}, {}
        for s, idx in rows.items():
            own = NormStats.fit([features[i] for i in idx])  # this speaker's frames
            mean = own.mean.astype(np.float64)  # (C, n_mels)
            sq = np.square(own.std.astype(np.float64)) + np.square(mean)  # E[x^2]
            if mean.shape != ref_mean.shape:
                raise ValueError(f"speaker {s!r}: features have (C, n_mels) = {mean.shape}, "
                                 f"the reference {ref_mean.shape}")
            w = len(idx) / (len(idx) + prior_utts)  # weight of the speaker's own moments
            mix_mean = w * mean + (1 - w) * ref_mean
            mix_sq = w * sq + (1 - w) * ref_sq
            std = np.sqrt(np.maximum(mix_sq - np.square(mix_mean), 0.0))
            fitted[s] = NormStats(mean=mix_mean, std=std, n_frames=own.n_frames)
            counts[s] = len(idx)
        return cls(reference=reference, speakers=fitted, n_utterances=counts,
                   prior_utts=float(prior_utts))

    def for_speaker(self, speaker: str) -> NormStats:
        """The statistics of ``speaker`` (the reference when unknown or not fitted)."""
        return self.speakers.get(str(speaker), self.reference) if speaker else self.reference

    def apply(self, x: np.ndarray | Tensor, speaker: str) -> np.ndarray | Tensor:
        """Normalise one speaker's features (..., C, n_mels, T); see :meth:`NormStats.apply`."""
        return self.for_speaker(speaker).apply(x)

    def invert(self, x: np.ndarray | Tensor, speaker: str) -> np.ndarray | Tensor:
        """Undo :meth:`apply` for ``speaker``; see :meth:`NormStats.invert`."""
        return self.for_speaker(speaker).invert(x)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, for checkpoints."""
        return {"reference": self.reference.to_dict(),
                "speakers": {s: v.to_dict() for s, v in self.speakers.items()},
                "n_utterances": dict(self.n_utterances), "prior_utts": self.prior_utts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeakerNormStats":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(reference=NormStats.from_dict(data["reference"]),
                       speakers={s: NormStats.from_dict(v) for s, v in data["speakers"].items()},
                       n_utterances={s: int(n) for s, n in data["n_utterances"].items()},
                       prior_utts=float(data["prior_utts"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("SpeakerNormStats.from_dict needs keys reference, speakers, "
                             f"n_utterances, prior_utts ({exc})") from exc


# ----------------------------------------------------------------------------- segmenting
def n_segments(n_frames: int, *, frames: int, hop: int) -> int:
    """How many segments :func:`segment` cuts from ``n_frames`` frames:
    ``1 + ceil(max(n_frames - frames, 0) / hop)``."""
    return 1 + -(-max(int(n_frames) - frames, 0) // hop)  # ceil division


def segment(features: np.ndarray | Tensor, *, frames: int,
            hop: int) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
    """Cut one utterance's features into fixed-length segments.

    Segment ``s`` covers frames ``[s * hop, s * hop + frames)``; there are
    ``S = 1 + ceil(max(T - frames, 0) / hop)`` of them, so every frame is covered and the last
    segment (or the only one, for an utterance shorter than ``frames``) is zero-padded at the
    end. Pad value 0 is the corpus mean once features are normalised.

    Parameters
    ----------
    features : numpy.ndarray or torch.Tensor, shape (C, n_mels, T)
        One utterance's (normalised) features.
    frames : int
        Segment length in frames.
    hop : int
        Frames between segment starts, 1 <= hop <= frames.

    Returns
    -------
    segments : same type as ``features``, shape (S, C, n_mels, frames)
    mask : bool array / tensor, shape (S, frames)
        True for real frames, False for padding.
    """
    _check_features(features, name="features", ndim=(3,), shape_text="(C, n_mels, T)")
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be a positive int, got {frames!r}")
    if not isinstance(hop, (int, np.integer)) or not 1 <= hop <= frames:
        raise ValueError(f"hop must be an int in [1, frames={frames}], got {hop!r}")
    T = features.shape[-1]
    if T < 1:
        raise ValueError(f"features has no frames: shape {tuple(features.shape)}")
    S = n_segments(T, frames=frames, hop=hop)
    total = (S - 1) * hop + frames  # frames after padding
    starts = np.arange(S) * hop  # (S,)
    mask = (starts[:, None] + np.arange(frames)[None, :]) < T  # (S, frames)
    if isinstance(features, Tensor):
        padded = torch.nn.functional.pad(features, (0, total - T))  # (C, n_mels, total)
        segs = padded.unfold(-1, frames, hop)  # (C, n_mels, S, frames)
        segs = segs.permute(2, 0, 1, 3).contiguous()  # (S, C, n_mels, frames)
        return segs, torch.from_numpy(mask).to(features.device)
    padded = np.pad(features, ((0, 0), (0, 0), (0, total - T)))  # (C, n_mels, total)
    segs = np.lib.stride_tricks.sliding_window_view(padded, frames, axis=-1)[..., ::hop, :]
    # segs: (C, n_mels, S, frames)
    segs = np.ascontiguousarray(segs.transpose(2, 0, 1, 3))  # (S, C, n_mels, frames)
    return segs, mask
