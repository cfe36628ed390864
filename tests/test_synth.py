"""Tests of the synthetic voice (sertutor.data.voice) and corpora (sertutor.data.synth).

Everything here uses the ``tiny`` preset or short direct ``synthesize_voice`` calls, and writes
only under pytest's ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import signal

from sertutor.config import SynthConfig, get_config
from sertutor.data.manifest import (COLUMNS, EMOTIONS, EMOTIONS_EXTENDED, read_manifest_csv,
                                    validate_manifest)
from sertutor.data.synth import (CORPORA, corpus_plan, generate_corpus, load_synth,
                                 render_utterance, synthesize_voice, write_corpus)
from sertutor.data.voice import (EMOTION_PROTOTYPES, _fast_lfilter, emotion_table,
                                 formant_cascade)

SR = 16000
TINY = get_config("tiny").synth


@pytest.fixture(scope="module")
def tiny_corpora() -> dict[str, pd.DataFrame]:
    """All three tiny corpora, in memory (about 2 s)."""
    return {name: generate_corpus(name, preset="tiny") for name in CORPORA}


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


# ------------------------------------------------------------------------ the voice
@pytest.mark.parametrize("emotion", EMOTIONS_EXTENDED)
def test_synthesize_voice_output(emotion):
    audio, info = synthesize_voice(emotion=emotion, duration_s=1.0, gender="male", seed=1)
    assert audio.shape == (SR,) and audio.dtype == np.float32
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
    assert np.abs(audio).max() > 0.01  # not silent
    assert info["f0"].shape == info["f0_times"].shape and info["f0"].ndim == 1
    voiced = info["f0"][info["f0"] > 0]
    assert voiced.size > 10 and 55 <= voiced.min() and voiced.max() <= 600
    assert info["text"] and info["emotion"] == emotion and info["sample_rate"] == SR
    assert {"f0_hz", "rate", "loudness_db", "breathiness", "tilt_db"} <= set(info["params"])


def test_synthesize_voice_knobs_and_sample_rate():
    base, info = synthesize_voice(duration_s=1.0, seed=2)
    low, info_low = synthesize_voice(duration_s=1.0, seed=2, f0_scale=0.8, loudness_db=-6.0,
                                     breathiness=0.6)
    assert info_low["params"]["f0_hz"] == pytest.approx(0.8 * info["params"]["f0_hz"])
    assert info_low["params"]["breathiness"] == 0.6
    assert _rms_db(low) < _rms_db(base) - 4.0
    audio8k, _ = synthesize_voice(duration_s=0.5, sample_rate=8000)
    assert audio8k.shape == (4000,)


def test_synthesize_voice_is_deterministic():
    a1, i1 = synthesize_voice(emotion="angry", seed=3, duration_s=1.0)
    a2, i2 = synthesize_voice(emotion="angry", seed=3, duration_s=1.0)
    assert np.array_equal(a1, a2) and np.array_equal(i1["f0"], i2["f0"])
    assert i1["text"] == i2["text"]
    b, _ = synthesize_voice(emotion="angry", seed=4, duration_s=1.0)
    c, _ = synthesize_voice(emotion="angry", seed=3, duration_s=1.0, speaker_seed=1)
    assert not np.array_equal(a1, b) and not np.array_equal(a1, c)


def test_same_seed_same_bits_in_a_fresh_process():
    code = ("import hashlib; from sertutor.data.synth import synthesize_voice; "
            "a, _ = synthesize_voice(emotion='happy', seed=9, duration_s=0.6); "
            "print(hashlib.sha256(a.tobytes()).hexdigest())")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env=env, check=True).stdout.strip()
    here, _ = synthesize_voice(emotion="happy", seed=9, duration_s=0.6)
    assert out == hashlib.sha256(here.tobytes()).hexdigest()


def test_formant_cascade_equals_static_filters_and_fast_path():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4000)
    freqs = np.tile([700.0, 1200.0, 2500.0, 3400.0, 4500.0], (50, 1))
    bws = np.tile([80.0, 90.0, 140.0, 220.0, 300.0], (50, 1))
    got = formant_cascade(x, freqs, bws, hop=80, sample_rate=SR)
    r = np.exp(-np.pi * bws[0] / SR)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freqs[0] / SR), r * r
    sos = np.stack([[1 + a1[k] + a2[k], 0, 0, 1, a1[k], a2[k]] for k in range(5)])
    np.testing.assert_allclose(got, signal.sosfilt(sos, x), rtol=1e-6, atol=1e-9)
    b, a, zi = np.array([0.2]), np.array([1.0, -1.5, 0.7]), np.array([0.1, -0.2])
    fast = _fast_lfilter()(b, a, x[:100], zi)
    slow = signal.lfilter(b, a, x[:100], zi=zi)
    np.testing.assert_allclose(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1])


def test_emotion_prototypes_cover_the_extended_set():
    table = emotion_table()
    assert list(table.index) == list(EMOTIONS_EXTENDED) == list(EMOTION_PROTOTYPES)
    assert ((table[["arousal", "valence", "dominance"]] >= 1)
            & (table[["arousal", "valence", "dominance"]] <= 5)).all().all()
    n = table.loc["neutral"]
    assert n.f0_st == 0 and n.loudness_db == 0 and n.rate == 1  # neutral is the baseline


def test_acoustic_correlates_of_emotion_and_gender():
    """Same speakers: median F0 (pyin) and RMS of angry, happy > neutral > sad; F0 f > m."""
    import librosa

    medians = {}
    for gender in ("female", "male"):
        for spk in (0, 1):
            f0s, levels = {}, {}
            for emotion in EMOTIONS:
                audio, _ = synthesize_voice(emotion=emotion, gender=gender, speaker_seed=spk,
                                            duration_s=1.0, seed=5)
                f0, _, _ = librosa.pyin(audio, fmin=60, fmax=500, sr=SR, frame_length=1024,
                                        hop_length=320, n_thresholds=20)
                f0s[emotion] = float(np.nanmedian(f0))
                levels[emotion] = _rms_db(audio)
            for measure in (f0s, levels):
                assert min(measure["angry"], measure["happy"]) > measure["neutral"] \
                    > measure["sad"], (gender, spk, measure)
            medians[gender, spk] = f0s["neutral"]
    assert min(medians["female", 0], medians["female", 1]) > \
        max(medians["male", 0], medians["male", 1]) * 1.3


# ------------------------------------------------------------------------ the corpora
def test_corpora_manifests(tiny_corpora):
    emo, aux, field = (tiny_corpora[n] for n in CORPORA)
    for name, df in tiny_corpora.items():
        validate_manifest(df)
        assert list(df.columns[:len(COLUMNS)]) == list(COLUMNS)
        assert set(df.corpus) == {name} and (df.path == "").all()
        assert (df.group == df.speaker).all() and (df.transcript != "").all()
        assert df.speaker.str.startswith(name.split("-")[1] + "_s").all()
        assert set(df.gender) == {"female", "male"}
        for audio in df.audio:
            assert audio.dtype == np.float32 and audio.ndim == 1
            assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
            assert TINY.min_duration_s * SR - 1 <= audio.size <= TINY.max_duration_s * SR + 1
    # counts from the config
    assert emo.speaker.nunique() == TINY.emo_speakers
    per = emo.groupby(["speaker", "emotion_extended"]).size()
    for (_, e), count in per.items():
        assert count == (TINY.emo_utts_per_emotion if e in EMOTIONS else
                         TINY.emo_utts_per_extended)
    assert set(emo.emotion_extended) == set(EMOTIONS_EXTENDED)
    assert len(emo) == TINY.emo_speakers * (4 * TINY.emo_utts_per_emotion
                                            + 4 * TINY.emo_utts_per_extended)
    assert len(aux) == TINY.aux_speakers * TINY.aux_utts_per_speaker
    assert len(field) == TINY.field_speakers * 4 * TINY.field_utts_per_emotion
    assert set(field.emotion) == set(EMOTIONS) == set(field.emotion_extended)
    # labels: 4-class column empty outside the set; aux unlabelled
    extra = ~emo.emotion_extended.isin(EMOTIONS)
    assert (emo.emotion[extra] == "").all()
    assert (emo.emotion[~extra] == emo.emotion_extended[~extra]).all()
    for df in (emo, field):
        assert df[["intensity", "arousal", "valence", "dominance"]].notna().all().all()
        assert (df.intensity[df.emotion_extended == "neutral"] == 0).all()
        assert (df.intensity[df.emotion_extended != "neutral"] > 0).all()
    assert (aux.emotion == "").all() and (aux.emotion_extended == "").all()
    assert aux[["intensity", "arousal", "valence", "dominance"]].isna().all().all()
    # dimensional ratings follow the prototypes
    means = emo.groupby("emotion_extended")[["arousal", "valence"]].mean()
    assert means.arousal["angry"] > means.arousal["neutral"] > means.arousal["sad"]
    assert means.valence["happy"] > means.valence["neutral"] > means.valence["angry"]
    # speakers disjoint across corpora; alternating gender
    speakers = [set(df.speaker) for df in tiny_corpora.values()]
    assert not (speakers[0] & speakers[1] or speakers[0] & speakers[2]
                or speakers[1] & speakers[2])
    assert emo.drop_duplicates("speaker").gender.tolist()[:2] == ["female", "male"]


def test_corpus_level_loudness_follows_emotion(tiny_corpora):
    emo = tiny_corpora["synth-emo"]
    level = emo.assign(db=[_rms_db(a) for a in emo.audio]).groupby("emotion_extended").db.mean()
    assert min(level["angry"], level["happy"]) > level["neutral"] > level["sad"]


def test_utterances_render_identically_alone_and_in_a_corpus(tiny_corpora):
    specs = corpus_plan("synth-field", preset="tiny")
    field = tiny_corpora["synth-field"]
    for i in (7, 0, 30):  # any order, one at a time
        wave, row = render_utterance(specs[i])
        assert row["utt_id"] == field.utt_id[i]
        assert np.array_equal(wave, field.audio[i])
    _, row = render_utterance(specs[5], audio=False)
    assert row["transcript"] == field.transcript[5]


def test_seed_and_preset_change_the_corpus(tiny_corpora):
    other = generate_corpus("synth-field", preset=SynthConfig(**{**vars(TINY), "seed": 1,
                                                                 "field_speakers": 2}))
    same_ids = other.utt_id.isin(tiny_corpora["synth-field"].utt_id)
    assert same_ids.all() and len(other) == 2 * 4 * TINY.field_utts_per_emotion
    ref = tiny_corpora["synth-field"].set_index("utt_id")
    assert not np.array_equal(other.audio[0], ref.audio[other.utt_id[0]])
    # the preset's sizes do not change a speaker's voice: same config seed, subset of speakers
    sub = generate_corpus("synth-field", preset=SynthConfig(**{**vars(TINY), "field_speakers": 1}))
    assert np.array_equal(sub.audio[0], ref.audio[sub.utt_id[0]])


# ------------------------------------------------------------------------ on disk
def test_write_corpus_is_idempotent_and_regenerates(tmp_path, tiny_corpora):
    path = write_corpus("synth-field", preset="tiny", data_dir=tmp_path, progress=False)
    folder = tmp_path / "corpora" / "tiny" / "synth-field"
    assert path == folder / "manifest.csv"
    fingerprint = json.loads((folder / "synth_config.json").read_text())
    assert fingerprint["corpus"] == "synth-field" and fingerprint["preset"] == "tiny"
    wavs = sorted((folder / "wav").glob("*.wav"))
    assert len(wavs) == len(tiny_corpora["synth-field"])
    info = sf.info(str(wavs[0]))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 1, "PCM_16", "WAV")
    # the WAV holds the in-memory audio, to 16-bit precision
    df = read_manifest_csv(path)
    assert df.path[0] == str(folder / "wav" / f"{df.utt_id[0]}.wav")
    audio, rate = sf.read(df.path[0], dtype="float32")
    np.testing.assert_allclose(audio, tiny_corpora["synth-field"].audio[0], atol=1.0 / 32767)
    # second call: nothing rewritten
    stamps = {p: p.stat().st_mtime_ns for p in [path, *wavs]}
    assert write_corpus("synth-field", preset="tiny", data_dir=tmp_path, progress=False) == path
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    # a missing WAV is rendered again, the others stay
    wavs[3].unlink()
    write_corpus("synth-field", preset="tiny", data_dir=tmp_path, progress=False)
    assert wavs[3].is_file()
    assert all(p.stat().st_mtime_ns == stamps[p] for p in wavs if p != wavs[3])
    again, _ = sf.read(str(wavs[3]), dtype="float32")
    expected = tiny_corpora["synth-field"].set_index("utt_id").audio[wavs[3].stem]
    np.testing.assert_allclose(again, expected, atol=1.0 / 32767)
    # a changed config regenerates everything
    cfg = get_config("tiny", synth__seed=5, synth__field_speakers=2)
    path2 = write_corpus("synth-field", preset=cfg, data_dir=tmp_path, progress=False)
    assert path2 == path  # the Config is named "tiny": same folder, new content
    assert json.loads((folder / "synth_config.json").read_text())["synth"]["seed"] == 5
    assert len(read_manifest_csv(path2)) == 2 * 4 * TINY.field_utts_per_emotion
    assert len(list((folder / "wav").glob("*.wav"))) == 2 * 4 * TINY.field_utts_per_emotion
    assert all(p.stat().st_mtime_ns != stamps[p] for p in wavs[:2])


def test_load_synth_and_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path / "env"))
    df = load_synth("synth-field", preset="tiny")
    validate_manifest(df)
    assert df.path.map(lambda p: Path(p).is_absolute() and Path(p).is_file()).all()
    assert str(tmp_path / "env" / "corpora" / "tiny" / "synth-field") in df.path[0]
    assert df.audio.isna().all()
    from sertutor.cli import main

    out = tmp_path / "cli"
    assert main(["synth", "--preset", "tiny", "--corpus", "synth-field", "--data-dir",
                 str(out), "--quiet"]) == 0
    assert (out / "corpora" / "tiny" / "synth-field" / "manifest.csv").is_file()
    custom = write_corpus("synth-field", preset=SynthConfig(field_speakers=1,
                                                            field_utts_per_emotion=1),
                          data_dir=tmp_path, progress=False)
    assert custom.parent.parent.name == "custom"


# ------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("call, match", [
    (lambda: generate_corpus("synth-foo"), r"name must be one of .*synth-emo.*synth-aux"),
    (lambda: write_corpus("emo", preset="tiny"), r"name must be one of"),
    (lambda: generate_corpus("synth-emo", preset="huge"), r"unknown preset 'huge'"),
    (lambda: synthesize_voice(emotion="bored"), r"emotion must be one of .*neutral.*calm"),
    (lambda: synthesize_voice(intensity=1.5), r"intensity must lie in \[0.0, 1.0\]"),
    (lambda: synthesize_voice(intensity=-0.1), r"intensity"),
    (lambda: synthesize_voice(gender="robot"), r"gender must be one of"),
    (lambda: synthesize_voice(duration_s=0.0), r"duration_s"),
    (lambda: synthesize_voice(f0_scale=0.0), r"f0_scale"),
    (lambda: synthesize_voice(breathiness=2.0), r"breathiness"),
    (lambda: synthesize_voice(sample_rate=100), r"sample_rate"),
    (lambda: synthesize_voice(seed=-1), r"seed"),
    (lambda: generate_corpus("synth-aux", preset=SynthConfig(aux_speakers=0)),
     r"aux_speakers must be an integer >= 1"),
    (lambda: generate_corpus("synth-aux", preset=SynthConfig(min_duration_s=3.0,
                                                             max_duration_s=2.0)),
     r"min_duration_s"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_preset_of_the_wrong_type():
    with pytest.raises(TypeError, match="preset must be"):
        generate_corpus("synth-emo", preset=3)
