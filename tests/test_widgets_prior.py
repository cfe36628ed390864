"""PriorSampler: decode (y, z) with the shipped classroom model, listen, compare z with the
prior."""

from __future__ import annotations

import math
import time

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from sertutor import pretrained
from sertutor.data.manifest import make_manifest
from sertutor.data.voice import synthesize_voice
from sertutor.features import NormStats
from sertutor.pipeline import build_model
from sertutor.widgets.prior import PriorSampler


@pytest.fixture(scope="module")
def classroom():
    return pretrained.load("classroom")  # (model, config, meta)


@pytest.fixture(scope="module")
def sampler(classroom):
    model, config, meta = classroom
    return PriorSampler(model, config=config, meta=meta, seed=0)


def test_decodes_an_emotion_into_db_and_sound(sampler, classroom):
    _, config, meta = classroom
    sampler.set(emotion="sad", z=np.ones(8))  # first move: builds and caches Griffin-Lim
    t0 = time.perf_counter()
    sampler.set(emotion="angry", z=np.zeros(8))
    assert time.perf_counter() - t0 < 1.0  # one slider move: measured ~0.06 s
    f = config.features
    assert sampler.logmel.shape == (f.n_mels, f.segment_frames)
    # back in dB: near the corpus's mean level, not in normalised units around 0
    stats = NormStats.from_dict(meta["norm_stats"]["emotion"])
    assert abs(float(sampler.logmel.mean()) - float(stats.mean.mean())) < 10.0
    assert sampler.logmel.max() < 0.0  # dB of power re full scale
    wave, sr = sampler.audio
    assert sr == 16000 and wave.dtype == np.float32
    assert wave.shape == ((f.segment_frames - 1) * f.hop_length,)
    assert np.sqrt(np.mean(wave ** 2)) > 1e-4  # not silence
    np.testing.assert_allclose(np.asarray(sampler.figure.data[0].z), sampler.logmel)
    out = sampler._audio_out.outputs
    assert len(out) == 1 and "<audio" in out[0]["data"]["text/html"]
    assert "y = angry" in sampler._readout.value


def test_emotion_code_changes_the_sound(sampler):
    """The shipped model decodes angry louder than sad for the same style (arousal)."""
    rng = np.random.default_rng(1)
    gaps = []
    for _ in range(4):
        z = rng.normal(size=8).clip(-3, 3)
        angry = sampler.set(emotion="angry", z=z).logmel.copy()
        sad = sampler.set(emotion="sad").logmel.copy()
        gaps.append(float(angry.mean() - sad.mean()))
    assert np.mean(gaps) > 0.5, gaps  # measured ~1.5 dB


def test_sliders_drive_the_decoder_and_set_renders_once(sampler, monkeypatch):
    sampler.set(emotion="neutral", z=np.zeros(8))
    before = sampler.logmel.copy()
    sampler._sliders[3].value = 2.0  # what a learner's slider move does
    assert sampler.z[3] == pytest.approx(2.0)
    assert np.abs(sampler.logmel - before).max() > 0.1
    assert all(s.continuous_update is False for s in sampler._sliders)
    sampler._emotion.value = "happy"
    assert sampler.emotion == "happy"

    calls = []
    original = sampler._render
    monkeypatch.setattr(sampler, "_render", lambda: (calls.append(1), original()))
    sampler.set(emotion="sad", z=np.full(8, 0.5))  # eight sliders and a dropdown change
    assert len(calls) == 1
    assert [s.value for s in sampler._sliders] == [0.5] * 8


def test_draw_prior_is_seeded_and_moves_the_sliders(classroom):
    model, config, meta = classroom
    a = PriorSampler(model, config=config, meta=meta, seed=3)
    b = PriorSampler(model, config=config, meta=meta, seed=3)
    z1, z2 = a.draw_prior(), a.draw_prior()
    np.testing.assert_allclose(b.draw_prior(), z1)  # same seed, same draws
    assert not np.allclose(z1, z2)
    assert np.all(np.abs(z2) <= a.z_limit)
    assert [s.value for s in a._sliders] == pytest.approx(z2.tolist(), abs=1e-6)
    # the marker of "your z" sits at the drawn value
    assert list(a.figure.data[4].x) == pytest.approx([z2[0], z2[0]])


