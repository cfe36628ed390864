"""The forward transform: waveforms to log-mel features, with torch and with librosa.

- :func:`log_mel` is the transform as a function: short-time Fourier transform, mel
  filterbank, decibels, a per-utterance dynamic-range clip and, optionally, delta and
  delta-delta channels (:func:`deltas`); batched over zero-padded utterances, on the CPU or a
  GPU. It keeps no state: the Hann window and the mel filterbank it needs are built from the
  settings (and kept in a small cache, since a filterbank takes milliseconds to build).
- :class:`LogMel` is the same function as a thin ``nn.Module`` (as
  ``torchaudio.transforms`` wraps ``torchaudio.functional``): the window and the filterbank
  are its buffers, so ``.to(device)`` moves them, and its ``forward`` calls the code
  :func:`log_mel` runs.
- :func:`log_mel_librosa` computes the same numbers with librosa, one utterance at a time;
  the features notebook uses it because every step is a plain numpy call.
- :func:`n_frames`: how many frames an utterance of ``N`` samples gets.

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
(1, or 3 with deltas: static, delta, delta-delta); one utterance's features ``(C, n_mels, T)``.

References
----------
- M. Slaney, "Auditory Toolbox, version 2", Interval Research Corporation, technical report
  1998-010 (the mel scale and the area-normalised filters used here).
- S. Furui, "Speaker-independent isolated word recognition using dynamic features of speech
  spectrum", IEEE Trans. ASSP 34(1), 1986 (delta features).
- B. McFee et al., "librosa: audio and music signal analysis in Python", SciPy 2015.
- Y.-Y. Yang et al., "TorchAudio: building blocks for audio and speech processing", ICASSP
  2022 (the functional / transform split this package follows).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..config import FeatureConfig
from ..deps import import_torchaudio
from ._checks import cached_on_device, check_config

__all__ = [
    "AMIN",
    "PAD_MODE",
    "MEL_SCALE",
    "MEL_NORM",
    "DELTA_WIN",
    "FEATURE_VERSION",
    "n_frames",
    "deltas",
    "log_mel",
    "LogMel",
    "log_mel_librosa",
]

AMIN = 1e-10  # power floor before log10 (librosa's and torchaudio's default)
PAD_MODE = "constant"  # centring pad: zeros (see the module docstring for why)
MEL_SCALE = "slaney"  # mel scale of the filterbank (librosa: htk=False)
MEL_NORM = "slaney"  # filter normalisation (librosa: norm="slaney")
DELTA_WIN = 5  # frames in the delta regression window
#: Bumped whenever the numbers this module computes change, so feature caches are rebuilt.
FEATURE_VERSION = 1


def n_frames(n_samples: int | np.ndarray | Tensor, *, config: FeatureConfig | None = None):
    """Frames of an utterance of ``n_samples`` samples: ``1 + n_samples // hop_length``.

    Works elementwise on ints, numpy arrays and tensors.
    """
    config = check_config(config)
    return 1 + n_samples // config.hop_length


# ------------------------------------------------------------------------------ validation
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


# ----------------------------------------------------------------- the transform's tensors
def _window_and_filterbank(c: FeatureConfig) -> tuple[Tensor, Tensor]:
    """The Hann window, shape (win_length,), and the mel filterbank, shape (n_mels, n_freqs).

    The filterbank is torchaudio's (``melscale_fbanks``), transposed so that a spectrogram
    (B, n_freqs, T) becomes mel bands by ``fb @ spec``.
    """
    AF = import_torchaudio().functional

    window = torch.hann_window(c.win_length)  # (win_length,)
    fb = AF.melscale_fbanks(n_freqs=c.n_fft // 2 + 1, f_min=c.f_min,
                            f_max=c.f_max if c.f_max is not None else c.sample_rate / 2,
                            n_mels=c.n_mels, sample_rate=c.sample_rate, norm=MEL_NORM,
                            mel_scale=MEL_SCALE)  # (n_freqs, n_mels)
    return window, fb.T.contiguous()  # (win_length,), (n_mels, n_freqs)


# ------------------------------------------------------------------------------- log-mel
def _mel_spectrogram(x: Tensor, *, config: FeatureConfig, window: Tensor, fb: Tensor) -> Tensor:
    """Mel power (or magnitude) spectrogram of zero-padded waveforms.

    ``x`` is (B, N); returns (B, n_mels, 1 + N // hop_length), float32. The spectrogram is
    computed with ``torch.stft`` directly: squaring the real and imaginary parts is about 3x
    faster on a CPU than torchaudio's ``abs().pow(2)``.
    """
    c = config
    spec = torch.stft(x, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                      window=window, center=True, pad_mode=PAD_MODE, normalized=False,
                      onesided=True, return_complex=True)  # (B, n_freqs, T) complex
    ri = torch.view_as_real(spec)  # (B, n_freqs, T, 2)
    power = ri[..., 0].square().add_(ri[..., 1].square())  # (B, n_freqs, T) |X|^2
    if c.power == 1.0:
        power = power.sqrt_()  # (B, n_freqs, T) magnitude
    return torch.matmul(fb, power)  # (n_mels, n_freqs) @ (B, n_freqs, T)


def _log_mel(waveforms: Any, lengths: Any, *, config: FeatureConfig, window: Tensor,
             fb: Tensor) -> tuple[Tensor, Tensor]:
    """The transform, given its window and filterbank; see :func:`log_mel` for shapes."""
    c = config
    multiplier = 10.0 if c.power == 2.0 else 20.0  # dB of power / of magnitude
    amin = AMIN if c.power == 2.0 else AMIN ** 0.5  # floor: 1e-10 power = 1e-5 magnitude
    x = _as_waveforms(waveforms)  # (B, N)
    B, N = x.shape
    x = x.to(fb.device)
    lengths = _as_lengths(lengths, B, N, x.device)  # (B,)
    padded = bool((lengths < N).any())  # any utterance shorter than the batch?
    if padded:
        keep = torch.arange(N, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, N)
        x = x * keep  # zero whatever follows each utterance
    spec = _mel_spectrogram(x, config=c, window=window, fb=fb)  # (B, n_mels, T), T = 1 + N // hop
    valid = 1 + lengths // c.hop_length  # (B,) valid frames
    db = spec.clamp_(min=amin).log10_().mul_(multiplier)  # (B, n_mels, T) in dB
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


def log_mel(waveforms: Tensor | np.ndarray, *, config: FeatureConfig | None = None,
            lengths: Tensor | np.ndarray | Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
    """Log-mel spectrogram (and deltas) of a batch of zero-padded waveforms.

    Runs on the device ``waveforms`` is on (CPU or CUDA), without gradients
    (:class:`LogMel` is the same transform as a module, with them).

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
    config = check_config(config)
    shape = tuple(getattr(waveforms, "shape", ()))
    if len(shape) == 2 and shape[1] < config.win_length <= shape[0]:
        # soundfile's layout: (samples, channels); as (B, N) it would be B tiny "waveforms"
        raise ValueError(f"waveforms has shape {shape}, which looks like (samples, channels) "
                         f"audio as soundfile reads it; log_mel takes mono waveforms of shape "
                         f"(N,) or a batch (B, N) with N >= one window ({config.win_length} "
                         f"samples): downmix first, e.g. audio.mean(axis=1), or read the file "
                         f"with sertutor.audio.load_audio")
    device = waveforms.device if isinstance(waveforms, Tensor) else torch.device("cpu")
    window, fb = cached_on_device(_window_and_filterbank, config, device)
    with torch.no_grad():
        return _log_mel(waveforms, lengths, config=config, window=window, fb=fb)


class LogMel(nn.Module):
    """Log-mel front end as a module: ``LogMel(config)(waveforms, lengths)``.

    A thin wrapper of :func:`log_mel`: it holds the Hann window and the torchaudio mel
    filterbank as buffers, so ``.to(device)`` moves them, and its ``forward`` runs the same
    code (with gradients, so it can sit in front of a model). Numerically it is
    ``torchaudio.transforms.MelSpectrogram`` (Hann window, ``center=True``,
    ``pad_mode="constant"``, Slaney mel scale and norm) followed by
    ``torchaudio.transforms.AmplitudeToDB`` with a per-utterance ``top_db`` clip (the tests
    check this). See :func:`log_mel` for shapes.

    Parameters
    ----------
    config : FeatureConfig, optional
        Feature settings (default: ``FeatureConfig()``).
    """

    window: Tensor
    fb: Tensor

    def __init__(self, config: FeatureConfig | None = None):
        super().__init__()
        self.config = check_config(config)
        window, fb = _window_and_filterbank(self.config)
        self.register_buffer("window", window, persistent=False)  # (win_length,)
        self.register_buffer("fb", fb, persistent=False)  # (n_mels, n_freqs)

    def mel_spectrogram(self, x: Tensor) -> Tensor:
        """Mel power (or magnitude) spectrogram of zero-padded waveforms.

        ``x`` is (B, N); returns (B, n_mels, 1 + N // hop_length), float32.
        """
        return _mel_spectrogram(x, config=self.config, window=self.window, fb=self.fb)

    def forward(self, waveforms: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Compute log-mel features; see :func:`log_mel` for shapes."""
        return _log_mel(waveforms, lengths, config=self.config, window=self.window, fb=self.fb)


# ------------------------------------------------------------------------ the librosa twin
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
    import librosa  # heavy (about a second to import): only this twin needs it

    config = check_config(config)
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
