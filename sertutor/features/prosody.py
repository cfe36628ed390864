"""Prosodic descriptors of an utterance: what emotion moves in a voice, in a few numbers.

A log-mel segment is mostly *what* is said; emotion changes *how*: the pitch and its range,
loudness and its dynamics, the balance of low and high frequencies, breathiness and tempo.
Affective computing condensed these into small standard sets, the best known the extended
Geneva Minimalistic Acoustic Parameter Set (eGeMAPS). :func:`prosody_descriptors` computes
18 numbers in its spirit with librosa (it is not the openSMILE implementation):

=================  ====================================================================
``f0_*``           pitch in semitones re 100 Hz on voiced frames (probabilistic YIN):
                   mean, standard deviation, 20-80 percentile range, 20th and 80th
                   percentile, mean absolute change from frame to frame
``loud_*``         frame level in dB on speech frames: mean, standard deviation,
                   20-80 percentile range, mean absolute change from frame to frame
``alpha_*``        alpha ratio: energy 1-5 kHz over 50 Hz-1 kHz in dB (spectral balance,
                   flatter with effort): mean and standard deviation over speech frames
``hammarberg``     peak level 0-2 kHz over peak level 2-5 kHz, dB
``flatness``       mean log spectral flatness of speech frames (noise, breathiness)
``centroid``       mean spectral centroid of speech frames, kHz
``voiced_share``   voiced frames over speech frames
``voiced_rate``    voiced stretches per second (a syllable-rate proxy)
``speech_share``   speech frames (within ``SPEECH_RANGE_DB`` of the loudest) over all
=================  ====================================================================

A speaker's own voice moves all of them (a deep voice, a quiet speaker), so a model compares
them with the same speaker's other utterances: :func:`standardise_by_speaker` z-scores each
speaker's rows with that speaker's own statistics, as ``features.normalise = "speaker"`` does
for the log-mels. sertutor uses them as a reconstruction target
(``model.decoder_prosody``): unlabelled audio then teaches the codes what emotion moves,
not only what was said.

References
----------
- F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for Voice
  Research and Affective Computing", IEEE Trans. Affective Computing 7(2), 2016.
- M. Mauch and S. Dixon, "pYIN: A fundamental frequency estimator using probabilistic
  threshold distributions", ICASSP 2014 (``librosa.pyin``).
- S. Pascual et al., "Learning Problem-agnostic Speech Representations from Multiple
  Self-supervised Tasks" (PASE), Interspeech 2019: prosody among the targets that teach an
  encoder from unlabelled speech.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..audio import AudioError, check_waveform, row_waveform

#: The descriptors :func:`prosody_descriptors` returns, in order.
PROSODY_NAMES: tuple[str, ...] = (
    "f0_mean", "f0_std", "f0_range", "f0_p20", "f0_p80", "f0_change",
    "loud_mean", "loud_std", "loud_range", "loud_change",
    "alpha_mean", "alpha_std", "hammarberg", "flatness", "centroid",
    "voiced_share", "voiced_rate", "speech_share",
)
#: Frames within this many dB of the utterance's loudest frame count as speech.
SPEECH_RANGE_DB = 35.0
#: Pitch search range of pYIN, Hz (low male to high female and child voices).
F0_RANGE_HZ = (60.0, 500.0)
HOP_SECONDS = 0.01  # 10 ms frames, as the log-mels


def _band(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return power[(freqs >= lo) & (freqs < hi)]  # (bins in [lo, hi), frames)


def prosody_descriptors(waveform: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """The 18 descriptors of :data:`PROSODY_NAMES` for one utterance.

    Parameters
    ----------
    waveform : numpy.ndarray, shape (N,)
        Mono audio, float, finite.
    sample_rate : int
        Its sampling rate in Hz (at least 10 kHz: the alpha ratio reads up to 5 kHz).

    Returns
    -------
    numpy.ndarray, shape (18,), float32
        NaN where a descriptor is undefined (pitch statistics of an utterance with fewer
        than 3 voiced frames).
    """
    import librosa  # about a second to import: only when descriptors are computed

    y = check_waveform(waveform, source="waveform")
    if sample_rate < 10000:
        raise ValueError(f"sample_rate must be at least 10000 Hz, got {sample_rate}")
    hop = int(round(HOP_SECONDS * sample_rate))
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sample_rate)))  # >= 32 ms: 512 at 16 kHz
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    f0, voiced, _ = librosa.pyin(y, fmin=F0_RANGE_HZ[0], fmax=F0_RANGE_HZ[1], sr=sample_rate,
                                 frame_length=2 * n_fft, hop_length=hop)  # (T,) each
    power = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2  # (n_fft/2 + 1, T)
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)  # (n_fft/2 + 1,)
    level = 10 * np.log10(power.mean(axis=0) + 1e-10)  # (T,) frame level, dB
    n = min(len(f0), power.shape[1])
    f0, voiced, power, level = f0[:n], voiced[:n], power[:, :n], level[:n]
    speech = level > level.max() - SPEECH_RANGE_DB  # (T,)
    voiced = voiced & speech & np.isfinite(f0)
    p = power[:, speech]  # (bins, T_speech)

    semitones = 12 * np.log2(f0[voiced] / 100.0)  # (T_voiced,)
    if len(semitones) >= 3:
        p20, p80 = np.percentile(semitones, [20, 80])
        pitch = [semitones.mean(), semitones.std(), p80 - p20, p20, p80,
                 np.abs(np.diff(semitones)).mean()]
    else:
        pitch = [np.nan] * 6
    loud = level[speech]  # (T_speech,)
    l20, l80 = np.percentile(loud, [20, 80])
    alpha = 10 * np.log10((_band(p, freqs, 1000, 5000).sum(0) + 1e-10)
                          / (_band(p, freqs, 50, 1000).sum(0) + 1e-10))  # (T_speech,)
    hammarberg = 10 * np.log10((_band(p, freqs, 0, 2000).max(0) + 1e-10)
                               / (_band(p, freqs, 2000, 5000).max(0) + 1e-10))
    flatness = librosa.feature.spectral_flatness(S=np.sqrt(p))[0]  # (T_speech,)
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(p), sr=sample_rate)[0]
    onsets = np.count_nonzero(np.diff(voiced.astype(np.int8)) == 1) + int(voiced[0])
    out = pitch + [
        loud.mean(), loud.std(), l80 - l20,
        np.abs(np.diff(loud)).mean() if len(loud) > 1 else 0.0,
        alpha.mean(), alpha.std(), hammarberg.mean(), np.log(flatness + 1e-10).mean(),
        centroid.mean() / 1000.0, voiced.sum() / max(speech.sum(), 1),
        onsets / (n * HOP_SECONDS), speech.mean(),
    ]
    return np.asarray(out, dtype=np.float32)


def rows_descriptors(rows: Sequence[tuple[Any, str, str]], *, sample_rate: int
                     ) -> list[tuple[np.ndarray | None, str]]:
    """:func:`prosody_descriptors` of manifest rows ``(audio, path, utt_id)`` (the in-memory
    audio cell or the file, :func:`sertutor.audio.row_waveform`): for each row
    ``(descriptors, "")``, or ``(None, reason)`` where its audio cannot be used.

    One worker process's share of a corpus (:func:`sertutor.data.prosody.corpus_prosody`):
    this module imports numpy, librosa and :mod:`sertutor.audio`, never torch, so a spawned
    worker costs about 250 MB, not torch's 200-500 more.
    """
    out = []
    for audio, path, utt_id in rows:
        try:
            y = row_waveform(audio, path, utt_id=utt_id, sample_rate=sample_rate)
            out.append((prosody_descriptors(y, sample_rate=sample_rate), ""))
        except (AudioError, OSError, ValueError) as err:
            out.append((None, f"{path or utt_id}: {err}"))
    return out


def standardise_by_speaker(values: np.ndarray, speakers: Sequence) -> np.ndarray:
    """Z-score each speaker's rows with the mean and standard deviation of that speaker's own
    rows (per column, NaN ignored); a constant column, or a speaker with one row, gives 0.

    Parameters
    ----------
    values : numpy.ndarray, shape (n, P)
    speakers : sequence, length n
        Each row's speaker key (:func:`sertutor.data.labels.speaker_keys`).

    Returns
    -------
    numpy.ndarray, shape (n, P), float32
        NaN stays NaN (an undefined descriptor is no target).
    """
    values = np.asarray(values, dtype=np.float64)
    keys = np.asarray([str(k) for k in speakers])
    if values.ndim != 2 or len(keys) != len(values):
        raise ValueError(f"values must have shape (n, P) with one speaker per row; got "
                         f"{values.shape} and {len(keys)} speakers")
    out = np.full(values.shape, np.nan)
    for key in np.unique(keys):
        rows = keys == key
        v = values[rows]  # (n_k, P)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is expected
            mean, std = np.nanmean(v, axis=0), np.nanstd(v, axis=0)  # (P,) each
        std = np.where(np.isfinite(std) & (std > 1e-6), std, np.inf)  # constant: 0 below
        out[rows] = (v - mean) / std
    return out.astype(np.float32)

