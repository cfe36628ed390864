"""A small source-filter voice that speaks a pseudo-language with emotion.

This is the synthesiser behind the embedded corpora of :mod:`sertutor.data.synth`. It is a
formant synthesiser in the tradition of Klatt, written with numpy and scipy so a teacher can
read it in one sitting and a laptop renders speech hundreds of times faster than real time.

The chain, per utterance
------------------------
1. **Plan** (:func:`plan_utterance`): pseudo-words of CV / CVC syllables (vowels *a e i o u*;
   stops *p t k b d g*; nasals *m n*; voiceless fricatives *s sh f h*; the liquid *l*) are
   laid out in time at the speaker's and the emotion's speaking rate, grouped into phrases
   separated by pauses, with a stressed (first) syllable per word, pitch accents on some of
   them and phrase-final lengthening.
2. **F0 contour** (:func:`f0_contour`): phrase declination with a reset after each pause,
   raised-cosine accent peaks on stressed vowels, a phrase-final fall (or a rise, more likely in
   surprise and fear), slow random drift and, in fear, a tremor.
3. **Source** (:func:`glottal_source`): a Rosenberg (1971) glottal flow pulse per cycle,
   evaluated from the running phase of the F0 contour (fully vectorised), with jitter (cycle
   F0 perturbation) and shimmer (cycle amplitude perturbation); its derivative (lip radiation
   included) is low-pass tilted by vocal effort; aspiration noise, modulated by the glottal
   cycle, sets breathiness (HNR).
4. **Filter** (:func:`formant_cascade`): five second-order resonators in cascade (F1-F4 move
   between the phones' targets, F5 is fixed), Klatt's (1980) unit-DC-gain form. The time
   variation is block-wise: every 5 ms the poles are recomputed from the interpolated
   formant tracks and :func:`scipy.signal.lfilter` runs the block, its state rebuilt from the
   past outputs (direct form I semantics, so coefficient changes do not click).
5. **Noise sources**: fricatives (*s*, *sh*, *f*) and stop bursts are shaped noise through
   parallel band-pass resonators; stop closures are silent (voiceless) or carry a voice bar
   (voiced), voiceless stops and *h* are aspirated through the vocal tract.
6. **Level** is set on the voiced speech (dBFS), and :func:`record` adds the recording
   conditions: room reverberation (an exponentially decaying noise impulse response), an
   ambient noise floor at a fixed SNR re the corpus's nominal speech level (so loud speech
   has a better SNR than soft speech, as in a real room), microphone colouring (high-pass,
   low-pass, a presence peak), optional mains hum and a soft limiter.

Emotion acts on the speaker's own baseline through the acoustic correlates reported in the
literature (table :data:`EMOTION_PROTOTYPES`), scaled by the utterance's intensity, the
speaker's expressiveness and a per-speaker style factor, so that categories overlap as in
acted corpora (happy-angry share high arousal; neutral-sad-calm share low activation).

References
----------
- D. H. Klatt, "Software for a cascade/parallel formant synthesizer", JASA 67(3), 1980.
- A. E. Rosenberg, "Effect of glottal pulse shape on the quality of natural vowels",
  JASA 49(2B), 1971.
- G. E. Peterson and H. L. Barney, "Control methods used in a study of the vowels",
  JASA 24(2), 1952 (vowel formant targets).
- R. Banse and K. R. Scherer, "Acoustic profiles in vocal emotion expression", J. Personality
  and Social Psychology 70(3), 1996.
- K. R. Scherer, "Vocal communication of emotion: A review of research paradigms",
  Speech Communication 40, 2003.
- P. N. Juslin and P. Laukka, "Communication of emotions in vocal expression and music
  performance: Different channels, same code?", Psychological Bulletin 129(5), 2003.
- J. A. Russell, "A circumplex model of affect", J. Personality and Social Psychology 39(6),
  1980 (arousal / valence / dominance prototypes).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .manifest import EMOTIONS_EXTENDED, GENDERS


# scipy is imported on first use, not with this module: ``import sertutor`` reaches this module
# (the corpus loaders), and scipy costs 60-100 MB of resident memory in every notebook kernel,
# while only generating a corpus needs it (the classroom corpora are cached on disk).
def _scipy_signal():
    """:mod:`scipy.signal`, imported on first use."""
    from scipy import signal

    return signal


def convolve1d(*args, **kwargs):
    """:func:`scipy.ndimage.convolve1d`, imported on first use."""
    from scipy.ndimage import convolve1d as _convolve1d

    return _convolve1d(*args, **kwargs)

__all__ = [
    "SAMPLE_RATE",
    "EmotionProfile",
    "EMOTION_PROTOTYPES",
    "PROTOTYPE_TABLE",
    "emotion_table",
    "Speaker",
    "make_speaker",
    "RecordingConditions",
    "CLEAN",
    "VoiceParams",
    "voice_params",
    "Segment",
    "UtterancePlan",
    "plan_utterance",
    "f0_contour",
    "glottal_source",
    "formant_cascade",
    "render",
    "record",
    "synthesize_voice",
]

SAMPLE_RATE = 16000  # Hz, the pipeline's rate
FRAME_S = 0.005  # control-frame (and filter-block) length, seconds
_F5_MALE = 4500.0  # fixed fifth formant of the male reference tract, Hz


# ============================================================================= emotions
@dataclass(frozen=True)
class EmotionProfile:
    """Acoustic effect of one emotion at full intensity on a typical speaker.

    Additive fields are added times the effective intensity ``e`` (intensity x speaker
    expressiveness x style); factors are raised to the power ``e`` (``factor ** e``), so
    ``e = 0`` is the speaker's neutral voice and ``e = 1`` the prototype.
    """

    name: str  # label from EMOTIONS_EXTENDED
    f0_st: float  # F0 level shift, semitones
    f0_range: float  # factor on F0 excursions (accents, declination, final movement)
    loudness_db: float  # level change of the voiced speech, dB
    rate: float  # speaking-rate factor (> 1: faster, shorter phones)
    tilt_db: float  # source spectral-tilt change at 3 kHz, dB (> 0: flatter, more effort)
    breathiness: float  # added aspiration (0..1 scale; < 0: pressed, tenser voice)
    open_quotient: float  # change of the glottal open quotient (< 0: pressed, > 0: lax)
    jitter: float  # factor on cycle-to-cycle F0 perturbation
    shimmer: float  # factor on cycle-to-cycle amplitude perturbation
    formant: float  # factor on F1-F4 (smiling shortens the tract: > 1)
    f1: float  # extra factor on F1 (wider jaw opening with high arousal: > 1)
    pause: float  # factor on pause durations
    final_rise: float  # probability of a phrase-final rise instead of a fall
    tremor_st: float  # depth of a ~6 Hz F0 tremor, semitones
    arousal: float  # prototype rating, 1 (calm) .. 5 (excited)
    valence: float  # prototype rating, 1 (negative) .. 5 (positive)
    dominance: float  # prototype rating, 1 (submissive) .. 5 (dominant)


#: The emotion prototypes at full intensity, one row per emotion, the columns in the order of
#: the fields of :class:`EmotionProfile` (f0 = F0 level shift in semitones; range = factor on F0
#: excursions; dB = loudness change; rate = speaking-rate factor; tilt = spectral-tilt change
#: in dB at 3 kHz; brth = added breathiness; OQ = open-quotient change; jit / shim = factors
#: on jitter / shimmer; form / F1 = formant factors; pause = factor on pauses; rise =
#: probability of a final rise; trem = F0 tremor in semitones; A V D = arousal, valence,
#: dominance prototypes on 1-5). After the reviews of Scherer (2003) and Juslin and Laukka
#: (2003) and the profiles of Banse and Scherer (1996): high arousal (happy, angry, fear,
#: surprise) raises F0, F0 range, loudness and rate and flattens the spectral tilt; sadness
#: lowers them, slows down and adds breathiness; calm is a softer, slower neutral. Anger
#: differs from joy mostly in effort (tilt, pressed phonation, F1), joy from anger in F0 height
#: and range and in smiling (raised formants); fear is high, fast, tremulous and breathy.
PROTOTYPE_TABLE = """
emotion    f0  range   dB  rate  tilt  brth    OQ  jit shim form   F1 pause rise trem   A   V   D
neutral   0.0   1.00  0.0  1.00   0.0  0.00  0.00  1.0  1.0 1.00 1.00  1.0 0.15  0.0 3.0 3.0 3.0
happy    +4.5   1.70 +5.0  1.08  +5.0  0.00 -0.04  1.0  1.0 1.04 1.03  0.9 0.30  0.0 4.0 4.4 3.4
sad      -3.0   0.50 -7.0  0.75  -6.0 +0.30 +0.10  1.4  1.3 0.98 0.95  1.6 0.05  0.0 1.8 1.6 2.0
angry    +3.5   1.40 +9.0  1.12 +10.0 -0.05 -0.15  1.2  1.2 1.00 1.10  0.7 0.05  0.0 4.5 1.6 4.4
fear     +5.5   0.90 +2.0  1.20  +2.0 +0.15  0.00  2.0  1.5 1.01 1.00  1.2 0.40  0.6 4.2 1.7 1.7
disgust  -1.5   0.90 +1.0  0.82  +1.0 +0.05 -0.05  1.5  1.3 0.97 0.97  1.3 0.05  0.0 3.2 1.8 3.3
surprise +6.0   1.80 +3.0  1.00  +3.0 +0.05  0.00  1.0  1.0 1.02 1.02  1.0 0.80  0.0 4.1 3.4 2.7
calm     -1.0   0.80 -2.5  0.90  -2.0 +0.08 +0.04  0.9  0.9 1.00 0.98  1.3 0.10  0.0 1.9 3.7 2.9
"""
EMOTION_PROTOTYPES: dict[str, EmotionProfile] = {
    row.split()[0]: EmotionProfile(row.split()[0], *map(float, row.split()[1:]))
    for row in PROTOTYPE_TABLE.strip().splitlines()[1:]
}
assert tuple(EMOTION_PROTOTYPES) == EMOTIONS_EXTENDED


def emotion_table():
    """The prototypes of :data:`EMOTION_PROTOTYPES` as a pandas DataFrame (one row each)."""
    import pandas as pd

    return pd.DataFrame([asdict(p) for p in EMOTION_PROTOTYPES.values()]).set_index("name")


# ============================================================================= speakers
@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: the neutral baseline that emotions act on."""

    speaker_id: str  # unique id, prefixed by the corpus (e.g. "emo_s03")
    gender: str  # "female" or "male"
    f0_hz: float  # F0 of neutral speech at phrase start, Hz
    f0_range_st: float  # size of a pitch accent, semitones
    vtl_scale: float  # formant scale, 1 / relative vocal-tract length (male reference 1.0)
    rate: float  # personal speaking-rate factor (> 1: faster)
    jitter: float  # cycle-to-cycle F0 perturbation, relative SD (0.01 = 1 %)
    shimmer: float  # cycle-to-cycle amplitude perturbation, relative SD
    breathiness: float  # aspiration-noise level of modal voice, 0 (none) .. 1 (whisper-like)
    open_quotient: float  # glottal open quotient of modal voice (share of the cycle open)
    tilt_db: float  # source spectral tilt at 3 kHz re DC, dB (more negative: softer voice)
    level_db: float  # personal loudness offset, dB
    expressiveness: float  # how strongly emotions show: 0 none, 1 typical, > 1 theatrical
    vowel_warp: tuple[tuple[float, float], ...] = ()  # per-vowel (F1, F2) factors: an "accent"
    style: tuple[float, ...] = ()  # per-emotion expressiveness factors (EMOTIONS_EXTENDED order)