def test_histogram_of_encoded_z_versus_the_prior(classroom):
    model, config, meta = classroom
    codes = np.random.default_rng(0).normal(2.0, 0.5, size=(500, 8))  # (n, z_dim)
    codes[:, 1] -= 4.0  # dimension 1 centred on -2
    ps = PriorSampler(model, config=config, meta=meta, source=codes)
    bars, prior = ps.figure.data[2], ps.figure.data[3]
    x, y = np.asarray(bars.x), np.asarray(bars.y)
    assert np.sum(y * bars.width) == pytest.approx(1.0)  # a density
    assert np.sum(x * y * bars.width) == pytest.approx(2.0, abs=0.1)  # its mean
    assert max(prior.y) == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-3)  # N(0, 1)
    assert np.asarray(prior.x)[np.argmax(prior.y)] == pytest.approx(0.0, abs=0.05)
    assert "mean 2.0" in ps.figure.layout.annotations[2].text
    ps._dim.value = 1  # compare another dimension
    y1 = np.asarray(ps.figure.data[2].y)
    assert np.sum(np.asarray(ps.figure.data[2].x) * y1 * bars.width) == pytest.approx(-2.0,
                                                                                        abs=0.1)
    assert ps.figure.layout.annotations[2].text.startswith("z[1]")


def test_codes_of_real_speech_from_a_manifest(classroom, tmp_path, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path))  # the feature cache goes here
    model, config, meta = classroom
    rows = []
    for i, emotion in enumerate(("neutral", "happy", "sad", "angry") * 2):
        audio, _ = synthesize_voice(emotion=emotion, gender=("female", "male")[i % 2],
                                    speaker_seed=i, duration_s=1.5, seed=i)
        rows.append({"utt_id": f"u{i}", "audio": audio, "corpus": "synth-emo",
                     "speaker": f"s{i}", "gender": ("female", "male")[i % 2],
                     "emotion": emotion})
    manifest = make_manifest(rows)
    ps = PriorSampler(model, config=config, meta=meta, source=manifest, max_segments=12)
    assert ps.z_codes.shape == (12, 8) and np.all(np.isfinite(ps.z_codes))
    assert "encoded" in ps.figure.layout.annotations[2].text
    # by hand: the corpus is the model's emotion corpus, so the run's statistics normalise it
    # (per speaker, shrunk towards them, when the model was trained that way)
    from sertutor.data.dataset import extract_features, make_segments, speaker_keys
    from sertutor.features import SpeakerNormStats

    fs = extract_features(manifest, config=config.features, cache=False, progress=False)
    stats = NormStats.from_dict(meta["norm_stats"]["emotion"])
    if meta.get("normalise", "corpus") == "speaker":
        stats = SpeakerNormStats.fit(fs.features, speaker_keys(fs.manifest), reference=stats,
                                     prior_utts=meta["speaker_prior_utts"])
    segs = make_segments(fs, stats=stats)
    with torch.no_grad():
        model.eval()
        z = model.encode(segs.x[:]).z.numpy()  # (S, 8); x[:]: the stored segments as a tensor
    idx = np.sort(np.random.default_rng(0).choice(len(segs), size=12, replace=False))
    np.testing.assert_allclose(ps.z_codes, z[idx], atol=1e-4)
    # another corpus is normalised with its own statistics: other codes
    other = PriorSampler(model, config=config, meta=meta, max_segments=12,
                         source=manifest.assign(corpus="my-corpus"))
    assert np.abs(other.z_codes - ps.z_codes).max() > 1e-2


