"""Prosodic descriptors (sertutor.features.prosody), their corpus cache (sertutor.data.prosody)
and the decoder that rebuilds them (model.decoder_prosody)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sertutor import losses
from sertutor.audio import AudioError
from sertutor.config import get_config
from sertutor.data import prosody as data_prosody
from sertutor.features import prosody as features_prosody
from sertutor.data.extract import FeatureSet
from sertutor.features import PROSODY_NAMES, prosody_descriptors, standardise_by_speaker
from sertutor.pipeline import build_model, prepare_data
from sertutor.train import Trainer

SR = 16000
COL = {name: i for i, name in enumerate(PROSODY_NAMES)}


@pytest.fixture(autouse=True)
def _one_process(monkeypatch):
    """Compute descriptors in this process (as a one-thread sweep does), so the stand-ins the
    tests put in place of pYIN are the ones called; worker processes would import the real
    one. The test of the workers asks for them explicitly."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _voice(f0: float, amplitude: float, *, seconds: float = 1.5, rng=None) -> np.ndarray:
    """A pulse-like tone (square wave) at ``f0`` Hz, then 0.5 s of near silence."""
    t = np.arange(int((seconds + 0.5) * SR)) / SR
    y = amplitude * np.sign(np.sin(2 * np.pi * f0 * t)) * (t < seconds)
    rng = rng or np.random.default_rng(0)
    return (y + 1e-3 * rng.standard_normal(len(t))).astype(np.float32)


def test_descriptors_read_pitch_level_and_silence():
    low, high = prosody_descriptors(_voice(150, 0.3)), prosody_descriptors(_voice(200, 0.6))
    assert low.shape == (len(PROSODY_NAMES),) and low.dtype == np.float32
    # semitones re 100 Hz: 12 log2(1.5) = 7.02, 12 log2(2) = 12
    assert low[COL["f0_mean"]] == pytest.approx(7.02, abs=0.15)
    assert high[COL["f0_mean"]] == pytest.approx(12.0, abs=0.15)
    assert low[COL["f0_std"]] < 0.3 and low[COL["voiced_share"]] > 0.9
    # twice the amplitude is 6 dB louder; 1.5 s of 2 s is speech
    assert high[COL["loud_mean"]] - low[COL["loud_mean"]] == pytest.approx(6.02, abs=0.3)
    assert low[COL["speech_share"]] == pytest.approx(0.75, abs=0.03)
    noise = prosody_descriptors(np.random.default_rng(1).standard_normal(SR).astype(np.float32))
    assert np.isnan(noise[COL["f0_mean"]])  # no voiced frame: no pitch
    assert np.isfinite(noise[COL["loud_mean"]])


def test_descriptors_reject_bad_input():
    with pytest.raises(AudioError, match="mono waveform"):
        prosody_descriptors(np.zeros((2, SR), np.float32))
    with pytest.raises(AudioError):
        prosody_descriptors(np.full(SR, np.nan, np.float32))
    with pytest.raises(ValueError, match="sample_rate must be at least 10000"):
        prosody_descriptors(_voice(150, 0.3), sample_rate=8000)


def test_standardise_by_speaker():
    values = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, np.nan], [20.0, 2.0], [7.0, 1.0]])
    out = standardise_by_speaker(values, ["a", "a", "b", "b", "c"])
    np.testing.assert_allclose(out[:2], [[-1, 0], [1, 0]])  # a constant column gives 0
    np.testing.assert_allclose(out[2:4, 0], [-1, 1])
    assert np.isnan(out[2, 1]) and out[3, 1] == 0  # NaN stays; one defined value gives 0
    np.testing.assert_allclose(out[4], [0, 0])  # one row: 0
    with pytest.raises(ValueError, match="one speaker per row"):
        standardise_by_speaker(values, ["a"])


def test_prosody_loss_counts_only_defined_descriptors():
    pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, float("nan")], [2.0, float("nan")]])
    assert losses.prosody_loss(pred, target).item() == pytest.approx((1 + 4) / 2)
    assert losses.prosody_loss(pred, torch.full((2, 2), float("nan"))).item() == 0
    with pytest.raises(ValueError, match=r"shape \(B, P\)"):
        losses.prosody_loss(pred, target[:1])


def _feature_set(audio: list[np.ndarray]) -> FeatureSet:
    cfg = get_config("tiny").features
    n = len(audio)
    manifest = pd.DataFrame({
        "utt_id": [f"u{i}" for i in range(n)], "path": [""] * n, "audio": audio,
        "corpus": ["toy"] * n, "speaker": ["s0"] * n, "gender": ["f"] * n,
        "emotion": ["neutral"] * n})
    feats = [np.zeros((cfg.n_channels, cfg.n_mels, 10), np.float32) for _ in range(n)]
    return FeatureSet(manifest=manifest, features=feats, config=cfg)


