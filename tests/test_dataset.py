"""Tests of sertutor.data.dataset: feature extraction and cache, segments, labels, splits."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import sertutor.data.extract as extract
from sertutor.audio import write_wav
from sertutor.config import FeatureConfig
from sertutor.data.dataset import (FeatureSet, LabelMaps, SegmentSet, cache_path,
                                   dimension_bins, extract_features, group_folds,
                                   label_subset, leave_one_group_out, make_segments,
                                   split_groups)
from sertutor.data.manifest import EMOTIONS, make_manifest
from sertutor.features import NormStats, log_mel

SR = 16000
CFG = FeatureConfig(n_mels=32, segment_frames=32, segment_hop=16)


def _audio(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = 0.2 * np.sin(2 * np.pi * (110 + 20 * seed) * t) + 0.02 * rng.standard_normal(n)
    return y.astype(np.float32)


def _rows(n_speakers: int = 4, per_emotion: int = 1, corpus: str = "toy") -> list[dict]:
    rows, k = [], 0
    for s in range(n_speakers):
        for e, emotion in enumerate(EMOTIONS):
            for r in range(per_emotion):
                rows.append(dict(
                    utt_id=f"s{s}_{emotion}_{r}", audio=_audio(4000 + 997 * (k % 7), k),
                    corpus=corpus, speaker=f"s{s}", gender=("female", "male")[s % 2],
                    emotion=emotion, arousal=1.0 + e, valence=(3.0, 4.5, 1.5, 2.5)[e],
                    group=f"s{s}"))
                k += 1
    return rows


@pytest.fixture
def manifest() -> pd.DataFrame:
    rows = _rows()
    rows.append(dict(utt_id="s0_x", audio=_audio(5000, 99), corpus="toy", speaker="s0",
                     gender="female", group="s0"))  # no emotion label
    return make_manifest(rows)


def _extract(m, tmp_path, **kw):
    kw.setdefault("config", CFG)
    return extract_features(m, cache_dir=tmp_path, progress=False, **kw)


# ------------------------------------------------------------------------------ features
def test_extract_features_aligned_with_manifest(manifest, tmp_path):
    fs = _extract(manifest, tmp_path, batch_size=5)
    assert len(fs) == len(manifest) == len(fs.manifest)
    assert list(fs.manifest.utt_id) == list(manifest.utt_id)
    for (_, row), f in zip(fs.manifest.iterrows(), fs.features):
        assert f.dtype == np.float32 and f.shape == (1, 32, 1 + len(row.audio) // 160)
    alone, _ = log_mel(torch.from_numpy(manifest.audio[3]), config=CFG)
    np.testing.assert_allclose(fs.features[3], alone[0].numpy(), atol=1e-5)
    sub = fs.subset([2, 0])
    assert list(sub.manifest.utt_id) == [manifest.utt_id[2], manifest.utt_id[0]]
    assert sub.features[1] is fs.features[0]


def test_cache_hit_invalidation_and_no_temp_files(manifest, tmp_path, monkeypatch):
    calls = []
    real = extract.log_mel

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(extract, "log_mel", counting)  # where extract_features looks it up
    first = _extract(manifest, tmp_path)
    n_first = len(calls)
    assert n_first > 0 and first.cache_file.is_file()
    assert first.cache_file.name.startswith("toy-") and first.cache_file.suffix == ".npz"
    second = _extract(manifest.sample(frac=1.0, random_state=0), tmp_path)  # row order differs
    assert len(calls) == n_first  # cache hit: no extraction
    assert second.cache_file == first.cache_file
    by_id = dict(zip(first.manifest.utt_id, first.features))
    for u, f in zip(second.manifest.utt_id, second.features):
        np.testing.assert_array_equal(f, by_id[u])
    # a changed setting makes a new cache
    other = _extract(manifest, tmp_path, config=FeatureConfig(n_mels=24))
    assert len(calls) > n_first and other.cache_file != first.cache_file
    assert other.features[0].shape[1] == 24
    # changed in-memory samples make a new cache
    changed = manifest.copy()
    changed.at[0, "audio"] = manifest.audio[0] * 0.5
    assert cache_path(changed, CFG, tmp_path) != first.cache_file
    # cache=False neither reads nor writes
    n = len(calls)
    assert _extract(manifest, tmp_path, cache=False).cache_file is None and len(calls) > n
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".npz"]


def test_corrupt_cache_is_rebuilt(manifest, tmp_path):
    good = _extract(manifest, tmp_path)
    data = good.cache_file.read_bytes()
    for broken in (data[: len(data) // 2], b"not a zip file", data[:-200] + bytes(200)):
        good.cache_file.write_bytes(broken)
        with pytest.warns(UserWarning, match="unreadable.*rebuilding"):
            again = _extract(manifest, tmp_path)
        for a, b in zip(again.features, good.features):
            np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt cache is fine again
        _extract(manifest, tmp_path)


def test_interrupted_cache_write_leaves_nothing(manifest, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        _extract(manifest, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_bad_audio_rows_are_skipped_with_one_warning(tmp_path):
    wav = tmp_path / "wav"
    wav.mkdir()
    rows = []
    for i in range(4):
        path = write_wav(wav / f"ok{i}.wav", _audio(3000 + 500 * i, i))
        rows.append(dict(utt_id=f"ok{i}", path=str(path), speaker="a", group="a"))
    (wav / "garbage.wav").write_bytes(b"RIFF....not audio at all")
    write_wav(wav / "short.wav", _audio(100, 0))
    rows += [dict(utt_id="gone", path=str(wav / "missing.wav")),
             dict(utt_id="garbage", path=str(wav / "garbage.wav")),
             dict(utt_id="short", path=str(wav / "short.wav")),
             dict(utt_id="nan", audio=np.full(4000, np.nan, np.float32))]
    m = make_manifest(rows)
    with pytest.warns(UserWarning) as record:
        fs = _extract(m, tmp_path / "cache")
    messages = [str(w.message) for w in record if "skipped" in str(w.message)]
    assert len(messages) == 1
    msg = messages[0]
    assert "skipped 4 of 8" in msg
    for name in ("missing.wav", "garbage.wav", "short.wav", "nan (in-memory audio)",
                 "no such file", "NaN"):
        assert name in msg
    assert list(fs.manifest.utt_id) == ["ok0", "ok1", "ok2", "ok3"]
    assert len(fs.skipped) == 4
    with pytest.warns(UserWarning, match="skipped 4 of 8"):  # a cache hit warns the same
        again = _extract(m, tmp_path / "cache")
    assert list(again.manifest.utt_id) == list(fs.manifest.utt_id)
    # touching a file (new mtime) invalidates the cache
    before = cache_path(m, CFG, tmp_path / "cache")
    st = os.stat(wav / "ok0.wav")
    os.utime(wav / "ok0.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache_path(m, CFG, tmp_path / "cache") != before
    with pytest.raises(ValueError, match="none of the 2 utterances"):
        with pytest.warns(UserWarning):
            _extract(make_manifest(rows[4:6]), tmp_path / "cache")


def test_extract_features_validates_arguments(manifest, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        _extract(manifest.iloc[:0], tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        _extract(manifest, tmp_path, batch_size=0)
    with pytest.raises(TypeError, match="FeatureConfig"):
        _extract(manifest, tmp_path, config={"n_mels": 32})


# ------------------------------------------------------------------------------ segments
def test_make_segments_shapes_labels_and_mask(manifest, tmp_path):
    fs = _extract(manifest, tmp_path)
    stats = NormStats.fit(fs.features)
    maps = LabelMaps.fit(fs.manifest)
    seg = make_segments(fs, stats=stats, label_maps=maps)
    N = len(seg)
    assert isinstance(seg, SegmentSet) and seg.n_utterances == len(fs)
    assert seg.x.shape == (N, 1, 32, 32) and seg.x.dtype == torch.float32
    assert seg.mask.shape == (N, 32) and seg.mask.dtype == torch.bool
    counts = torch.bincount(seg.utt, minlength=len(fs))
    assert (counts >= 1).all()
    # every valid frame appears; valid frames total >= utterance frames (overlap)
    assert int(seg.mask.sum()) >= int(fs.n_frames.sum())
    assert float(seg.x[~seg.mask.unsqueeze(1).unsqueeze(1).expand_as(seg.x)].abs().max()) == 0
    for name in ("utt", "emotion", "speaker", "gender", "arousal_bin", "valence_bin"):
        assert getattr(seg, name).dtype == torch.long and getattr(seg, name).shape == (N,)
    m = fs.manifest
    rows = seg.utt.numpy()
    expected_emotion = [EMOTIONS.index(e) if e else -1 for e in m.emotion.iloc[rows]]
    assert seg.emotion.tolist() == expected_emotion
    assert seg.gender.tolist() == [0 if g == "female" else 1 for g in m.gender.iloc[rows]]
    assert seg.speaker.tolist() == [maps.speakers.index(f"toy/{s}") for s in m.speaker.iloc[rows]]
    np.testing.assert_array_equal(seg.arousal.numpy(), m.arousal.iloc[rows].to_numpy(np.float32))
    assert seg.arousal_bin.tolist() == dimension_bins(m.arousal.iloc[rows]).tolist()
    unlabelled = m.emotion.iloc[rows].to_numpy() == ""
    assert torch.isnan(seg.valence[torch.from_numpy(unlabelled)]).all()
    # label_mask removes emotion / dimensional labels of the other rows
    keep = np.zeros(len(fs), dtype=bool)
    keep[:3] = True
    part = make_segments(fs, stats=stats, label_maps=maps, label_mask=keep)
    assert set(part.emotion[part.utt >= 3].tolist()) == {-1}
    assert torch.isnan(part.arousal[part.utt >= 3]).all()
    assert torch.equal(part.speaker, seg.speaker)
    # subset and .to
    sub = seg.subset(seg.emotion == 1)
    assert len(sub) == int((seg.emotion == 1).sum()) and set(sub.emotion.tolist()) == {1}
    assert len(seg.subset(np.array([0, 2]))) == 2
    assert seg.to("cpu") is seg
    with pytest.raises(ValueError, match="label_mask"):
        make_segments(fs, stats=stats, label_mask=np.ones(3, bool))


def test_segments_are_normalised(manifest, tmp_path):
    fs = _extract(manifest, tmp_path)
    stats = NormStats.fit(fs.features)
    seg = make_segments(fs, stats=stats, frames=24, hop=24)  # no overlap: each frame once
    assert seg.x.shape[-1] == 24
    valid = seg.x.permute(0, 3, 1, 2)[seg.mask]  # (n_valid_frames, C, n_mels)
    assert valid.shape[0] == int(fs.n_frames.sum())
    assert abs(float(valid.mean())) < 1e-3
    np.testing.assert_allclose(valid.std(dim=0).numpy(), 1.0, atol=1e-2)


def test_label_maps_and_bins_round_trip(manifest):
    maps = LabelMaps.fit(manifest)
    assert maps.speakers == ("toy/s0", "toy/s1", "toy/s2", "toy/s3")
    assert maps.emotions == EMOTIONS and maps.n_speakers == 4
    again = LabelMaps.from_dict(json.loads(json.dumps(maps.to_dict())))
    assert again == maps
    other = make_manifest(_rows(n_speakers=1, corpus="else"))
    assert set(maps.encode_speaker(other)) == {-1}  # other corpus: other people
    assert dimension_bins([1.0, 2.5, 2.6, 3.49, 3.5, 5.0, np.nan]).tolist() == \
        [0, 0, 1, 1, 2, 2, -1]


# -------------------------------------------------------------------------------- splits
def _split_manifest(n_speakers: int = 8) -> pd.DataFrame:
    rows = _rows(n_speakers=n_speakers, per_emotion=2)
    return make_manifest([{k: v for k, v in r.items() if k != "audio"} | {"path": "x.wav"}
                          for r in rows])


def test_group_folds_are_group_disjoint_and_cover_everything():
    m = _split_manifest()
    folds = group_folds(m, n_folds=4, seed=1)
    assert len(folds) == 4
    seen = []
    for train, test in folds:
        assert len(test) > 0
        assert not set(m.group[train]) & set(m.group[test])
        assert sorted(np.concatenate([train, test])) == list(range(len(m)))
        seen.extend(test)
    assert sorted(seen) == list(range(len(m)))
    again = group_folds(m, n_folds=4, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    with pytest.raises(ValueError, match=r"n_folds must be an int in \[2, 8\]"):
        group_folds(m, n_folds=9)
    unlabelled = m.assign(emotion="")
    for train, test in group_folds(unlabelled, n_folds=3):
        assert not set(m.group[train]) & set(m.group[test])


def test_leave_one_group_out_and_split_groups():
    m = _split_manifest()
    folds = leave_one_group_out(m)
    assert len(folds) == 8
    for k, (train, test) in enumerate(folds):
        assert set(m.group[test]) == {f"s{k}"} and f"s{k}" not in set(m.group[train])
    train, held = split_groups(m, fraction=0.25, seed=3)
    assert len(set(m.group[held])) == 2 and not set(m.group[train]) & set(m.group[held])
    assert len(train) + len(held) == len(m)
    t2, h2 = split_groups(m, fraction=0.25, seed=3)
    assert np.array_equal(held, h2)
    assert len(split_groups(m, fraction=0.0)[1]) == 0
    assert len(set(m.group[split_groups(m, fraction=0.01)[1]])) == 1  # at least one group
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\)"):
        split_groups(m, fraction=1.0)
    # an empty group falls back to the speaker
    no_group = m.assign(group="")
    train, held = split_groups(no_group, fraction=0.5, seed=0)
    assert not set(m.speaker[train]) & set(m.speaker[held])


def test_label_subset_is_stratified_and_deterministic():
    m = _split_manifest(n_speakers=5)  # 10 utterances per emotion
    m.loc[:3, "emotion"] = ""  # a few unlabelled rows
    labelled = m.emotion != ""
    half = label_subset(m, fraction=0.5, seed=0)
    assert half.dtype == bool and half.shape == (len(m),)
    assert not half[~labelled.to_numpy()].any()
    for e in EMOTIONS:
        n = int((m.emotion == e).sum())
        assert int(half[(m.emotion == e).to_numpy()].sum()) == max(1, round(0.5 * n))
    assert np.array_equal(half, label_subset(m, fraction=0.5, seed=0))
    assert not np.array_equal(half, label_subset(m, fraction=0.5, seed=1))
    tiny = label_subset(m, fraction=0.01, seed=0)
    assert sorted(m.emotion[tiny]) == sorted(EMOTIONS)  # one per class present
    assert np.array_equal(label_subset(m, fraction=1.0), labelled.to_numpy())
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]"):
        label_subset(m, fraction=0.0)


def test_featureset_rejects_misaligned_inputs(manifest):
    with pytest.raises(ValueError, match="rows"):
        FeatureSet(manifest=manifest, features=[], config=CFG)
