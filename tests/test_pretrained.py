"""The shipped classroom checkpoint loads (weights only) and scores what its record says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sertutor import pretrained
from sertutor.features import NormStats


def test_shipped_checkpoint_is_listed_and_small():
    assert "classroom" in pretrained.available()
    assert pretrained.path("classroom").stat().st_size < 10e6
    state = torch.load(pretrained.path("classroom"), weights_only=True)
    assert state["opt"] is None  # inference-only: no optimiser state shipped
    with pytest.raises(ValueError, match="available"):
        pretrained.path("huge")


def test_pretrained_scores_its_recorded_metrics():
    model, config, meta = pretrained.load("classroom")
    record = pretrained.recorded_metrics("classroom")
    assert config.name == "classroom" and config.model.variant == "full"
    test = record["test"]
    # rebuild the held-out speakers of the run that made it (no auxiliary corpus needed)
    metrics, data = pretrained.rescore("classroom", return_metrics=True)
    stored = NormStats.from_dict(meta["norm_stats"]["emotion"])
    np.testing.assert_allclose(stored.mean, data.norm_stats["emotion"].mean, atol=1e-4)
    assert metrics["n"] == test["n_utterances"]
    assert metrics["uar"] == pytest.approx(record["uar"], abs=1e-3)
    assert metrics["confusion"] == record["confusion"]
    assert metrics["uar"] > 0.45  # well above chance (0.25) on unseen speakers


def test_load_or_train_loads_or_runs_the_same_job(monkeypatch, tmp_path):
    import sertutor.checkpoint as checkpoint
    import sertutor.jobs as jobs
    from sertutor import pretrained

    model, config, _ = pretrained.load_or_train("classroom")  # train=False: the shipped model
    assert config.model.variant == "full" and not model.training
    calls = {}
    monkeypatch.setattr(jobs, "run", lambda preset, **kw: calls.update(preset=preset, **kw))
    # pretrained loads through sertutor.checkpoint.load_trained (looked up at call time)
    monkeypatch.setattr(checkpoint, "load_trained",
                        lambda p, **kw: ("model", "config", str(p)))
    out = pretrained.load_or_train("classroom", train=True, out_dir=tmp_path)
    assert calls["preset"] == "classroom" and calls["out_dir"] == tmp_path
    assert calls["overwrite"] is True  # the same seeded run, trained again in its own folder
    assert out[2] == str(tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="no pretrained checkpoint"):
        pretrained.load_or_train("paper", train=True)


def test_corpus_norm_stats_uses_the_runs_statistics_for_its_own_corpora():
    from sertutor.pipeline import corpus_norm_stats

    from sertutor.data.manifest import make_manifest

    _, _, meta = pretrained.load("classroom")
    feats = [np.full((1, 64, 50), -30.0, dtype=np.float32)]  # (C, n_mels, T) of another corpus
    rows = make_manifest([{"utt_id": "u0", "path": "u0.wav", "corpus": "other",
                           "speaker": "s1", "gender": "female", "emotion": "neutral"}])
    for spec in ("synth-emo", "Synth-Emo@classroom"):
        stats, role = corpus_norm_stats(meta, spec, feats, manifest=rows)
        assert role == "emotion"
        stored = NormStats.from_dict(meta["norm_stats"]["emotion"])
        # per-speaker statistics are shrunk towards the run's own corpus statistics
        np.testing.assert_allclose(getattr(stats, "reference", stats).mean, stored.mean)
    stats, role = corpus_norm_stats(meta, "ravdess:/somewhere", feats, manifest=rows)
    assert role is None  # a corpus the run never saw: fitted on the corpus itself
    assert np.allclose(getattr(stats, "reference", stats).mean, -30.0)
    if meta.get("normalise") == "speaker":
        with pytest.raises(ValueError, match="pass manifest="):
            corpus_norm_stats(meta, "synth-emo", feats)
    assert corpus_norm_stats(None, None, feats)[1] is None