def test_corpus_prosody_is_cached_and_skips_unreadable_rows(tmp_path, monkeypatch):
    bad = _voice(150, 0.3)
    bad[100] = np.nan
    fs = _feature_set([_voice(150, 0.3), bad, _voice(200, 0.6)])
    with pytest.warns(UserWarning, match="1 of 3 utterances unreadable"):
        values = data_prosody.corpus_prosody(fs, cache_dir=tmp_path)
    assert values.shape == (3, len(PROSODY_NAMES))
    assert np.isnan(values[1]).all() and np.isfinite(values[[0, 2], COL["f0_mean"]]).all()
    assert len(list(tmp_path.glob("prosody-toy-*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("computed again instead of read from the cache")

    monkeypatch.setattr(features_prosody, "prosody_descriptors", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(data_prosody.corpus_prosody(fs, cache_dir=tmp_path),
                                      values)
    # other audio: another key, computed anew (and a damaged file is rebuilt, not fatal)
    with pytest.raises(AssertionError, match="computed again"):
        data_prosody.corpus_prosody(_feature_set([_voice(120, 0.3)]), cache_dir=tmp_path)
    next(tmp_path.glob("prosody-toy-*.npz")).write_bytes(b"not a zip file")
    with pytest.raises(AssertionError, match="computed again"):
        data_prosody.corpus_prosody(fs, cache_dir=tmp_path)


def test_worker_processes_give_the_same_descriptors_in_the_same_order(tmp_path):
    """Two spawned workers (what Binder's two cores get) return each row's own descriptors,
    and an unreadable row is still reported, not fatal."""
    bad = _voice(150, 0.3)
    bad[10] = np.inf
    audio = [_voice(f0, 0.4, seconds=0.8) for f0 in (110, 160, 220)] + [bad] \
        + [_voice(f0, 0.4, seconds=0.8) for f0 in (130, 260)]
    fs = _feature_set(audio)
    with pytest.warns(UserWarning, match="1 of 6 utterances unreadable"):
        serial = data_prosody.corpus_prosody(fs, cache_dir=tmp_path / "one", workers=1)
    with pytest.warns(UserWarning, match="1 of 6 utterances unreadable"):
        parallel = data_prosody.corpus_prosody(fs, cache_dir=tmp_path / "two", workers=2)
    np.testing.assert_array_equal(parallel, serial)
    assert np.isnan(parallel[3]).all()
    f0 = parallel[[0, 1, 2, 4, 5], COL["f0_mean"]]
    assert list(np.argsort(f0)) == [0, 3, 1, 2, 4]  # 110 < 130 < 160 < 220 < 260 Hz


def test_a_failing_worker_pool_is_reported_and_the_rest_computed_here(tmp_path, monkeypatch):
    """A worker killed half-way (Binder's memory limit) costs a warning, not the corpus: the
    chunks it did not return are computed in this process, in order."""
    from concurrent.futures.process import BrokenProcessPool

    class Pool:  # returns the first chunk, then dies as a killed worker does
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, chunks):
            yield fn(chunks[0])
            raise BrokenProcessPool("a child process terminated abruptly")

    monkeypatch.setattr(data_prosody, "CHUNK", 2)
    audio = [_voice(f0, 0.4, seconds=0.8) for f0 in (110, 160, 220, 130, 260)]
    fs = _feature_set(audio)
    expected = data_prosody.corpus_prosody(fs, cache_dir=tmp_path / "one", workers=1)
    monkeypatch.setattr(data_prosody, "ProcessPoolExecutor", Pool)
    with pytest.warns(UserWarning, match="worker processes failed.*remaining 3 utterances"):
        got = data_prosody.corpus_prosody(fs, cache_dir=tmp_path / "two", workers=2)
    np.testing.assert_array_equal(got, expected)


def _level(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """A cheap stand-in for pYIN in training tests: the utterance's level in dB in every
    column but the last, which is undefined (NaN)."""
    out = np.full(len(PROSODY_NAMES), 10 * np.log10(np.mean(y ** 2) + 1e-10), np.float32)
    out[-1] = np.nan
    return out


def test_decoder_learns_the_prosody_of_each_segments_utterance(tmp_path, monkeypatch):
    """model.decoder_prosody: every stream the trainer reads carries its utterances'
    descriptors z-scored within each speaker, the reconstruction phase learns them from the
    codes (its loss falls), and a model without the option has no such head."""
    monkeypatch.setattr(features_prosody, "prosody_descriptors", _level)
    cfg = get_config("tiny", train__label_fraction=0.3, model__decoder_prosody=True)
    data = prepare_data(cfg, progress=False, data_dir=tmp_path)
    s = data.streams
    for seg in (s.labelled, s.unlabelled, s.aux):
        assert seg.prosody.shape == (len(seg), len(PROSODY_NAMES))
        assert torch.isnan(seg.prosody[:, -1]).all() and torch.isfinite(seg.prosody[:, 0]).all()
        # one row per utterance, repeated for each of its segments
        first = {int(u): seg.prosody[i] for i, u in reversed(list(enumerate(seg.utt)))}
        assert all(torch.equal(seg.prosody[i, :-1], first[int(u)][:-1])
                   for i, u in enumerate(seg.utt))
    assert data.cross == {} and s.labelled.subset([0, 1]).prosody.shape == (2, 18)

    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    trainer = Trainer(model, s, config=cfg, device="cpu", progress=False)
    logs = [trainer.reconstruction_phase(trainer.draw_batches())["prosody"] for _ in range(120)]
    assert np.mean(logs[-10:]) < 0.8 * np.mean(logs[:10])
    y, z = torch.eye(4)[[0, 1]], torch.zeros(2, cfg.model.z_dim)
    assert model.decode_prosody(y, z).shape == (2, len(PROSODY_NAMES))
    model.eval()  # the training phase's one pass gives what decode and decode_prosody give
    segments, prosody = model.reconstruct(y, z)
    assert torch.allclose(segments, model.decode(y, z))
    assert torch.allclose(prosody, model.decode_prosody(y, z))

    plain = build_model(get_config("tiny"), n_speakers=len(data.label_maps.speakers))
    assert plain.decoder.to_prosody is None
    assert plain.reconstruct(y, z)[1] is None
    with pytest.raises(RuntimeError, match="reconstructs no prosody"):
        plain.decode_prosody(y, z)
    with pytest.raises(ValueError, match="model.decoder_prosody"):
        get_config("tiny", model__decoder_prosody="yes")
    with pytest.raises(ValueError, match="train.w_prosody"):
        get_config("tiny", train__w_prosody=-1.0)


def test_only_decoders_pay_for_prosody_and_old_configs_keep_the_papers_decoder(tmp_path,
                                                                              monkeypatch):
    """A model without a decoder never computes descriptors, even with the option on; a
    config saved before the option existed rebuilds the paper's decoder."""
    from sertutor.config import Config

    def fail(*args, **kwargs):
        raise AssertionError("descriptors computed for a model without a decoder")

    monkeypatch.setattr(features_prosody, "prosody_descriptors", fail)
    cfg = get_config("tiny", model__variant="mtl", model__decoder_prosody=True)
    data = prepare_data(cfg, progress=False, data_dir=tmp_path)
    assert data.streams.labelled.prosody is None and data.streams.aux.prosody is None

    saved = get_config("tiny", model__decoder_prosody=True).to_dict()
    del saved["model"]["decoder_prosody"]
    assert Config.from_dict(saved).model.decoder_prosody is False


def test_prepare_corpora_caches_the_descriptors_a_run_then_reads(tmp_path, monkeypatch):
    """`sertutor synth --features` / `sertutor tutorials prepare`: with a preset whose decoder
    reads prosody, the training corpora's descriptors are cached before class, so the first
    run computes none (synth-field, only tested on, gets none)."""
    import copy

    from sertutor import config as config_module
    from sertutor.data import prepare_corpora

    tiny = copy.deepcopy(config_module.PRESETS["tiny"])
    tiny.model.decoder_prosody = True
    monkeypatch.setitem(config_module.PRESETS, "tiny", tiny)
    prepare_corpora("tiny", corpora=["synth-emo", "synth-field"], features=True,
                    data_dir=tmp_path, progress=False, log=lambda line: None)
    cached = [p.name.split("-")[2] for p in (tmp_path / "features").glob("prosody-*")]
    assert cached == ["emo"]

    def fail(*args, **kwargs):
        raise AssertionError("descriptors computed again by the run")

    monkeypatch.setattr(features_prosody, "prosody_descriptors", fail)
    data = prepare_data(get_config("tiny", model__variant="ae"), aux_corpus=None,
                        progress=False, data_dir=tmp_path)
    assert torch.isfinite(data.streams.labelled.prosody).any()
