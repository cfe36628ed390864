"""Per-speaker normalisation (issue #14): ``features.normalise = "speaker"``."""

import numpy as np
import pytest
import torch

from sertutor.config import FeatureConfig, get_config
from sertutor.data.dataset import FeatureSet, cache_key, make_segments, speaker_keys
from sertutor.data.manifest import make_manifest
from sertutor.features import NormStats, SpeakerNormStats, segment
from sertutor.pipeline import corpus_norm_stats, fit_normaliser, prepare_data


def _utterances(rng, offsets, n_per_speaker, *, n_mels=4, frames=30):
    """Features (1, n_mels, T) per utterance; speaker k is shifted by offsets[k] dB."""
    feats, speakers = [], []
    for k, off in enumerate(offsets):
        for _ in range(n_per_speaker[k]):
            f = rng.normal(loc=off, scale=1.0 + k, size=(1, n_mels, frames + k))
            feats.append(f.astype(np.float32))
            speakers.append(f"c/s{k}")
    return feats, speakers


def _manifest(speakers, emotions=None):
    """A manifest of one row per speaker key ``corpus/speaker`` (files are never read)."""
    emotions = emotions if emotions is not None else ["neutral"] * len(speakers)
    return make_manifest([{"utt_id": f"u{i}", "path": f"u{i}.wav", "corpus": s.split("/")[0],
                           "speaker": s.split("/")[1], "gender": "female", "emotion": e}
                          for i, (s, e) in enumerate(zip(speakers, emotions))])


