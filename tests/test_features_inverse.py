"""Tests of the way back from features to sound: NormStats.invert and log_mel_to_audio."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from sertutor.config import FeatureConfig
from sertutor.data.voice import synthesize_voice
from sertutor.features import LogMelToAudio, NormStats, log_mel, log_mel_to_audio

CFG = FeatureConfig()  # the classroom front end: 16 kHz, 64 mel bands, 10 ms hop


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    audio, _ = synthesize_voice(emotion="happy", gender="female", duration_s=1.0, seed=3)
    return audio  # (16000,)


def _db(waveform, cfg=CFG) -> torch.Tensor:
    feats, _ = log_mel(torch.as_tensor(waveform), config=cfg)  # (B, 1, n_mels, T)
    return feats[:, 0]  # (B, n_mels, T)


def _mel_errors(ref_db: torch.Tensor, est_db: torch.Tensor):
    """Spectral convergence of mel magnitudes and mean |dB error| over the louder bins.

    Magnitude is ``10 ** (dB / 20)`` both for dB of power and for dB of magnitude.
    """
    T = min(ref_db.shape[-1], est_db.shape[-1])
    ref_db, est_db = ref_db[..., :T], est_db[..., :T]
    ref, est = torch.pow(10.0, ref_db / 20.0), torch.pow(10.0, est_db / 20.0)
    sc = float(torch.linalg.norm(ref - est) / torch.linalg.norm(ref))
    loud = ref_db > ref_db.amax() - 40.0  # where there is speech energy
    return sc, float((ref_db - est_db).abs()[loud].mean())


def test_round_trip_reproduces_the_log_mel(voice):
    ref = _db(voice)  # (1, 64, 101)
    audio = log_mel_to_audio(ref, config=CFG, length=len(voice))  # (1, 16000)
    assert audio.shape == (1, len(voice)) and audio.dtype == torch.float32
    sc, db_err = _mel_errors(ref, _db(audio))
    assert sc < 0.2, sc  # measured ~0.10 with n_iter=32
    assert db_err < 3.0, db_err  # measured ~1.3 dB
    # the output is speech-like in level, not a rescaled or silent signal
    rms_in, rms_out = np.sqrt(np.mean(voice ** 2)), float(audio.pow(2).mean().sqrt())
    assert 0.5 < rms_out / rms_in < 2.0
    # more iterations do not make it worse than a few
    sc_few, _ = _mel_errors(ref, _db(log_mel_to_audio(ref, config=CFG, n_iter=2)))
    assert sc <= sc_few + 1e-3


def test_wrong_filterbank_would_be_caught(voice):
    """The round-trip check above discriminates: inverting with another mel range fails it."""
    ref = _db(voice)
    other = FeatureConfig(f_min=300.0, f_max=4000.0)  # same n_mels, other band edges
    sc, _ = _mel_errors(ref, _db(log_mel_to_audio(ref, config=other)))
    assert sc > 0.3, sc


def test_magnitude_spectrogram_round_trip(voice):
    cfg = FeatureConfig(power=1.0, top_db=60.0, n_mels=40)
    ref = _db(voice, cfg)  # dB of mel magnitude
    sc, db_err = _mel_errors(ref, _db(log_mel_to_audio(ref, config=cfg), cfg))
    assert sc < 0.2 and db_err < 3.0, (sc, db_err)


def test_a_tone_keeps_its_pitch():
    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    audio = log_mel_to_audio(_db(tone)[0], config=CFG).numpy()  # (N,)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak_hz = np.argmax(spectrum) * 16000 / len(audio)
    assert abs(peak_hz - 440.0) < 40.0, peak_hz  # within about one mel band


def test_shapes_batching_numpy_and_determinism(voice):
    ref = _db(np.stack([voice, voice[::-1].copy()]))  # (2, 64, 101)
    batch = log_mel_to_audio(ref, config=CFG)
    assert batch.shape == (2, 100 * CFG.hop_length)  # (T - 1) * hop samples
    single = log_mel_to_audio(ref[1], config=CFG)  # (n_mels, T) -> (N,)
    assert single.shape == (100 * CFG.hop_length,)
    torch.testing.assert_close(batch[1], single, atol=1e-4, rtol=1e-4)
    from_numpy = log_mel_to_audio(ref[1].numpy(), config=CFG)
    torch.testing.assert_close(from_numpy, single)  # zero-phase start: deterministic
    assert not torch.allclose(batch[0], batch[1])
    module = LogMelToAudio(CFG, n_iter=32)
    torch.testing.assert_close(module(ref[1]), single)


@pytest.mark.parametrize("cfg", [CFG, FeatureConfig(power=1.0, n_mels=40, f_min=50.0)])
def test_equals_torchaudio_inverse_mel_scale_and_griffin_lim(voice, cfg):
    """The function computes what torchaudio's two transforms compute, to the last bit."""
    import torchaudio.transforms as AT

    ref = _db(voice, cfg)  # (1, n_mels, T)
    inverse_mel = AT.InverseMelScale(n_stft=cfg.n_fft // 2 + 1, n_mels=cfg.n_mels,
                                     sample_rate=cfg.sample_rate, f_min=cfg.f_min,
                                     f_max=cfg.f_max, norm="slaney", mel_scale="slaney")
    griffin_lim = AT.GriffinLim(n_fft=cfg.n_fft, n_iter=8, win_length=cfg.win_length,
                                hop_length=cfg.hop_length, power=cfg.power, momentum=0.9,
                                rand_init=False)
    mel = torch.pow(10.0, ref / (10.0 if cfg.power == 2.0 else 20.0))  # dB -> mel power
    expected = griffin_lim(inverse_mel(mel))  # (1, N)
    ours = log_mel_to_audio(ref, config=cfg, n_iter=8, momentum=0.9)
    assert torch.equal(ours, expected)


