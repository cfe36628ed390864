"""The memory cuts of issue #12, §3: each keeps results unchanged and does what it says.

- prediction in batches of :data:`~sertutor.evaluate.PREDICT_BATCH_SIZE` segments gives the
  outputs of one pass over every segment;
- the metrics, computed with numpy, equal scikit-learn's (which no longer loads in training);
- segments stored once (:class:`~sertutor.data.segments.SegmentFrames`) give, bit for bit, the
  segments that were stored one by one (:func:`sertutor.features.segment`);
- :func:`~sertutor.runtime.release_memory`, :func:`~sertutor.runtime.forget` and
  :func:`~sertutor.runtime.reset_peak_rss` work, or do nothing where the system has no way;
- the report is written from the utterances of its map, without the run's data;
- ``import sertutor`` and the training code do not load scipy or scikit-learn.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from sertutor import runtime
from sertutor.config import FeatureConfig, get_config
from sertutor.data.extract import FeatureSet
from sertutor.data.manifest import EMOTIONS, make_manifest
from sertutor.data.segments import SegmentFrames, SegmentSet, make_segments
from sertutor.evaluate import (PREDICT_BATCH_SIZE, batch_bounds, classification_metrics,
                               evaluate_segments, predict, uar, weighted_accuracy)
from sertutor.features import NormStats, SpeakerNormStats, segment
from sertutor.pipeline import build_model, prepare_data, train_and_evaluate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = get_config("tiny")
    return prepare_data(cfg, test_corpora=("synth-field",), progress=False,
                        data_dir=tmp_path_factory.mktemp("sertutor-data"))


@pytest.fixture(scope="module")
def trained(tiny):
    cfg = get_config("tiny", train__steps=30)
    return train_and_evaluate(cfg, tiny, progress=False)


# ------------------------------------------------------------------------------ prediction
def test_batch_bounds_cover_every_item_once():
    assert batch_bounds(70, 32) == [(0, 32), (32, 64), (64, 70)]
    assert batch_bounds(0, 32) == [] and batch_bounds(32, 32) == [(0, 32)]
    for bad_n, bad_size in [(-1, 32), (10, 0), (10, 2.5), (1.5, 4)]:
        with pytest.raises(ValueError):
            batch_bounds(bad_n, bad_size)


def test_batched_prediction_equals_one_pass(trained, tiny):
    trainer, _ = trained
    model, seg = trainer.model, tiny.test
    assert PREDICT_BATCH_SIZE == 32 and len(seg) > PREDICT_BATCH_SIZE  # several batches
    batched = predict(model, seg)
    whole = predict(model, seg, batch_size=len(seg))  # one forward pass over every segment
    assert batched.keys() == whole.keys()
    for key in whole:
        assert batched[key].shape == whole[key].shape and batched[key].dtype == np.float32
        np.testing.assert_allclose(batched[key], whole[key], rtol=1e-5, atol=1e-6)
    assert np.array_equal(batched["y_prob"].argmax(1), whole["y_prob"].argmax(1))
    emotions = ("neutral", "happy", "sad", "angry")
    a = evaluate_segments(model, seg, emotions=emotions)
    b = evaluate_segments(model, seg, emotions=emotions, batch_size=len(seg))
    assert a["uar"] == b["uar"] and a["confusion"] == b["confusion"]
    assert model.training  # predict puts the model back in training mode


def test_metrics_equal_scikit_learn(rng):
    from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score,
                                 recall_score)

    labels = ["neutral", "happy", "sad", "angry"]
    for _ in range(300):
        n = int(rng.integers(1, 40))
        t, p = rng.integers(0, 4, n), rng.integers(0, 4, n)
        t = np.where(t == 3, 2, t) if rng.random() < 0.3 else t  # a class absent
        m = classification_metrics(t, p, labels=labels)
        present = sorted(set(t.tolist()))
        assert m["uar"] == float(recall_score(t, p, labels=present, average="macro",
                                              zero_division=0))
        assert m["wa"] == float(accuracy_score(t, p)) == weighted_accuracy(t, p)
        assert m["macro_f1"] == float(f1_score(t, p, labels=present, average="macro",
                                               zero_division=0))
        assert m["confusion"] == confusion_matrix(t, p, labels=[0, 1, 2, 3]).tolist()
        recall = recall_score(t, p, labels=[0, 1, 2, 3], average=None, zero_division=0)
        assert m["per_class_recall"] == {labels[i]: float(recall[i]) for i in present}
        # without labels: the classes of y_true (a predicted class that never occurs in
        # y_true does not count), as before
        assert uar(t, p) == float(recall_score(t, p, labels=np.unique(t), average="macro",
                                               zero_division=0))
    with pytest.raises(ValueError, match="none of these classes"):
        uar([0, 0], [0, 1], labels=[3])


def test_speaker_folds_equal_scikit_learn(rng):
    """group_folds reimplements StratifiedGroupKFold (no sklearn import): the same folds."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    from sertutor.data.splits import _stratified_group_test_masks, group_folds

    compared = 0
    for _ in range(150):
        n, n_groups = int(rng.integers(10, 150)), int(rng.integers(5, 25))
        n_folds, seed = int(rng.integers(2, 6)), int(rng.integers(0, 10))
        groups = np.array([f"g{k}" for k in rng.integers(0, n_groups, n)])
        y = np.array(EMOTIONS)[rng.integers(0, int(rng.integers(2, 5)), n)]
        if len(set(groups)) < n_folds:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                want = [te for _, te in StratifiedGroupKFold(
                    n_splits=n_folds, shuffle=True, random_state=seed).split(
                    np.zeros((n, 1)), y, groups)]
            except ValueError:
                with pytest.raises(ValueError, match="n_splits"):
                    _stratified_group_test_masks(y, groups, n_folds, seed)
                continue
        got = _stratified_group_test_masks(y, groups, n_folds, seed)
        assert [np.flatnonzero(m).tolist() for m in got] == [sorted(t) for t in want]
        compared += 1
    assert compared > 100
    manifest = make_manifest([{"utt_id": f"u{i}", "path": f"/x/u{i}.wav", "corpus": "c",
                               "speaker": f"s{i % 7}", "group": f"s{i % 7}",
                               "emotion": EMOTIONS[i % 4]} for i in range(70)])
    folds = group_folds(manifest, n_folds=5, seed=3)
    want = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=3).split(
        np.zeros((70, 1)), manifest["emotion"].to_numpy(str), manifest["group"].to_numpy(str))
    for (tr, te), (want_tr, want_te) in zip(folds, want):
        assert tr.tolist() == sorted(want_tr) and te.tolist() == sorted(want_te)


