"""Tests of sertutor.features: log-mel (torchaudio and librosa), deltas, normalisation, segments."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sertutor.config import FeatureConfig
from sertutor.features import (LogMel, NormStats, deltas, log_mel, log_mel_librosa, n_frames,
                               segment)

SR = 16000


def _signal(n: int, seed: int = 0, silence: bool = False) -> np.ndarray:
    """A vowel-like test signal: harmonics on a gliding F0, an amplitude envelope, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 120 + 60 * t / max(t[-1], 1e-3) + 10 * seed
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 12))
    y = 0.3 * y * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
    if silence:
        y[n // 3: n // 2] = 0.0  # a digital-silence gap: exercises the amin / top_db floor
    return y.astype(np.float32)


@pytest.mark.parametrize("cfg", [
    FeatureConfig(),
    FeatureConfig(n_mels=32, top_db=None, f_min=50.0, f_max=7000.0),
    FeatureConfig(power=1.0, top_db=60.0),
])
def test_librosa_matches_torchaudio(cfg):
    for seed, n in ((0, 16000), (1, 12345)):
        y = _signal(n, seed=seed, silence=seed == 1)
        ref = log_mel_librosa(y, config=cfg)  # (n_mels, T)
        feats, valid = log_mel(torch.from_numpy(y), config=cfg)  # (1, 1, n_mels, T)
        assert ref.shape == (cfg.n_mels, 1 + n // cfg.hop_length)
        assert feats.shape == (1, 1) + ref.shape and valid.tolist() == [ref.shape[1]]
        assert np.abs(feats[0, 0].numpy() - ref).max() <= 1e-3


def test_batched_equals_unbatched_and_padding_is_ignored():
    cfg = FeatureConfig(deltas=True, top_db=60.0)
    lengths = [16000, 7001, 4321]
    waves = [_signal(n, seed=i) for i, n in enumerate(lengths)]
    # the loudest utterance first: a batch-wide top_db would clip the quiet ones differently
    waves[2] *= 0.01
    batch = torch.randn(3, max(lengths)) * 5.0  # garbage after each utterance must not matter
    for b, w in enumerate(waves):
        batch[b, :len(w)] = torch.from_numpy(w)
    feats, valid = log_mel(batch, config=cfg, lengths=torch.tensor(lengths))
    assert feats.shape == (3, 3, cfg.n_mels, 1 + max(lengths) // 160)
    assert valid.tolist() == [1 + n // 160 for n in lengths]
    for b, w in enumerate(waves):
        alone, v = log_mel(torch.from_numpy(w), config=cfg)
        assert int(v) == int(valid[b]) == alone.shape[-1]
        torch.testing.assert_close(feats[b, :, :, :int(v)], alone[0], atol=1e-5, rtol=0)
        # padding frames repeat the last valid static frame
        assert torch.equal(feats[b, 0, :, -1], feats[b, 0, :, int(v) - 1])


def test_shapes_frame_counts_and_numpy_input():
    cfg = FeatureConfig(n_mels=32)
    y = _signal(8000)
    feats, valid = log_mel(y, config=cfg)  # numpy (N,) works as one utterance
    assert feats.shape == (1, 1, 32, 51) and feats.dtype == torch.float32
    assert valid.dtype == torch.long and valid.tolist() == [51]
    assert n_frames(8000, config=cfg) == 51 and n_frames(159, config=cfg) == 1
    assert n_frames(np.array([160, 319, 320]), config=cfg).tolist() == [2, 2, 3]
    top = feats.max()
    assert feats.min() >= top - cfg.top_db - 1e-4  # per-utterance dynamic range clip


def test_deltas_channels():
    y = torch.from_numpy(_signal(9000))
    static, _ = log_mel(y, config=FeatureConfig())
    full, _ = log_mel(y, config=FeatureConfig(deltas=True))
    assert full.shape == (1, 3) + static.shape[2:]
    torch.testing.assert_close(full[:, 0], static[:, 0])
    import torchaudio.functional as AF

    d1 = AF.compute_deltas(static[:, 0])
    torch.testing.assert_close(full[:, 1], d1)
    torch.testing.assert_close(full[:, 2], AF.compute_deltas(d1))
    assert deltas(static[0, 0]).shape == (3,) + static.shape[2:]


def test_logmel_module_matches_function():
    cfg = FeatureConfig(n_mels=40)
    module = LogMel(cfg).to("cpu")
    assert module.fb.shape == (40, 257) and module.window.shape == (400,)  # buffers
    y = torch.from_numpy(_signal(5000)).unsqueeze(0)
    a, _ = module(y)
    b, _ = log_mel(y, config=cfg)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cfg", [FeatureConfig(), FeatureConfig(power=1.0, n_mels=40)])
def test_equals_torchaudio_melspectrogram_and_amplitude_to_db(cfg):
    import torchaudio.transforms as AT

    mel = AT.MelSpectrogram(sample_rate=SR, n_fft=cfg.n_fft, win_length=cfg.win_length,
                            hop_length=cfg.hop_length, f_min=cfg.f_min, f_max=cfg.f_max,
                            n_mels=cfg.n_mels, power=cfg.power, center=True,
                            pad_mode="constant", norm="slaney", mel_scale="slaney")
    to_db = AT.AmplitudeToDB("power" if cfg.power == 2.0 else "magnitude", top_db=cfg.top_db)
    for seed in (0, 1):
        y = torch.from_numpy(_signal(7777, seed=seed, silence=True))
        ref = to_db(mel(y))  # (n_mels, T); one utterance, so torchaudio's clip is per utterance
        ours, _ = log_mel(y, config=cfg)
        torch.testing.assert_close(ours[0, 0], ref, atol=1e-3, rtol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    cfg = FeatureConfig(deltas=True)
    lengths = torch.tensor([16000, 9000])
    x = torch.zeros(2, 16000)
    x[0] = torch.from_numpy(_signal(16000))
    x[1, :9000] = torch.from_numpy(_signal(9000, seed=1))
    cpu, vc = log_mel(x, config=cfg, lengths=lengths)
    gpu, vg = log_mel(x.cuda(), config=cfg, lengths=lengths.cuda())
    assert gpu.is_cuda and vg.is_cuda
    assert torch.equal(vc, vg.cpu())
    torch.testing.assert_close(gpu.cpu(), cpu, atol=5e-3, rtol=0)


def test_normstats_standardises_and_round_trips():
    rng = np.random.default_rng(0)
    feats = [(rng.standard_normal((3, 8, t)) * 4 + np.arange(8)[None, :, None] - 30)
             .astype(np.float32) for t in (17, 50, 33)]
    feats[0][:, 5] = -80.0  # a constant band in one utterance only is fine
    stats = NormStats.fit(feats)
    assert stats.mean.shape == stats.std.shape == (3, 8) and stats.n_frames == 100
    assert stats.mean.dtype == np.float32
    normed = np.concatenate([stats.apply(f) for f in feats], axis=-1)  # (3, 8, 100)
    np.testing.assert_allclose(normed.mean(axis=-1), 0.0, atol=1e-4)
    np.testing.assert_allclose(normed.std(axis=-1), 1.0, atol=1e-4)
    t = stats.apply(torch.from_numpy(feats[1]).unsqueeze(0))  # tensors, batched (1, 3, 8, T)
    np.testing.assert_allclose(t[0].numpy(), stats.apply(feats[1]), atol=1e-5)
    again = NormStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    np.testing.assert_array_equal(again.mean, stats.mean)
    assert again.n_frames == stats.n_frames
    constant = NormStats.fit([np.zeros((1, 4, 10), np.float32)])
    assert np.all(np.isfinite(constant.apply(np.ones((1, 4, 3), np.float32))))


@pytest.mark.parametrize("T", [1, 40, 96, 97, 144, 145, 300])
def test_segment_shapes_masks_and_coverage(T):
    frames, hop = 96, 48
    x = np.random.default_rng(T).standard_normal((2, 5, T)).astype(np.float32)
    segs, mask = segment(x, frames=frames, hop=hop)
    S = segs.shape[0]
    assert segs.shape == (S, 2, 5, frames) and mask.shape == (S, frames) and mask.dtype == bool
    assert S == 1 + int(np.ceil(max(T - frames, 0) / hop))
    assert np.all(segs[~mask[:, None, None, :].repeat(2, 1).repeat(5, 2)] == 0.0)
    covered = np.zeros(T, dtype=bool)
    for s in range(S):
        n = int(mask[s].sum())
        assert n >= 1 and mask[s, :n].all()  # valid frames come first
        np.testing.assert_array_equal(segs[s, :, :, :n], x[:, :, s * hop:s * hop + n])
        covered[s * hop:s * hop + n] = True
    assert covered.all()
    tsegs, tmask = segment(torch.from_numpy(x), frames=frames, hop=hop)
    assert isinstance(tsegs, torch.Tensor) and tmask.dtype == torch.bool
    np.testing.assert_array_equal(tsegs.numpy(), segs)
    np.testing.assert_array_equal(tmask.numpy(), mask)


def test_bad_inputs_raise_clear_errors():
    cfg = FeatureConfig()
    with pytest.raises(ValueError, match=r"waveforms.*\(B, N\)"):
        log_mel(torch.zeros(1, 2, 400), config=cfg)
    with pytest.raises(ValueError, match="floating point"):
        log_mel(torch.zeros(2, 400, dtype=torch.int16), config=cfg)
    with pytest.raises(ValueError, match="NaN"):
        log_mel(torch.full((400,), float("nan")), config=cfg)
    with pytest.raises(ValueError, match=r"lengths.*\(2,\)"):
        log_mel(torch.zeros(2, 400), config=cfg, lengths=torch.tensor([400]))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 400\]"):
        log_mel(torch.zeros(2, 400), config=cfg, lengths=torch.tensor([400, 401]))
    with pytest.raises(TypeError, match="FeatureConfig"):
        log_mel(torch.zeros(400), config={"n_mels": 64})
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        log_mel_librosa(np.zeros((2, 400), np.float32), config=cfg)
    with pytest.raises(ValueError, match=r"features must have shape \(C, n_mels, T\)"):
        segment(np.zeros((5, 10), np.float32), frames=4, hop=2)
    with pytest.raises(ValueError, match="hop"):
        segment(np.zeros((1, 5, 10), np.float32), frames=4, hop=5)
    with pytest.raises(ValueError, match=r"\(C, n_mels\) = \(1, 4\)"):
        NormStats.fit([np.zeros((1, 4, 3), np.float32)]).apply(np.zeros((1, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"features\[1\]"):
        NormStats.fit([np.zeros((1, 4, 3), np.float32), np.zeros((1, 5, 3), np.float32)])