def make_speaker(rng: np.random.Generator, *, speaker_id: str, gender: str,
                 expressiveness: tuple[float, float] = (0.3, 1.2),
                 style_sd: float = 0.25) -> Speaker:
    """Draw a speaker.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (one per speaker, so speakers are reproducible on their own).
    speaker_id : str
        The id to store.
    gender : {"female", "male"}
        Sets F0 (female ~180-240 Hz, male ~100-140 Hz) and vocal-tract length (female
        formants ~16 % higher).
    expressiveness : (low, high)
        Uniform range of the speaker's expressiveness factor.
    style_sd : float
        Spread of the per-emotion style factors (some speakers show anger more than joy).
    """
    if gender not in GENDERS:
        raise ValueError(f"gender must be one of {GENDERS}, got {gender!r}")
    female = gender == "female"
    if female:
        f0 = float(np.clip(rng.normal(208.0, 16.0), 178.0, 242.0))
        vtl = float(np.clip(rng.normal(1.16, 0.04), 1.06, 1.26))
    else:
        f0 = float(np.clip(rng.normal(118.0, 11.0), 98.0, 142.0))
        vtl = float(np.clip(rng.normal(1.0, 0.035), 0.92, 1.08))
    warp = tuple((float(a), float(b)) for a, b in
                 np.clip(rng.normal(1.0, 0.04, size=(len(VOWELS), 2)), 0.88, 1.12))
    style = np.clip(rng.normal(1.0, style_sd, size=len(EMOTIONS_EXTENDED)), 0.3, 1.8)
    style[0] = 1.0
    lo, hi = expressiveness
    return Speaker(
        speaker_id=speaker_id,
        gender=gender,
        f0_hz=f0,
        f0_range_st=float(rng.uniform(2.0, 4.0)),
        vtl_scale=vtl,
        rate=float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.2)),
        jitter=float(rng.uniform(0.004, 0.012)),
        shimmer=float(rng.uniform(0.02, 0.06)),
        breathiness=float(np.clip(rng.normal(0.16 if female else 0.10, 0.06), 0.02, 0.4)),
        open_quotient=float(np.clip(rng.normal(0.62 if female else 0.56, 0.04), 0.45, 0.75)),
        tilt_db=float(np.clip(rng.normal(-14.0 if female else -12.0, 2.0), -20.0, -7.0)),
        level_db=float(rng.normal(0.0, 2.0)),
        expressiveness=float(rng.uniform(lo, hi)),
        vowel_warp=warp,
        style=tuple(float(s) for s in style),
    )