# -------------------------------------------------------------------------------- segments
def _feature_set(lengths, rng, *, n_mels=4, speakers=("a", "b")):
    n = len(lengths)
    manifest = make_manifest([
        {"utt_id": f"u{i}", "corpus": "c", "speaker": speakers[i % len(speakers)],
         "gender": ("female", "male")[i % 2], "emotion": EMOTIONS[i % len(EMOTIONS)],
         "arousal": 3.0, "valence": 2.0, "group": speakers[i % len(speakers)],
         "path": f"/nowhere/u{i}.wav"}
        for i in range(n)])
    feats = [rng.standard_normal((1, n_mels, t)).astype(np.float32) for t in lengths]
    return FeatureSet(manifest=manifest, features=feats, config=FeatureConfig(n_mels=n_mels))


def _stored_one_by_one(fs, norm, frames, hop):
    """The segments as they were stored before: each cut and copied on its own."""
    segs, masks = zip(*(segment(norm(i, f), frames=frames, hop=hop)
                        for i, f in enumerate(fs.features)))
    return np.concatenate(segs), np.concatenate(masks)


@pytest.mark.parametrize("frames, hop", [(16, 8), (16, 16), (16, 5), (7, 1)])
def test_stored_frames_give_the_old_segments_bit_for_bit(rng, frames, hop):
    fs = _feature_set([1, 5, 16, 17, 40, 63, 8], rng)
    stats = NormStats.fit(fs.features)
    seg = make_segments(fs, stats=stats, frames=frames, hop=hop)
    assert isinstance(seg.x, SegmentFrames)
    old_x, old_mask = _stored_one_by_one(fs, lambda i, f: stats.apply(f), frames, hop)
    new_x = seg.x[:].numpy()
    assert new_x.shape == old_x.shape == tuple(seg.x.shape) and new_x.dtype == old_x.dtype
    assert new_x.tobytes() == old_x.tobytes()  # bit for bit
    assert np.array_equal(seg.mask.numpy(), old_mask)
    # every way a batch is taken: index tensors, masks, slices, one segment, with more axes
    idx = torch.randint(len(seg), (23,), generator=torch.Generator().manual_seed(0))
    assert seg.x[idx].numpy().tobytes() == old_x[idx.numpy()].tobytes()
    keep = torch.arange(len(seg)) % 3 == 0
    assert torch.equal(seg.x[keep], torch.from_numpy(old_x[keep.numpy()]))
    assert torch.equal(seg.x[2:9], torch.from_numpy(old_x[2:9]))
    assert torch.equal(seg.x[-1], torch.from_numpy(old_x[-1]))
    assert torch.equal(seg.x[idx[:4], 0], torch.from_numpy(old_x[idx[:4].numpy(), 0]))
    # a subset shares the stored frames; compact() copies only what it covers
    sub = seg.subset(keep)
    assert sub.x.frames is seg.x.frames and torch.equal(sub.x[:], seg.x[keep])
    small = sub.x.compact()
    assert torch.equal(small[:], sub.x[:]) and small.frames.shape[-1] <= seg.x.frames.shape[-1]
    # stored once: fewer bytes than the segments one by one whenever they overlap
    if hop < frames:
        assert seg.x.nbytes < old_x.nbytes