def test_segment_sets_and_prepared_data_are_sources(classroom):
    from types import SimpleNamespace

    from sertutor.data.dataset import SegmentSet

    model, config, meta = classroom
    n, f = 20, config.features
    segs = SegmentSet(x=torch.randn(n, 1, f.n_mels, f.segment_frames),
                      mask=torch.ones(n, f.segment_frames, dtype=torch.bool),
                      utt=torch.arange(n), emotion=torch.zeros(n, dtype=torch.long),
                      speaker=torch.zeros(n, dtype=torch.long),
                      gender=torch.zeros(n, dtype=torch.long), arousal=torch.zeros(n),
                      valence=torch.zeros(n), arousal_bin=torch.zeros(n, dtype=torch.long),
                      valence_bin=torch.zeros(n, dtype=torch.long), n_utterances=n)
    with torch.no_grad():
        model.eval()
        expected = model.encode(segs.x).z.numpy()
    ps = PriorSampler(model, config=config, meta=meta, source=segs)
    np.testing.assert_allclose(ps.z_codes, expected, atol=1e-5)
    assert not model.training
    # a PreparedData: its test set is encoded, its statistics stand in for meta
    prepared = SimpleNamespace(test=segs, streams=None,
                               norm_stats={"emotion": NormStats.from_dict(
                                   meta["norm_stats"]["emotion"])})
    ps2 = PriorSampler(model, config=config, source=prepared, max_segments=5)
    assert ps2.z_codes.shape == (5, 8) and ps2.logmel is not None


@pytest.mark.parametrize("variant", ["baseline", "mtl"])
def test_model_without_decoder_gives_a_message(classroom, variant):
    _, config, meta = classroom
    cfg = config.from_dict({**config.to_dict(), "model": {**config.to_dict()["model"],
                                                          "variant": variant}})
    model = build_model(cfg, n_speakers=4)
    ps = PriorSampler(model, config=cfg, meta=meta, source=np.zeros((5, 8)))
    assert "no decoder" in ps.message and variant in ps.message
    assert "no decoder" in ps._message.value
    assert ps.logmel is None and ps.audio is None and ps.z_codes is None
    ps.set(emotion="angry")  # no traceback
    assert ps.logmel is None
    assert all(s.disabled for s in ps._sliders) and ps._draw_button.disabled
    assert isinstance(ps.static_figure(), go.Figure)


def test_bad_arguments_name_themselves(sampler, classroom):
    model, config, meta = classroom
    with pytest.raises(ValueError, match="emotion must be one of"):
        sampler.set(emotion="furious")
    with pytest.raises(ValueError, match=r"z must have shape \(8,\)"):
        sampler.set(z=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"z\[2\] = 9 lies outside"):
        sampler.set(z=[0, 0, 9, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="dim must be"):
        sampler.set(dim=8)
    with pytest.raises(TypeError, match="config must be a sertutor Config"):
        PriorSampler(model, config=config.features, meta=meta)
    with pytest.raises(ValueError, match=r"meta must hold meta\['norm_stats'\]"):
        PriorSampler(model, config=config, meta={})
    with pytest.raises(TypeError, match="source must be"):
        PriorSampler(model, config=config, meta=meta, source=42)
    with pytest.raises(ValueError, match=r"source given as codes must have shape \(n, 8\)"):
        PriorSampler(model, config=config, meta=meta, source=np.zeros((5, 3)))
    with pytest.raises(TypeError, match="model must be"):
        PriorSampler("classroom", config=config, meta=meta)


def test_static_figure_and_display(sampler):
    fig = sampler.static_figure()
    assert type(fig) is go.Figure and len(fig.data) == 5
    np.testing.assert_allclose(np.asarray(fig.data[0].z), sampler.logmel)
    assert sampler.figure in sampler.widget.children
    assert sampler.message == ""


def test_legend_names_reach_the_browser(classroom):
    """The browser's legend reads the names sent to it: changing the compared dimension renames
    one trace in a batch, which must not blank the others ("trace 2", "trace 3")."""
    from test_widgets_figures import browser_trace_names

    model, config, meta = classroom
    codes = np.random.default_rng(0).normal(size=(200, 8))  # a source: histograms to redraw
    ps = PriorSampler(model, config=config, meta=meta, source=codes, seed=0)
    ps.set(z=np.zeros(8))
    names = browser_trace_names(ps.figure)
    ps.set(dim=1)
    ps.set(emotion="happy", z=np.ones(8))
    assert names[2] == "encoded z (source)" and names[3] == "prior N(0, σ²)"
    assert names[4] == "your z[1]"
    assert names == [t.name for t in ps.figure.data]