# ============================================================================= recording
@dataclass(frozen=True)
class RecordingConditions:
    """How an utterance was recorded: microphone, room, noise and level."""

    name: str = "clean"  # label of the condition (a corpus or a session)
    level_dbfs: float = -28.0  # RMS of neutral voiced speech at the converter, dBFS
    highpass_hz: float = 50.0  # microphone / preamp low cut, Hz (2nd-order Butterworth)
    lowpass_hz: float = 7800.0  # microphone / converter high cut, Hz (2nd-order Butterworth)
    eq_freq_hz: float = 3000.0  # centre of the microphone's presence peak or dip, Hz
    eq_gain_db: float = 0.0  # gain of that peaking filter, dB (0: flat)
    eq_q: float = 1.0  # quality factor of that peaking filter
    snr_db: float = math.inf  # noise floor re the nominal speech level, dB (inf: no noise)
    noise_color: float = 1.0  # noise spectrum slope: 0 white, 1 pink, 2 brown
    hum_db: float = -math.inf  # mains hum (50 Hz + harmonics) re the nominal level, dB
    rt60_s: float = 0.0  # reverberation time, seconds (0: anechoic)
    drr_db: float = 10.0  # direct-to-reverberant energy ratio, dB
    room_seed: int = 0  # seed of the room's impulse response


#: No colouring, noise or reverberation: what :func:`synthesize_voice` uses.
CLEAN = RecordingConditions()


@functools.lru_cache(maxsize=256)
def _mic_sos(cond: RecordingConditions, sample_rate: int) -> np.ndarray:
    """Second-order sections of the microphone colouring, shape (n_sections, 6)."""
    nyq = sample_rate / 2.0
    signal = _scipy_signal()
    sections = [signal.butter(2, min(cond.highpass_hz, 0.45 * sample_rate) / nyq, "highpass",
                              output="sos")]
    if cond.lowpass_hz < 0.49 * sample_rate:
        sections.append(signal.butter(2, cond.lowpass_hz / nyq, "lowpass", output="sos"))
    if cond.eq_gain_db != 0.0 and cond.eq_freq_hz < 0.49 * sample_rate:
        # RBJ audio-EQ-cookbook peaking filter
        a_lin = 10.0 ** (cond.eq_gain_db / 40.0)
        w0 = 2.0 * math.pi * cond.eq_freq_hz / sample_rate
        alpha = math.sin(w0) / (2.0 * cond.eq_q)
        b = np.array([1 + alpha * a_lin, -2 * math.cos(w0), 1 - alpha * a_lin])
        a = np.array([1 + alpha / a_lin, -2 * math.cos(w0), 1 - alpha / a_lin])
        sections.append(np.concatenate([b / a[0], a / a[0]])[None, :])
    return np.concatenate(sections, axis=0)


@functools.lru_cache(maxsize=256)
def _room_ir(rt60_s: float, drr_db: float, room_seed: int, sample_rate: int) -> np.ndarray:
    """Impulse response: a direct path and an exponentially decaying noise tail, shape (n,)."""
    rng = np.random.default_rng(room_seed)
    n = int(min(rt60_s, 0.8) * sample_rate)
    delay = int(0.004 * sample_rate) + int(rng.integers(0, int(0.004 * sample_rate) + 1))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # -60 dB at rt60
    tail = _scipy_signal().lfilter([0.6], [1.0, -0.4], tail)  # air absorption dulls the tail
    tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / max(float(np.sum(tail ** 2)), 1e-12))
    ir = np.zeros(n + delay)
    ir[0] = 1.0
    ir[delay:] += tail
    return ir