def test_stored_frames_per_speaker_normalisation(rng):
    fs = _feature_set([30, 12, 50, 9], rng)
    stats = NormStats.fit(fs.features)
    keys = [f"c/{s}" for s in fs.manifest["speaker"]]
    spk = SpeakerNormStats.fit(fs.features, keys, reference=stats, prior_utts=1.0)
    seg = make_segments(fs, stats=spk, frames=10, hop=4)
    old_x, _ = _stored_one_by_one(fs, lambda i, f: spk.for_speaker(keys[i]).apply(f), 10, 4)
    assert seg.x[:].numpy().tobytes() == old_x.tobytes()


def test_stored_frames_behave_like_a_tensor(rng):
    fs = _feature_set([20, 33], rng)
    seg = make_segments(fs, stats=NormStats.fit(fs.features), frames=8, hop=4)
    x, full = seg.x, seg.x[:]
    assert len(x) == x.shape[0] == len(seg) and x.dtype == torch.float32 and x.ndim == 4
    assert torch.equal(torch.isfinite(x), torch.isfinite(full))  # torch functions
    assert torch.equal(torch.cat([x, x]), torch.cat([full, full]))
    assert torch.equal(x.permute(0, 3, 1, 2), full.permute(0, 3, 1, 2))  # tensor methods
    assert np.array_equal(np.asarray(x), full.numpy())
    assert x.to("cpu") is x
    moved = SegmentSet(**{k: getattr(seg, k) for k in
                          ("x", "mask", "utt", "emotion", "speaker", "gender", "arousal",
                           "valence", "arousal_bin", "valence_bin")},
                       n_utterances=seg.n_utterances).to("cpu")
    assert torch.equal(moved.x[:], full)
    joined = SegmentFrames.cat([x, x.select(slice(0, 3))])
    assert torch.equal(joined[:], torch.cat([full, full[:3]]))
    with pytest.raises(IndexError, match="boolean mask"):
        x[torch.ones(len(x) + 1, dtype=torch.bool)]
    with pytest.raises(ValueError, match="inside frames"):
        SegmentFrames(x.frames, torch.tensor([x.frames.shape[-1]]), 8)


def test_make_segments_still_checks_its_arguments(rng):
    fs = _feature_set([20], rng)
    stats = NormStats.fit(fs.features)
    with pytest.raises(ValueError, match="hop must be"):
        make_segments(fs, stats=stats, frames=8, hop=9)
    with pytest.raises(ValueError, match="frames must be"):
        make_segments(fs, stats=stats, frames=0, hop=1)


def test_training_batches_are_the_stored_segments(tiny):
    """A training batch indexes the stored frames: the same values as the old copies."""
    seg = tiny.streams.labelled
    assert isinstance(seg.x, SegmentFrames)
    idx = torch.randint(len(seg), (16,), generator=torch.Generator().manual_seed(1))
    full = seg.x[:]  # (N_seg, C, n_mels, frames)
    assert torch.equal(seg.x[idx], full[idx])



def test_the_model_says_how_to_pass_stored_segments(trained, tiny):
    """Handing the model a SegmentSet's x itself fails with the way to index it."""
    model = trained[0].model
    seg = tiny.streams.labelled
    with pytest.raises(TypeError, match=r"got SegmentFrames: index it .*seg\.x\[idx\]"):
        model.encode(seg.x)
    assert model.encode(seg.x[:4]).y.shape[0] == 4  # a batch of it works

# ---------------------------------------------------------------------------------- runtime
def test_release_memory_runs_or_is_a_no_op(monkeypatch):
    trimmed = runtime.release_memory()
    assert isinstance(trimmed, bool)
    if sys.platform.startswith("linux") and runtime._malloc_trim() is not None:
        assert trimmed
    monkeypatch.setattr(runtime, "_malloc_trim", lambda: None)  # no glibc: gc only
    assert runtime.release_memory() is False


def test_release_memory_gives_freed_memory_back():
    if runtime._malloc_trim() is None:
        pytest.skip("no malloc_trim here")
    runtime.release_memory()
    before = runtime.rss_bytes()
    # 400 MB in small blocks: glibc keeps freed small blocks in its heap unless trimmed
    blocks = [np.ones(8192, dtype=np.float64) for _ in range(6000)]
    grown = runtime.rss_bytes()
    del blocks
    runtime.release_memory()
    after = runtime.rss_bytes()
    assert grown - before > 200 * 2**20
    assert after - before < 0.5 * (grown - before)


