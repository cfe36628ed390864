"""Reading and writing audio at the pipeline's rate: 16 kHz mono float32.

Audio comes from soundfile (WAV, FLAC, OGG) with a librosa fallback; anything else (another
sample rate, several channels, integer PCM) is converted here, once, at the boundary. A file
that cannot be used raises :class:`AudioError`, which names the file and says what is wrong, so
corpus loaders can report it and skip it instead of stopping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .storage import atomic_write

__all__ = ["AudioError", "load_audio", "check_waveform", "write_wav", "SAMPLE_RATE",
           "has_audio", "row_waveform"]

SAMPLE_RATE = 16000  # the pipeline's sample rate, Hz
MIN_SAMPLES = 400  # one 25 ms analysis window at 16 kHz: shorter audio gives no frame


class AudioError(ValueError):
    """An audio file or array that cannot be used; the message names it and the reason."""

    def __init__(self, source: str | os.PathLike, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


def check_waveform(audio: np.ndarray, *, source: str = "audio",
                   min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Validate a mono waveform and return it as contiguous float32.

    Parameters
    ----------
    audio : numpy.ndarray, shape (n_samples,)
        Mono waveform.
    source : str
        Name used in error messages (a file path or an argument name).
    min_samples : int
        Fewer samples than this (one analysis window) raise.

    Raises
    ------
    AudioError
        If the array is not 1-D, empty, shorter than ``min_samples`` or not finite.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise AudioError(source, f"expected a mono waveform of shape (n_samples,), "
                                 f"got shape {audio.shape}")
    if audio.size == 0:
        raise AudioError(source, "empty audio (0 samples)")
    if audio.size < min_samples:
        raise AudioError(source, f"only {audio.size} samples, shorter than one analysis window "
                                 f"({min_samples} samples)")
    if not np.issubdtype(audio.dtype, np.number):
        raise AudioError(source, f"expected numeric samples, got dtype {audio.dtype}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(audio)):
        raise AudioError(source, "contains NaN or infinite samples")
    return audio


def load_audio(path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
               min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Read an audio file as mono float32 at ``sample_rate``.

    Parameters
    ----------
    path : str or path-like
        WAV, FLAC or OGG file (anything libsndfile reads; librosa is tried as a fallback).
    sample_rate : int
        Target rate; other rates are resampled (librosa / soxr).
    min_samples : int
        Audio shorter than this after resampling raises.

    Returns
    -------
    numpy.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        If the file is missing, unreadable, empty, too short or holds non-finite samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():  # a named pipe or a device (/dev/zero) would block or never end
        raise AudioError(path, "not a regular file (a folder, named pipe or device); only "
                               "regular audio files are read" if path.exists() else
                               "no such file")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)  # (n_samples, ch)
    except Exception as sf_exc:  # libsndfile could not parse it: try librosa's decoders
        try:
            import warnings

            import librosa

            with warnings.catch_warnings():  # librosa's audioread fallback warns of its future
                warnings.simplefilter("ignore")
                audio, rate = librosa.load(str(path), sr=None, mono=False)
            audio = np.atleast_2d(audio).T  # (n_samples, ch)
        except Exception:
            raise AudioError(path, f"unreadable audio ({sf_exc})") from sf_exc
    if audio.shape[0] == 0:
        raise AudioError(path, "empty audio (0 samples)")
    audio = audio.mean(axis=1)  # (n_samples,) downmix
    if rate != sample_rate:
        import librosa

        audio = librosa.resample(audio, orig_sr=int(rate), target_sr=sample_rate)
    return check_waveform(audio, source=str(path), min_samples=min_samples)


def has_audio(value: Any) -> bool:
    """Whether a manifest's ``audio`` cell holds samples (not None / NaN)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def row_waveform(audio: Any, path: str, *, utt_id: str = "",
                 sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One manifest row's audio as float32 at ``sample_rate``: its in-memory ``audio`` cell
    (16 kHz samples, resampled if needed) when it has one, else its file; raises
    :class:`AudioError` naming the file (or the utterance)."""
    if has_audio(audio):
        source = path or f"{utt_id} (in-memory audio)"
        y = check_waveform(audio, source=source)
        if sample_rate != SAMPLE_RATE:
            import librosa  # about a second to import: only when resampling

            y = librosa.resample(y, orig_sr=SAMPLE_RATE, target_sr=sample_rate)
            y = check_waveform(y, source=source)
        return y
    return load_audio(path, sample_rate=sample_rate)


def write_wav(path: str | os.PathLike, audio: np.ndarray, *,
              sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono audio as 16-bit PCM WAV, atomically.

    Samples are clipped to [-1, 1]. Returns the path written.
    """
    import soundfile as sf

    audio = check_waveform(audio, source=str(path), min_samples=1)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        sf.write(handle, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return path