def test_each_speaker_gets_the_statistics_of_their_own_audio(rng):
    feats, speakers = _utterances(rng, offsets=[-20.0, 0.0, 15.0], n_per_speaker=[3, 4, 5])
    norm = SpeakerNormStats.fit(feats, speakers, prior_utts=0.0)  # no shrinkage
    assert set(norm.speakers) == {"c/s0", "c/s1", "c/s2"}
    assert norm.n_utterances == {"c/s0": 3, "c/s1": 4, "c/s2": 5}
    for key in norm.speakers:
        own = NormStats.fit([f for f, s in zip(feats, speakers) if s == key])
        np.testing.assert_allclose(norm.for_speaker(key).mean, own.mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(norm.for_speaker(key).std, own.std, rtol=1e-5, atol=1e-5)
        # every speaker's own frames come out with zero mean and unit variance per band
        z = np.concatenate([norm.apply(f, key) for f, s in zip(feats, speakers) if s == key],
                           axis=-1)  # (1, n_mels, sum T)
        np.testing.assert_allclose(z.mean(axis=-1), 0.0, atol=1e-4)
        np.testing.assert_allclose(z.std(axis=-1), 1.0, atol=1e-4)
    # the reference is the corpus's statistics; an unknown speaker falls back to it
    corpus = NormStats.fit(feats)
    np.testing.assert_allclose(norm.reference.mean, corpus.mean, rtol=1e-5)
    assert norm.for_speaker("c/unknown") is norm.reference
    assert norm.for_speaker("") is norm.reference
    # a round trip through a checkpoint's JSON keeps everything
    back = SpeakerNormStats.from_dict(norm.to_dict())
    np.testing.assert_allclose(back.for_speaker("c/s2").std, norm.for_speaker("c/s2").std)
    assert back.n_utterances == norm.n_utterances and back.prior_utts == 0.0


def test_a_speaker_with_one_utterance_is_shrunk_towards_the_corpus(rng):
    feats, speakers = _utterances(rng, offsets=[0.0, 30.0], n_per_speaker=[20, 1])
    ref = NormStats.fit(feats[:20])
    norm = SpeakerNormStats.fit(feats, speakers, reference=ref, prior_utts=1.0)
    alone = NormStats.fit([feats[20]])
    one = norm.for_speaker("c/s1")
    # one utterance against one pseudo-utterance of the reference: halfway in the mean
    np.testing.assert_allclose(one.mean, 0.5 * alone.mean + 0.5 * ref.mean, rtol=1e-5)
    # the variance is the mixture's: it includes the spread between the two means
    assert np.all(one.std > alone.std) and np.all(np.isfinite(one.std))
    # a speaker with many utterances barely moves (weight 20 / 21)
    many = NormStats.fit(feats[:20])
    np.testing.assert_allclose(norm.for_speaker("c/s0").mean, many.mean, atol=1e-4)
    # a constant (silent) single utterance stays finite after normalisation
    flat = [np.full((1, 4, 10), -80.0, np.float32)]
    n2 = SpeakerNormStats.fit(flat + feats[:20], ["c/quiet"] + speakers[:20], reference=ref)
    assert np.all(np.isfinite(n2.apply(flat[0], "c/quiet")))
    with pytest.raises(ValueError, match="one speaker key per utterance"):
        SpeakerNormStats.fit(feats, speakers[:-1])


def test_normaliser_never_reads_labels(rng):
    feats, speakers = _utterances(rng, offsets=[-5.0, 5.0], n_per_speaker=[4, 4])
    fc = FeatureConfig(n_mels=4, normalise="speaker")
    ref = NormStats.fit(feats)
    a = fit_normaliser(fc, ref, FeatureSet(manifest=_manifest(speakers, ["angry"] * 8),
                                           features=feats, config=fc))
    shuffled = list(np.random.default_rng(1).permutation(["neutral", "happy", "sad", "angry",
                                                          "", "", "sad", "happy"]))
    b = fit_normaliser(fc, ref, FeatureSet(manifest=_manifest(speakers, shuffled),
                                           features=feats, config=fc))
    for key in a.speakers:
        np.testing.assert_array_equal(a.for_speaker(key).mean, b.for_speaker(key).mean)
        np.testing.assert_array_equal(a.for_speaker(key).std, b.for_speaker(key).std)
    # per corpus the reference itself is the normaliser
    assert fit_normaliser(FeatureConfig(normalise="corpus"), ref, None) is ref
    with pytest.raises(ValueError, match="normalise must be one of"):
        fit_normaliser(FeatureConfig(normalise="utterance"), ref, None)


def test_make_segments_normalises_each_row_with_its_speaker(rng):
    feats, speakers = _utterances(rng, offsets=[-10.0, 10.0], n_per_speaker=[2, 2], frames=40)
    fc = FeatureConfig(n_mels=4, segment_frames=16, segment_hop=8)
    fs = FeatureSet(manifest=_manifest(speakers), features=feats, config=fc)
    keys = list(speaker_keys(fs.manifest))
    assert keys == speakers
    norm = SpeakerNormStats.fit(feats, keys)
    seg = make_segments(fs, stats=norm)
    for row in (0, 3):  # one utterance of each speaker
        got = seg.x[seg.utt == row]  # (S, 1, 4, 16)
        expected, _ = segment(norm.for_speaker(keys[row]).apply(feats[row]), frames=16, hop=8)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_normalisation_settings_do_not_change_the_feature_cache_key():
    df = _manifest(["c/a", "c/b"])
    assert cache_key(df, FeatureConfig(normalise="corpus")) == cache_key(
        df, FeatureConfig(normalise="speaker", speaker_prior_utts=3.0))
    assert cache_key(df, FeatureConfig()) != cache_key(df, FeatureConfig(n_mels=32))


# ----------------------------------------------------------------- through prepare_data
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sertutor-data")


@pytest.fixture(scope="module")
def tiny_speaker(data_dir):
    cfg = get_config("tiny", features__normalise="speaker")
    return prepare_data(cfg, test_corpora=("synth-field",), progress=False, data_dir=data_dir)


def test_prepare_data_normalises_train_test_and_cross_corpus_per_speaker(tiny_speaker,
                                                                        data_dir):
    from sertutor.data.corpora import load_corpus
    from sertutor.data.dataset import extract_features

    d = tiny_speaker
    emo = d.normalisers["emotion"]
    assert isinstance(emo, SpeakerNormStats)
    assert emo.reference is d.norm_stats["emotion"]  # the per-corpus statistics, as before
    test_speakers = {f"{c}/{s}" for c, s in zip(d.manifests["emotion_test"]["corpus"],
                                                d.manifests["emotion_test"]["speaker"])}
    assert test_speakers <= set(emo.speakers)  # test speakers: their own audio's statistics
    # ... from *all* of their audio (the extended emotions too), not only the labelled rows
    cfg = d.config
    df = load_corpus("synth-emo", preset=cfg, data_dir=data_dir)
    fs = extract_features(df, config=cfg.features, progress=False,
                          cache_dir=data_dir / "features")
    key = sorted(test_speakers)[0]
    mine = [f for f, k in zip(fs.features, speaker_keys(fs.manifest)) if k == key]
    assert emo.n_utterances[key] == len(mine) > (fs.manifest["emotion"] != "").sum() / 10
    own = SpeakerNormStats.fit(mine, [key] * len(mine), reference=emo.reference)
    np.testing.assert_allclose(emo.for_speaker(key).mean, own.for_speaker(key).mean,
                               rtol=1e-5)
    assert isinstance(d.normalisers["aux"], SpeakerNormStats)
    field = d.normalisers["synth-field"]
    assert isinstance(field, SpeakerNormStats)
    assert {k.split("/")[0] for k in field.speakers} == {"synth-field"}
    # speaker normalisation takes out each speaker's level: a test speaker's segments have a
    # mean near 0 per band (not exactly: segments overlap and miss the extended emotions)
    x = d.test.x[d.test.mask.unsqueeze(1).unsqueeze(1).expand_as(d.test.x)]
    assert abs(float(x.mean())) < 0.3


def test_corpus_norm_stats_follows_the_models_normalisation(tiny_speaker, rng):
    meta = {"norm_stats": {"emotion": tiny_speaker.norm_stats["emotion"].to_dict()},
            "specs": {"emotion": "synth-emo"}, "normalise": "speaker",
            "speaker_prior_utts": 1.0}
    feats, speakers = _utterances(rng, offsets=[0.0, 3.0], n_per_speaker=[2, 1], n_mels=32)
    with pytest.raises(ValueError, match="pass manifest="):
        corpus_norm_stats(meta, "synth-emo", feats)
    norm, role = corpus_norm_stats(meta, "synth-emo", feats, manifest=_manifest(speakers))
    assert role == "emotion" and isinstance(norm, SpeakerNormStats)
    np.testing.assert_allclose(norm.reference.mean, tiny_speaker.norm_stats["emotion"].mean)
    assert norm.n_utterances == {"c/s0": 2, "c/s1": 1}
    # a model trained per corpus (an old checkpoint has no "normalise") is unchanged
    old = {k: v for k, v in meta.items() if k not in ("normalise", "speaker_prior_utts")}
    plain, role = corpus_norm_stats(old, "synth-emo", feats)
    assert isinstance(plain, NormStats) and role == "emotion"


def test_a_speaker_normalised_model_trains(tiny_speaker):
    from sertutor.pipeline import train_and_evaluate

    cfg = get_config("tiny", features__normalise="speaker", train__steps=20,
                     train__eval_every=10)
    trainer, metrics = train_and_evaluate(cfg, tiny_speaker, device="cpu", progress=False)
    assert 0.0 <= metrics["uar"] <= 1.0 and "synth-field" in metrics["cross_corpus"]
    assert trainer.meta["normalise"] == "speaker"
    assert torch.isfinite(tiny_speaker.streams.labelled.x).all()


def test_utterance_stats_are_band_means_then_stds_and_bad_input_is_named():
    import numpy as np

    from sertutor.features import utterance_stats

    a = np.stack([np.arange(4.0), np.full(4, 2.0)])[None]  # (1, 2, 4)
    b = torch.zeros(1, 2, 3)
    out = utterance_stats([a, b])
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[0], [1.5, 2.0, np.std(np.arange(4.0)), 0.0])
    np.testing.assert_allclose(out[1], 0.0)
    with pytest.raises(ValueError, match="non-empty list"):
        utterance_stats([])
    with pytest.raises(ValueError, match=r"features\[1\] must have shape"):
        utterance_stats([a, np.zeros((2, 4))])