def test_forget_deletes_bound_names_only():
    ns = {"data": [1], "model": object(), "keep": 3}
    assert runtime.forget(ns, "data", "model", "not_there") == ["data", "model"]
    assert ns == {"keep": 3}
    with pytest.raises(TypeError, match="globals"):
        runtime.forget(["data"], "data")
    with pytest.raises(TypeError, match="str"):
        runtime.forget(ns, 3)


def test_reset_peak_rss(monkeypatch):
    ok = runtime.reset_peak_rss()
    assert isinstance(ok, bool)
    if ok:
        big = np.ones(100 * 2**20 // 8)  # 100 MB resident
        peak = runtime.rss_bytes(peak=True)
        del big
        runtime.release_memory()
        assert runtime.reset_peak_rss()
        assert runtime.rss_bytes(peak=True) < peak - 50 * 2**20
    import builtins

    def refuse(*args, **kwargs):
        raise PermissionError("read-only /proc")

    monkeypatch.setattr(builtins, "open", refuse)
    assert runtime.reset_peak_rss() is False


# ----------------------------------------------------------------------------------- report
def test_report_needs_only_its_utterances(trained, tiny, tmp_path):
    from sertutor.report import report_utterances, write_report

    trainer, metrics = trained
    metrics = dict(metrics, config=get_config("tiny").to_dict())
    utts = report_utterances(trainer.model, tiny, max_utterances=5)
    assert set(utts.manifest["part"]) == {"test", "aux"}
    assert (utts.manifest["part"] == "test").sum() == 5
    # the map's segments are copies: they keep none of the run's stored frames alive
    run_frames = [s.x.frames for s in (tiny.test, tiny.streams.aux)]
    assert all(utts.segments.x.frames is not f for f in run_frames)
    page = write_report(tmp_path / "report.html", trainer=trainer, metrics=metrics, data=None,
                        utterances=utts)
    text = page.read_text()
    assert "UMAP of the shared code h" in text and "Training curves" in text
    with pytest.raises(ValueError, match="utterances"):
        write_report(tmp_path / "r2.html", trainer=trainer, metrics=metrics)
    with pytest.raises(ValueError, match="max_utterances"):
        report_utterances(trainer.model, tiny, max_utterances=0)


# ------------------------------------------------------------------------------------ imports
@pytest.mark.parametrize("module", ["sertutor", "sertutor.train", "sertutor.jobs",
                                    "sertutor.pipeline", "sertutor.evaluate",
                                    "sertutor.data.splits"])
def test_importing_does_not_load_scipy_or_sklearn(module):
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in ('scipy', 'sklearn') if m in sys.modules))")
    out = subprocess.check_output([sys.executable, "-c", code], text=True).strip()
    assert out == "[]", f"import {module} loads {out}"


def test_evaluating_does_not_load_scipy_or_sklearn():
    """Training validates with evaluate_segments: its metrics need neither library."""
    code = ("import sys, numpy as np, torch\n"
            "from sertutor.config import FeatureConfig, get_config\n"
            "from sertutor.data.extract import FeatureSet\n"
            "from sertutor.data.manifest import make_manifest\n"
            "from sertutor.data.segments import make_segments\n"
            "from sertutor.evaluate import evaluate_segments\n"
            "from sertutor.features import NormStats\n"
            "from sertutor.pipeline import build_model\n"
            "cfg = get_config('tiny')\n"
            "fc = cfg.features\n"
            "rng = np.random.default_rng(0)\n"
            "rows = [{'utt_id': f'u{i}', 'path': f'/x/u{i}.wav', 'corpus': 'c', 'speaker': 's',\n"
            "         'emotion': ('neutral', 'happy', 'sad', 'angry')[i % 4]} for i in range(8)]\n"
            "feats = [rng.standard_normal((1, fc.n_mels, 40)).astype(np.float32)\n"
            "         for _ in rows]\n"
            "fs = FeatureSet(manifest=make_manifest(rows), features=feats, config=fc)\n"
            "seg = make_segments(fs, stats=NormStats.fit(feats))\n"
            "model = build_model(cfg, n_speakers=1)\n"
            "m = evaluate_segments(model, seg, emotions=('neutral', 'happy', 'sad', 'angry'))\n"
            "assert 0 <= m['uar'] <= 1\n"
            "print(sorted(n for n in ('scipy', 'sklearn') if n in sys.modules))")
    out = subprocess.check_output([sys.executable, "-c", code], text=True).strip()
    assert out.splitlines()[-1] == "[]"


def test_build_model_is_unaffected():
    """The model factory is untouched by the cuts (a smoke check of the import path)."""
    model = build_model(get_config("tiny"), n_speakers=3)
    assert sum(p.numel() for p in model.parameters()) > 0