@pytest.mark.parametrize("bad, kwargs, match", [
    (torch.zeros(40, 50), {}, "n_mels=64"),
    (torch.zeros(1, 1, 64, 50), {}, "log_mel must have shape"),
    (torch.zeros(64, 50, dtype=torch.long), {}, "log_mel must be floating"),
    ([[0.0] * 50] * 64, {}, "log_mel must be a numpy array or tensor"),
    (torch.full((64, 50), float("nan")), {}, "log_mel contains NaN"),
    (torch.zeros(64, 1), {}, "at least 2"),
    (torch.zeros(64, 50), {"n_iter": 0}, "n_iter"),
    (torch.zeros(64, 50), {"momentum": 1.0}, "momentum"),
    (torch.zeros(64, 50), {"length": -5}, "length"),
])
def test_bad_input_names_the_argument(bad, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        log_mel_to_audio(bad, config=CFG, **kwargs)


def test_latency_of_a_classroom_segment():
    """The prior sampler inverts one 96-frame segment per slider move: far below 1 s."""
    seg = torch.randn(64, 96) * 10 - 40  # (n_mels, frames) in dB
    log_mel_to_audio(seg, config=CFG)  # build and cache the module
    t0 = time.perf_counter()
    log_mel_to_audio(seg, config=CFG)
    assert time.perf_counter() - t0 < 0.5  # measured ~20 ms on one CPU core


def test_norm_stats_invert_undoes_apply(rng):
    feats = [rng.normal(-40, 12, size=(1, 16, int(n))).astype(np.float32) for n in (30, 55)]
    feats[0][0, 3] = -80.0  # a constant band: std below MIN_STD is floored in both directions
    stats = NormStats.fit(feats)
    x = feats[1]  # (C, n_mels, T)
    np.testing.assert_allclose(stats.invert(stats.apply(x)), x, atol=1e-3)
    assert stats.invert(stats.apply(x)).dtype == np.float32
    batch = torch.from_numpy(np.stack([x, x]))  # (B, C, n_mels, T)
    back = stats.invert(stats.apply(batch))
    assert isinstance(back, torch.Tensor) and back.shape == batch.shape
    torch.testing.assert_close(back, batch, atol=1e-3, rtol=1e-5)
    # invert is not the identity: zeros (the corpus mean) map back to the mean
    np.testing.assert_allclose(stats.invert(np.zeros_like(x))[..., 0], stats.mean, atol=1e-5)
    with pytest.raises(ValueError, match=r"x has shape .* \(C, n_mels\) = \(1, 16\)"):
        stats.invert(np.zeros((1, 20, 5), np.float32))
    with pytest.raises(ValueError, match="x must have shape"):
        stats.invert(np.zeros((16, 5), np.float32))