def _colored_noise(rng: np.random.Generator, n: int, color: float) -> np.ndarray:
    """Unit-RMS noise with power spectrum ~ 1 / f**color, shape (n,)."""
    from scipy import fft

    m = fft.next_fast_len(n, real=True)
    white = rng.standard_normal(m)
    if color == 0.0:
        return white[:n]
    spec = fft.rfft(white)
    freqs = np.arange(spec.size, dtype=float)
    freqs[0] = 1.0
    spec *= freqs ** (-color / 2.0)
    noise = fft.irfft(spec, m)[:n]
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def _soft_limit(x: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Identity below ``knee``, smooth saturation to just under 1 above it (a preamp)."""
    mag = np.abs(x)
    over = mag > knee
    if not over.any():
        return x
    out = x.copy()
    room = 1.0 - knee
    out[over] = np.sign(x[over]) * (knee + room * np.tanh((mag[over] - knee) / room))
    return out


def record(speech: np.ndarray, cond: RecordingConditions, rng: np.random.Generator, *,
           sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Pass level-set dry speech through a recording chain: room, noise, microphone, hum.

    Parameters
    ----------
    speech : numpy.ndarray, shape (n_samples,)
        Dry speech whose voiced RMS is already at the intended level (dBFS).
    cond : RecordingConditions
        Microphone colouring, room, noise floor.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    numpy.ndarray, shape (n_samples,), float64 in (-1, 1)
    """
    n = speech.size
    y = speech
    if cond.rt60_s > 0.0:  # the room
        ir = _room_ir(cond.rt60_s, cond.drr_db, cond.room_seed, sample_rate)
        y = _scipy_signal().oaconvolve(y, ir)[:n]
    nominal = 10.0 ** (cond.level_dbfs / 20.0)
    if math.isfinite(cond.snr_db):  # ambient noise, picked up by the same microphone
        y = y + _colored_noise(rng, n, cond.noise_color) * nominal * 10.0 ** (-cond.snr_db / 20)
    y = _scipy_signal().sosfilt(_mic_sos(cond, sample_rate), y)  # the microphone and preamp
    if math.isfinite(cond.hum_db):  # electrical hum after the microphone
        t = np.arange(n) / sample_rate
        phase = rng.uniform(0, 2 * math.pi)
        hum = np.sin(2 * math.pi * 50 * t + phase) + 0.5 * np.sin(2 * math.pi * 150 * t + phase)
        y = y + hum * nominal * 10.0 ** (cond.hum_db / 20.0) / 0.79
    return _soft_limit(y)


# ============================================================================= pseudo-language
#: Vowel targets of the male reference tract (Peterson and Barney 1952): F1-F4 in Hz.
VOWELS: dict[str, tuple[float, float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "i": (270.0, 2290.0, 3010.0, 3700.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "u": (300.0, 870.0, 2240.0, 3400.0),
}
_VOWEL_BW = (80.0, 90.0, 140.0, 220.0)  # B1-B4 of vowels, Hz (Klatt 1980 order of magnitude)
_VOWEL_INDEX = {v: i for i, v in enumerate(VOWELS)}


@dataclass(frozen=True)
class _Consonant:
    kind: str  # "stop", "nasal", "fricative", "aspirate", "liquid"
    voiced: bool  # vocal folds vibrate
    formants: tuple[float, float, float, float] | None  # F1-F4 locus (None: the next vowel's)
    bandwidths: tuple[float, float, float, float]  # B1-B4, Hz
    dur: float  # inherent duration at rate 1, seconds (stops: the closure)
    voicing: float = 0.0  # voicing amplitude relative to a stressed vowel
    noise_hz: float = 0.0  # centre of the frication / burst resonance, Hz
    noise_bw: float = 0.0  # its bandwidth, Hz
    noise_amp: float = 0.0  # frication / burst amplitude re the vowel level
    burst: float = 0.0  # stops: burst length, seconds
    aspiration: float = 0.0  # voiceless stops: aspiration length, seconds


_LAB, _ALV, _VEL = (250.0, 900.0, 2200.0, 3300.0), (250.0, 1700.0, 2600.0, 3400.0), \
    (250.0, 1900.0, 2300.0, 3400.0)
_CBW = (90.0, 120.0, 180.0, 250.0)
_NBW = (110.0, 260.0, 320.0, 320.0)  # nasal murmur: damped, low-frequency energy
CONSONANTS: dict[str, _Consonant] = {
    "p": _Consonant("stop", False, _LAB, _CBW, 0.065, noise_hz=1100, noise_bw=1600,
                    noise_amp=0.45, burst=0.008, aspiration=0.035),
    "t": _Consonant("stop", False, _ALV, _CBW, 0.060, noise_hz=4200, noise_bw=2500,
                    noise_amp=0.6, burst=0.010, aspiration=0.040),
    "k": _Consonant("stop", False, _VEL, _CBW, 0.060, noise_hz=2300, noise_bw=900,
                    noise_amp=0.6, burst=0.015, aspiration=0.045),
    "b": _Consonant("stop", True, _LAB, _CBW, 0.055, voicing=0.06, noise_hz=1100,
                    noise_bw=1600, noise_amp=0.22, burst=0.005),
    "d": _Consonant("stop", True, _ALV, _CBW, 0.050, voicing=0.06, noise_hz=4200,
                    noise_bw=2500, noise_amp=0.3, burst=0.006),
    "g": _Consonant("stop", True, _VEL, _CBW, 0.050, voicing=0.06, noise_hz=2300,
                    noise_bw=900, noise_amp=0.3, burst=0.008),
    "m": _Consonant("nasal", True, (250.0, 1100.0, 2200.0, 3300.0), _NBW, 0.065, voicing=0.30),
    "n": _Consonant("nasal", True, (250.0, 1600.0, 2600.0, 3300.0), _NBW, 0.060, voicing=0.30),
    "l": _Consonant("liquid", True, (360.0, 1300.0, 2700.0, 3400.0), (80.0, 120.0, 200.0, 250.0),
                    0.060, voicing=0.55),
    "s": _Consonant("fricative", False, _ALV, _CBW, 0.100, noise_hz=5500, noise_bw=2500,
                    noise_amp=0.40),
    "sh": _Consonant("fricative", False, (250.0, 1900.0, 2500.0, 3400.0), _CBW, 0.100,
                     noise_hz=2900, noise_bw=1300, noise_amp=0.40),
    "f": _Consonant("fricative", False, _LAB, _CBW, 0.090, noise_hz=4000, noise_bw=6000,
                    noise_amp=0.12),
    "h": _Consonant("aspirate", False, None, _VOWEL_BW, 0.060, noise_amp=0.35),
}
ONSETS = ("p", "t", "k", "b", "d", "g", "m", "n", "l", "s", "sh", "f", "h")
CODAS = ("m", "n", "l", "s", "t", "k")


@dataclass
class Segment:
    """One stretch of the plan: a phone, a part of a stop, or a pause."""

    phone: str  # vowel, consonant key, "#" (pause) or "<stop>:burst" / "<stop>:asp"
    start: float  # seconds
    end: float  # seconds
    stressed: bool = False  # vowel of a stressed syllable
    accent: float = 0.0  # pitch-accent height (semitones at range 1) on this vowel, 0: none
    final: bool = False  # vowel of the last syllable of a phrase


@dataclass
class UtterancePlan:
    """What to say and when: the output of :func:`plan_utterance`."""

    text: str  # the pseudo-words, phrases separated by commas
    segments: list[Segment]  # in time order, covering [0, duration]
    phrases: list[tuple[float, float]]  # (start, end) of each phrase, seconds
    final_rise: bool  # the utterance ends in a rise (question-like) instead of a fall
    duration: float  # seconds


def _syllable(rng: np.random.Generator) -> list[str]:
    phones = []
    if rng.random() < 0.85:
        phones.append(ONSETS[rng.integers(len(ONSETS))])
    phones.append("aeiou"[rng.integers(5)])
    if rng.random() < 0.25:
        phones.append(CODAS[rng.integers(len(CODAS))])
    return phones


def _phone_dur(phone: str, params: "VoiceParams", rng: np.random.Generator, *,
               stressed: bool = False, final: bool = False, coda: bool = False) -> float:
    jit = float(np.clip(rng.normal(1.0, 0.1), 0.75, 1.3))
    if phone in VOWELS:
        d = (0.130 if stressed else 0.085) * (1.35 if final else 1.0)
        return d * jit / params.rate
    d = CONSONANTS[phone].dur * (0.8 if coda else 1.0)
    return d * jit / params.rate ** 0.6


def plan_utterance(params: "VoiceParams", *, duration_s: float,
                   rng: np.random.Generator) -> UtterancePlan:
    """Lay out pseudo-words in time so that the utterance lasts exactly ``duration_s``.

    Words (1-3 CV / CVC syllables, stress on the first syllable) are added, in phrases of 1-4
    words separated by pauses, while they fit; the rest of the time is leading and trailing
    silence. At least one word is always said (squeezed if ``duration_s`` is very short).
    """
    lead = min(float(rng.uniform(0.08, 0.2)), 0.15 * duration_s)
    trail = min(float(rng.uniform(0.08, 0.2)), 0.15 * duration_s)
    budget = duration_s - lead - trail
    words: list[list[tuple[str, float, bool, bool]]] = []  # per word: (phone, dur, stress, final)
    layout: list[list[int]] = [[]]  # phrases of word indices
    pauses: list[float] = [0.0]  # pause before each phrase, seconds
    used = 0.0
    phrase_len = int(rng.integers(1, 5))
    while True:
        n_syl = int(rng.choice([1, 2, 2, 3]))
        syls = [_syllable(rng) for _ in range(n_syl)]
        stress_at = 1 if (n_syl == 3 and rng.random() < 0.3) else 0
        word = []
        for j, syl in enumerate(syls):
            for p in syl:
                is_v = p in VOWELS
                coda = (not is_v) and syl.index(p) > 0
                word.append((p, _phone_dur(p, params, rng, stressed=(j == stress_at and is_v),
                                           final=(j == n_syl - 1 and is_v), coda=coda),
                             j == stress_at and is_v, j == n_syl - 1 and is_v))
        wdur = sum(d for _, d, _, _ in word)
        if not words and wdur > budget:  # squeeze the only word into the budget
            word = [(p, d * budget / wdur, s, f) for p, d, s, f in word]
            wdur = budget
        new_phrase = bool(layout[-1]) and len(layout[-1]) >= phrase_len
        pause = 0.0
        if new_phrase:
            pause = float(rng.uniform(0.15, 0.35)) * params.pause / params.rate ** 0.5
        if words and used + pause + wdur > budget:
            break
        if new_phrase:
            layout.append([])
            pauses.append(pause)
            phrase_len = int(rng.integers(1, 5))
            used += pause
        layout[-1].append(len(words))
        words.append(word)
        used += wdur
    # free time goes to the edges, so the total is exact
    extra = max(budget - used, 0.0)
    lead += extra * float(rng.uniform(0.2, 0.6))
    segments: list[Segment] = []
    phrases: list[tuple[float, float]] = []
    t = lead
    segments.append(Segment("#", 0.0, lead))
    texts = []
    for pi, phrase in enumerate(layout):
        if pi > 0:
            segments.append(Segment("#", t, t + pauses[pi]))
            t += pauses[pi]
        p_start = t
        for wi_pos, wi in enumerate(phrase):
            last_word = wi_pos == len(phrase) - 1
            accent_this = last_word or rng.random() < 0.6
            for p, d, stressed, final in words[wi]:
                if p in VOWELS:
                    acc = 0.0
                    if stressed and accent_this:
                        acc = float(rng.uniform(0.6, 1.0)) * (1.25 if last_word else 1.0)
                    segments.append(Segment(p, t, t + d, stressed=stressed, accent=acc,
                                            final=final and last_word))
                else:
                    c = CONSONANTS[p]
                    if c.kind == "stop":
                        close = max(d - c.burst - c.aspiration, 0.02)
                        segments.append(Segment(p, t, t + close))
                        segments.append(Segment(p + ":burst", t + close, t + close + c.burst))
                        if c.aspiration:
                            segments.append(Segment(p + ":asp", t + close + c.burst, t + d))
                    else:
                        segments.append(Segment(p, t, t + d))
                t += d
        phrases.append((p_start, t))
        texts.append(" ".join("".join(p for p, *_ in words[wi]) for wi in phrase))
    segments.append(Segment("#", t, max(duration_s, t)))
    return UtterancePlan(text=", ".join(texts), segments=segments, phrases=phrases,
                         final_rise=bool(rng.random() < params.final_rise),
                         duration=float(duration_s))


# ============================================================================= parameters
@dataclass
class VoiceParams:
    """The effective voice of one utterance: speaker baseline + emotion + variation."""

    f0_hz: float  # F0 at phrase start, Hz
    f0_range_st: float  # pitch-accent size, semitones
    rate: float  # speaking-rate factor
    loudness_db: float  # level of the voiced speech re the recording's nominal level, dB
    breathiness: float  # aspiration level, 0..1
    open_quotient: float  # glottal open quotient
    tilt_db: float  # source spectral tilt at 3 kHz, dB
    jitter: float  # relative SD of cycle F0
    shimmer: float  # relative SD of cycle amplitude
    formant_scale: float  # factor on F1-F4 (vocal-tract length x emotion)
    f1_scale: float  # extra factor on F1
    pause: float  # factor on pause durations
    final_rise: float  # probability of a final rise
    tremor_st: float  # F0 tremor depth, semitones
    effective_intensity: float  # intensity x expressiveness x style actually applied


def voice_params(speaker: Speaker, emotion: str, intensity: float, *,
                 variation: np.random.Generator | None = None,
                 variation_scale: float = 1.0) -> VoiceParams:
    """Combine a speaker's baseline with an emotion at an intensity.

    Parameters
    ----------
    speaker : Speaker
    emotion : str
        One of :data:`~sertutor.data.manifest.EMOTIONS_EXTENDED`.
    intensity : float
        In [0, 1]; multiplied by the speaker's expressiveness and per-emotion style.
    variation : numpy.random.Generator, optional
        If given, adds utterance-to-utterance variation unrelated to emotion (F0 level,
        loudness, rate, tilt), so that the same emotion is never said twice the same way.
    variation_scale : float
        Scales that variation.
    """
    prof = EMOTION_PROTOTYPES[emotion]
    style = speaker.style[EMOTIONS_EXTENDED.index(emotion)] if speaker.style else 1.0
    e = float(intensity) * speaker.expressiveness * style
    dv = np.zeros(5)
    if variation is not None:
        dv = variation.normal(0.0, 1.0, size=5) * variation_scale
    return VoiceParams(
        f0_hz=speaker.f0_hz * 2.0 ** ((prof.f0_st * e + 0.8 * dv[0]) / 12.0),
        f0_range_st=speaker.f0_range_st * prof.f0_range ** e * math.exp(0.12 * dv[4]),
        rate=speaker.rate * prof.rate ** e * (1.0 + 0.05 * dv[1]),
        loudness_db=speaker.level_db + prof.loudness_db * e + 1.5 * dv[2],
        breathiness=float(np.clip(speaker.breathiness + prof.breathiness * e, 0.0, 1.0)),
        open_quotient=float(np.clip(speaker.open_quotient + prof.open_quotient * e, 0.35, 0.85)),
        tilt_db=float(np.clip(speaker.tilt_db + prof.tilt_db * e + 1.5 * dv[3], -30.0, -2.0)),
        jitter=speaker.jitter * prof.jitter ** e,
        shimmer=speaker.shimmer * prof.shimmer ** e,
        formant_scale=speaker.vtl_scale * prof.formant ** e,
        f1_scale=prof.f1 ** e,
        pause=prof.pause ** e,
        final_rise=float(np.clip(EMOTION_PROTOTYPES["neutral"].final_rise
                                 + (prof.final_rise - EMOTION_PROTOTYPES["neutral"].final_rise)
                                 * min(e, 1.0), 0.0, 1.0)),
        tremor_st=prof.tremor_st * e,
        effective_intensity=e,
    )


# ============================================================================= rendering
def _frames(t: float, hop: int, sample_rate: int) -> int:
    return int(round(t * sample_rate / hop))


def f0_contour(plan: UtterancePlan, params: VoiceParams, rng: np.random.Generator, *,
               frame_times: np.ndarray) -> np.ndarray:
    """F0 in Hz at ``frame_times`` (shape (n_frames,)), defined everywhere (also unvoiced).

    Semitone contour re ``params.f0_hz``: per phrase a reset (+1 st) and a declination
    (-2.5 st/s); accents (raised cosines, peak late in the stressed vowel); a final fall of
    ~3 st or a rise of ~5 st on the last syllable; drift and tremor.
    """
    t = frame_times
    rng_st = params.f0_range_st / 3.0  # range factor re a 3-semitone reference accent
    st = np.zeros_like(t)
    for p0, p1 in plan.phrases:
        inside = (t >= p0) & (t < p1 + 0.3)
        st[inside] = rng_st * (1.0 - 2.5 * (t[inside] - p0))
    for seg in plan.segments:
        if seg.accent > 0.0:
            d = seg.end - seg.start
            peak = seg.start + 0.6 * d
            width = max(0.18, 2.0 * d)
            x = (t - peak) / width
            bump = np.where(np.abs(x) < 0.5, 0.5 * (1.0 + np.cos(2 * np.pi * x)), 0.0)
            st += seg.accent * params.f0_range_st * bump
    finals = [s for s in plan.segments if s.final]
    if finals:
        last = finals[-1]
        x = np.clip((t - last.start) / max(last.end - last.start, 1e-3), 0.0, 1.0)
        ramp = 0.5 * (1.0 - np.cos(np.pi * x))
        st += (5.0 if plan.final_rise else -3.0) * rng_st * ramp
        for seg in finals[:-1]:  # continuation rises at non-final phrase ends
            x = np.clip((t - seg.start) / max(seg.end - seg.start, 1e-3), 0.0, 1.0)
            st += 1.0 * rng_st * 0.5 * (1.0 - np.cos(np.pi * x)) * (t < seg.end + 0.2)
    # slow drift: smoothed random walk, ~0.4 st
    drift = np.cumsum(rng.normal(0.0, 1.0, t.size))
    drift = convolve1d(drift - drift.mean(), np.hanning(41) / np.hanning(41).sum(), mode="nearest")
    st += 0.4 * drift / (drift.std() + 1e-9)
    if params.tremor_st > 0.0:
        st += params.tremor_st * np.sin(2 * np.pi * rng.uniform(5.0, 7.0) * t
                                        + rng.uniform(0, 2 * np.pi))
    return np.clip(params.f0_hz * 2.0 ** (st / 12.0), 55.0, 600.0)


def glottal_source(f0: np.ndarray, *, open_quotient: float, jitter: float, shimmer: float,
                   rng: np.random.Generator, sample_rate: int = SAMPLE_RATE,
                   speed_quotient: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Rosenberg-pulse glottal flow derivative along a per-sample F0 track.

    Parameters
    ----------
    f0 : numpy.ndarray, shape (n_samples,)
        Instantaneous F0 in Hz.
    open_quotient : float
        Open phase as a share of the cycle (opening + closing).
    jitter, shimmer : float
        Relative SD of each cycle's F0 and amplitude.
    speed_quotient : float
        Opening / closing duration ratio (Rosenberg's asymmetric pulse).

    Returns
    -------
    dflow : numpy.ndarray, shape (n_samples,)
        Flow derivative (lip radiation included), roughly unit RMS when voiced.
    open_phase : numpy.ndarray, shape (n_samples,)
        1.0 where the glottis is open, else 0.0 (to modulate aspiration noise).
    """
    nominal = np.cumsum(f0) / sample_rate  # running phase in cycles, without jitter
    cycle0 = nominal.astype(np.int64)
    jit = 1.0 + jitter * rng.standard_normal(int(cycle0[-1]) + 2)
    phase = np.cumsum(f0 * jit[cycle0]) / sample_rate
    cycle = phase.astype(np.int64)
    frac = phase - cycle
    tp = open_quotient * speed_quotient / (1.0 + speed_quotient)
    tn = open_quotient / (1.0 + speed_quotient)
    flow = np.where(frac < tp, 0.5 * (1.0 - np.cos(np.pi * frac / tp)),
                    np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0))
    amp = 1.0 + shimmer * rng.standard_normal(int(cycle[-1]) + 2)
    flow *= amp[cycle]
    dflow = np.diff(flow, prepend=0.0)
    scale = np.sqrt(np.mean(dflow ** 2)) + 1e-12
    return dflow / scale, (frac < tp + tn).astype(float)


def _tilt_pole(tilt_db: float, sample_rate: int, ref_hz: float = 3000.0) -> float:
    """Pole ``a`` of (1-a)/(1-a z^-1) whose gain at ``ref_hz`` is ``tilt_db`` (< 0) re DC."""
    g = 10.0 ** (min(tilt_db, -0.01) / 10.0)
    c = math.cos(2.0 * math.pi * ref_hz / sample_rate)
    # (1-a)^2 = g (1 - 2 a c + a^2)  ->  (1-g) a^2 - 2 (1 - g c) a + (1-g) = 0
    qa, qb = 1.0 - g, 1.0 - g * c
    return float((qb - math.sqrt(max(qb * qb - qa * qa, 0.0))) / qa)


def formant_cascade(x: np.ndarray, freqs: np.ndarray, bandwidths: np.ndarray, *,
                    hop: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Time-varying cascade of second-order resonators (Klatt 1980), block by block.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_samples,)
        Excitation.
    freqs, bandwidths : numpy.ndarray, shape (n_blocks, n_formants)
        Resonance frequencies and bandwidths in Hz for each block of ``hop`` samples
        (``n_blocks * hop >= n_samples``).
    hop : int
        Block length in samples (>= 2 * n_formants).

    Returns
    -------
    numpy.ndarray, shape (n_samples,)
        The filtered signal; each resonator has unit gain at DC.

    Notes
    -----
    The cascade's poles are multiplied out into one all-pole polynomial per block. At each
    block boundary the filter state is rebuilt from the last outputs for the new
    coefficients (``zi = -Hankel(a) @ y_past``, what :func:`scipy.signal.lfiltic` computes),
    which is a direct-form-I time-varying filter: no clicks when the formants move.
    """
    n_blocks, k = freqs.shape
    r = np.exp(-np.pi * bandwidths / sample_rate)
    a1 = -2.0 * r * np.cos(2.0 * np.pi * freqs / sample_rate)
    a2 = r * r
    order = 2 * k
    poly = np.zeros((n_blocks, order + 1))
    poly[:, 0] = 1.0
    for j in range(k):  # multiply in (1 + a1 z^-1 + a2 z^-2), all blocks at once
        new = poly.copy()
        new[:, 1:] += a1[:, j, None] * poly[:, :-1]
        new[:, 2:] += a2[:, j, None] * poly[:, :-2]
        poly = new
    gain = np.prod(1.0 + a1 + a2, axis=1)  # unit DC gain per resonator
    idx = np.add.outer(np.arange(order), np.arange(order))
    padded = np.concatenate([poly, np.zeros((n_blocks, order))], axis=1)
    hankel = padded[:, 1 + idx]  # (n_blocks, order, order)
    out = np.empty_like(x)
    y_past = np.zeros(order)  # y[-1], y[-2], ...
    lfilter = _fast_lfilter()
    x = np.ascontiguousarray(x, dtype=float)
    n = x.size
    for b in range(n_blocks):
        s0 = b * hop
        if s0 >= n:
            break
        s1 = min(s0 + hop, n)
        y, _ = lfilter(gain[b:b + 1], poly[b], x[s0:s1], -(hankel[b] @ y_past))
        out[s0:s1] = y
        if y.size >= order:
            y_past = y[:-order - 1:-1]
        else:  # a short final block
            y_past = np.concatenate([y[::-1], y_past])[:order]
    return out


@functools.lru_cache(maxsize=1)
def _fast_lfilter():
    """``lfilter(b, a, x, zi=zi) -> (y, zf)`` for float64 1-D input.

    scipy's public :func:`~scipy.signal.lfilter` spends ~10 us per call validating its
    arguments, several times the filtering of a 5 ms block; the C routine it calls is used
    directly when present (same results, checked by the tests), else the public function.
    """
    try:
        from scipy.signal import _sigtools

        raw = _sigtools._linear_filter
        b, a, x = np.array([0.5]), np.array([1.0, -0.5]), np.array([1.0, 2.0, 3.0])
        got = raw(b, a, x, -1, np.array([0.25]))
        want = _scipy_signal().lfilter(b, a, x, zi=np.array([0.25]))
        if not all(np.allclose(g, w) for g, w in zip(got, want)):
            raise ValueError("mismatch")
    except Exception:  # pragma: no cover - other scipy versions
        return lambda b, a, x, zi: _scipy_signal().lfilter(b, a, x, zi=zi)
    return lambda b, a, x, zi: raw(b, a, x, -1, zi)


def _resonator(fc: float, bw: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass resonator with zeros at DC and Nyquist, unit peak gain: (b, a)."""
    fc = min(fc, 0.45 * sample_rate)
    r = math.exp(-math.pi * bw / sample_rate)
    a = np.array([1.0, -2.0 * r * math.cos(2.0 * math.pi * fc / sample_rate), r * r])
    g = (1.0 - r * r) / 2.0
    return np.array([g, 0.0, -g]), a


def _smooth(tracks: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1:
        return tracks
    w = np.hanning(frames + 2)[1:-1]
    return convolve1d(tracks, w / w.sum(), axis=0, mode="nearest")


def render(plan: UtterancePlan, params: VoiceParams, speaker: Speaker, *,
           rng: np.random.Generator, sample_rate: int = SAMPLE_RATE,
           level_dbfs: float = -28.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Synthesise the dry speech of a plan.

    Parameters
    ----------
    plan : UtterancePlan
    params : VoiceParams
    speaker : Speaker
        Supplies the per-vowel formant idiosyncrasy.
    rng : numpy.random.Generator
        Source of jitter, shimmer, noise and drift.
    level_dbfs : float
        Nominal level; the voiced speech's RMS is set to ``level_dbfs + params.loudness_db``.

    Returns
    -------
    audio : numpy.ndarray, shape (n_samples,), float64
    tracks : dict
        ``"f0"`` (Hz, 0 where unvoiced) and ``"f0_times"`` (s), shape (n_frames,) each, on the
        5 ms control grid; ``"formants"`` shape (n_frames, 4).
    """
    hop = max(int(round(FRAME_S * sample_rate)), 12)
    n = int(round(plan.duration * sample_rate))
    n_frames = -(-n // hop)
    frame_t = (np.arange(n_frames) + 0.5) * hop / sample_rate
    # --- per-frame targets -----------------------------------------------------------
    formants = np.zeros((n_frames, 4))
    bws = np.zeros((n_frames, 4))
    av = np.zeros(n_frames)  # voicing amplitude
    ah = np.zeros(n_frames)  # aspiration (through the tract) amplitude
    noise_events: list[tuple[str, int, int, float, bool]] = []  # (phone, s0, s1, amp, burst)
    segs = plan.segments
    next_vowel: list[str | None] = [None] * len(segs)
    upcoming = None
    for i in range(len(segs) - 1, -1, -1):
        next_vowel[i] = upcoming
        if segs[i].phone in VOWELS:
            upcoming = segs[i].phone
    prev_f: tuple | None = None
    for i, seg in enumerate(segs):
        f0i, f1i = _frames(seg.start, hop, sample_rate), _frames(seg.end, hop, sample_rate)
        f1i = max(f1i, f0i + 1)
        base, _, part = seg.phone.partition(":")
        if base == "#":
            target, bw = prev_f, _VOWEL_BW
            if target is None:
                nv = next_vowel[i]
                target = VOWELS[nv] if nv else VOWELS["e"]
        elif base in VOWELS:
            w1, w2 = speaker.vowel_warp[_VOWEL_INDEX[base]] if speaker.vowel_warp else (1, 1)
            v = VOWELS[base]
            target, bw = (v[0] * w1, v[1] * w2, v[2], v[3]), _VOWEL_BW
            amp = 1.0 if seg.stressed else 0.8
            av[f0i:f1i] = amp
        else:
            c = CONSONANTS[base]
            nv = next_vowel[i] or "e"
            target = c.formants if c.formants is not None else VOWELS[nv]
            bw = c.bandwidths
            s0, s1 = int(seg.start * sample_rate), int(seg.end * sample_rate)
            if part == "burst":
                noise_events.append((base, s0, s1, c.noise_amp, True))
            elif part == "asp":
                target = VOWELS[nv]
                ah[f0i:f1i] = 0.25
            elif c.kind == "fricative":
                noise_events.append((base, s0, s1, c.noise_amp, False))
            elif c.kind == "aspirate":
                ah[f0i:f1i] = c.noise_amp
            if c.voicing:
                av[f0i:f1i] = c.voicing
        formants[f0i:f1i] = target
        bws[f0i:f1i] = bw
        prev_f = target
    formants = _smooth(formants, 7)  # ~35 ms coarticulation
    bws = _smooth(bws, 3)
    formants *= params.formant_scale
    formants[:, 0] *= params.f1_scale
    bws[:, 0] *= 1.0 + 0.8 * params.breathiness  # glottal losses widen B1 in breathy voice
    av = _smooth(av, 3)
    ah = _smooth(ah, 2)
    # --- F0 and the glottal source -----------------------------------------------------
    f0_frames = f0_contour(plan, params, rng, frame_times=frame_t)
    samples = np.arange(n)
    centers = (np.arange(n_frames) + 0.5) * hop
    f0_s = np.interp(samples, centers, f0_frames)
    av_s = np.interp(samples, centers, av)
    dflow, open_phase = glottal_source(f0_s, open_quotient=params.open_quotient,
                                       jitter=params.jitter, shimmer=params.shimmer, rng=rng,
                                       sample_rate=sample_rate)
    a = _tilt_pole(params.tilt_db, sample_rate)
    voiced = _scipy_signal().lfilter([1.0 - a], [1.0, -a], dflow) * av_s
    if (av_s > 0.5).any():  # unit RMS where voiced, so breathiness is a noise-to-voice ratio
        voiced /= np.sqrt(np.mean(voiced[av_s > 0.5] ** 2)) + 1e-9
    noise = rng.standard_normal(n)
    breath = 0.6 * params.breathiness * (0.35 + 0.65 * open_phase) * av_s
    excitation = voiced + noise * (breath + 1.5 * np.interp(samples, centers, ah))
    # --- vocal tract ---------------------------------------------------------------------
    f5 = np.full((n_frames, 1), min(_F5_MALE * params.formant_scale, 0.46 * sample_rate))
    freqs = np.concatenate([formants, f5], axis=1)
    freqs = np.minimum(freqs, 0.46 * sample_rate)
    bands = np.concatenate([bws, np.full((n_frames, 1), 300.0)], axis=1)
    speech = formant_cascade(excitation, freqs, bands, hop=hop, sample_rate=sample_rate)
    voiced_mask = av_s > 0.5
    ref = np.sqrt(np.mean(speech[voiced_mask] ** 2)) if voiced_mask.any() else 1.0
    # --- frication and bursts (parallel branch) ----------------------------------------
    if noise_events:
        fric = np.zeros(n)
        by_phone: dict[str, list[tuple[int, int, float, bool]]] = {}
        for ph, s0, s1, amp, burst in noise_events:
            by_phone.setdefault(ph, []).append((s0, s1, amp, burst))
        fnoise = rng.standard_normal(n)
        for ph, events in by_phone.items():
            c = CONSONANTS[ph]
            env = np.zeros(n)
            lo, hi = n, 0
            for s0, s1, amp, burst in events:
                s1 = min(s1, n)
                m = s1 - s0
                if m <= 0:
                    continue
                if burst:
                    shape = np.exp(-np.arange(m) / max(m / 3.0, 1.0))
                else:
                    ramp = min(int(0.02 * sample_rate), m // 2)
                    shape = np.ones(m)
                    if ramp > 0:
                        w = 0.5 * (1.0 - np.cos(np.pi * np.arange(ramp) / ramp))
                        shape[:ramp], shape[m - ramp:] = w, w[::-1]
                env[s0:s1] = amp * shape
                lo, hi = min(lo, s0), max(hi, s1)
            if hi <= lo:
                continue
            b, a_ = _resonator(c.noise_hz * params.formant_scale ** 0.5, c.noise_bw, sample_rate)
            # two resonators in cascade: a 4th-order band-pass with steeper skirts
            lfilter = _scipy_signal().lfilter
            shaped = lfilter(b, a_, lfilter(b, a_, fnoise[lo:hi]))
            fric[lo:hi] += shaped * env[lo:hi]
        speech = speech + 3.0 * ref * fric
    # --- level ---------------------------------------------------------------------------
    target = 10.0 ** ((level_dbfs + params.loudness_db) / 20.0)
    speech *= target / (ref + 1e-12)
    f0_out = np.where(av > 0.5, f0_frames, 0.0)
    return speech, {"f0": f0_out, "f0_times": frame_t, "formants": formants}


# ============================================================================= public knob box
def _check_choice(value: str, allowed, arg: str) -> None:
    if value not in allowed:
        raise ValueError(f"{arg} must be one of {list(allowed)}, got {value!r}")


def _check_range(value: float, lo: float, hi: float, arg: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{arg} must be a number in [{lo}, {hi}], got {value!r}") from None
    if not (lo <= value <= hi):
        raise ValueError(f"{arg} must lie in [{lo}, {hi}], got {value}")
    return value


def synthesize_voice(*, emotion: str = "neutral", intensity: float = 1.0,
                     gender: str = "female", speaker_seed: int = 0, f0_scale: float = 1.0,
                     f0_range_scale: float = 1.0, rate_scale: float = 1.0,
                     loudness_db: float = 0.0, breathiness: float | None = None,
                     duration_s: float = 2.0, seed: int = 0,
                     sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, dict[str, Any]]:
    """Say one pseudo-sentence with explicit control of the voice (for teaching and widgets).

    The speaker is drawn from ``speaker_seed`` and ``gender`` with expressiveness 1 and no
    per-emotion style, so ``intensity`` maps directly onto the prototype of
    :data:`EMOTION_PROTOTYPES`. Recording is clean (no noise, colouring or room).

    Parameters
    ----------
    emotion : str
        One of :data:`~sertutor.data.manifest.EMOTIONS_EXTENDED`.
    intensity : float
        Emotion intensity in [0, 1] (0: the speaker's neutral voice).
    gender : {"female", "male"}
    speaker_seed : int
        Which speaker of that gender.
    f0_scale, f0_range_scale, rate_scale : float
        Factors (> 0) on the resulting F0 level, pitch-accent size and speaking rate.
    loudness_db : float
        Level offset in dB (the neutral voice is at -28 dBFS).
    breathiness : float or None
        Aspiration level in [0, 1] replacing the speaker's and emotion's (None: keep).
    duration_s : float
        Length of the utterance in seconds (0.3-30).
    seed : int
        Seed of the words said and of the cycle-to-cycle randomness.
    sample_rate : int
        Output rate in Hz (8000-48000).

    Returns
    -------
    audio : numpy.ndarray, shape (round(duration_s * sample_rate),), float32 in [-1, 1]
    info : dict
        ``"f0"`` (Hz per 5 ms frame, 0 where unvoiced), ``"f0_times"`` (s), ``"text"``,
        ``"segments"`` (list of (phone, start_s, end_s)), ``"speaker"`` (dict),
        ``"params"`` (the effective :class:`VoiceParams` as a dict), ``"emotion"``,
        ``"intensity"``, ``"sample_rate"``.

    Examples
    --------
    >>> audio, info = synthesize_voice(emotion="angry", gender="male", duration_s=1.0)
    >>> audio.shape, audio.dtype, info["text"] != ""
    ((16000,), dtype('float32'), True)
    """
    _check_choice(emotion, EMOTIONS_EXTENDED, "emotion")
    _check_choice(gender, GENDERS, "gender")
    intensity = _check_range(intensity, 0.0, 1.0, "intensity")
    for name, value in (("f0_scale", f0_scale), ("f0_range_scale", f0_range_scale),
                        ("rate_scale", rate_scale)):
        _check_range(value, 0.25, 4.0, name)
    loudness_db = _check_range(loudness_db, -40.0, 20.0, "loudness_db")
    if breathiness is not None:
        breathiness = _check_range(breathiness, 0.0, 1.0, "breathiness")
    duration_s = _check_range(duration_s, 0.3, 30.0, "duration_s")
    if not isinstance(sample_rate, (int, np.integer)) or not 8000 <= sample_rate <= 48000:
        raise ValueError(f"sample_rate must be an integer in [8000, 48000], got {sample_rate!r}")
    for name, value in (("speaker_seed", speaker_seed), ("seed", seed)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    g_index = GENDERS.index(gender)
    spk = make_speaker(np.random.default_rng([int(speaker_seed), g_index, 7]),
                       speaker_id=f"voice_{gender[0]}{speaker_seed}", gender=gender,
                       expressiveness=(1.0, 1.0), style_sd=0.0)
    params = voice_params(spk, emotion, intensity)
    params = replace(params, f0_hz=params.f0_hz * f0_scale,
                     f0_range_st=params.f0_range_st * f0_range_scale,
                     rate=params.rate * rate_scale, loudness_db=params.loudness_db + loudness_db,
                     breathiness=params.breathiness if breathiness is None else breathiness)
    meta_rng, audio_rng = (np.random.default_rng(s)
                           for s in np.random.SeedSequence([int(seed), 11]).spawn(2))
    plan = plan_utterance(params, duration_s=duration_s, rng=meta_rng)
    dry, tracks = render(plan, params, spk, rng=audio_rng, sample_rate=sample_rate,
                         level_dbfs=CLEAN.level_dbfs)
    audio = record(dry, CLEAN, audio_rng, sample_rate=sample_rate).astype(np.float32)
    info = {
        "f0": tracks["f0"],
        "f0_times": tracks["f0_times"],
        "text": plan.text,
        "segments": [(s.phone, s.start, s.end) for s in plan.segments],
        "speaker": asdict(spk),
        "params": asdict(params),
        "emotion": emotion,
        "intensity": intensity,
        "sample_rate": int(sample_rate),
    }
    return audio, info
