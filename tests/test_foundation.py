"""Foundation: lazy import, the data dir, atomic writes, audio I/O and the manifest schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sertutor.audio import AudioError, check_waveform, load_audio, write_wav
from sertutor.data.manifest import (COLUMNS, make_manifest, read_manifest_csv,
                                    validate_manifest, write_manifest_csv)
from sertutor.storage import atomic_write, atomic_write_text, data_dir


def test_import_is_lazy_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import sertutor; "
            "dt = time.perf_counter() - t; "
            "heavy = [m for m in ('torch', 'umap', 'plotly', 'ipywidgets') if m in sys.modules]; "
            "print(dt, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert float(out[0]) < 2.0
    assert out[1].strip() == "[]"  # torch, umap, plotly and widgets load only when used


def test_data_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()
    monkeypatch.delenv("SERTUTOR_DATA_DIR")
    checkout = Path(__file__).resolve().parents[1]
    assert data_dir(create=False) == checkout / "data"  # running from a checkout


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = atomic_write_text(tmp_path / "f.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # no temp file left


def test_load_audio_converts_and_validates(tmp_path):
    t = np.arange(22050) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 200 * t)] * 2, axis=1) * 0.5
    sf.write(tmp_path / "s.wav", stereo, 22050)
    audio = load_audio(tmp_path / "s.wav")
    assert audio.dtype == np.float32 and audio.ndim == 1 and abs(len(audio) - 16000) <= 1
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="junk.wav: unreadable"):
        load_audio(tmp_path / "junk.wav")
    with pytest.raises(AudioError, match="NaN"):
        check_waveform(np.full(1000, np.nan))
    with pytest.raises(AudioError, match="shorter than one analysis window"):
        check_waveform(np.zeros(100))
    with pytest.raises(AudioError, match="mono"):
        check_waveform(np.zeros((2, 1000)))


def test_write_wav_is_16bit_pcm(tmp_path):
    path = write_wav(tmp_path / "a.wav", np.linspace(-2, 2, 1600).astype(np.float32))
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert np.abs(sf.read(path)[0]).max() <= 1.0  # clipped


def test_make_manifest_fills_schema_and_validates(tmp_path):
    df = make_manifest([{"utt_id": "a", "path": "x.wav", "emotion": "sad", "arousal": 2.0},
                        {"utt_id": "b", "path": "y.wav", "improvised": True}])
    assert list(df.columns[:len(COLUMNS)]) == list(COLUMNS) and "improvised" in df.columns
    assert df.loc[1, "emotion"] == "" and np.isnan(df.loc[1, "arousal"])
    with pytest.raises(ValueError, match="'emotion' has unknown values \\['bored'\\]"):
        make_manifest([{"utt_id": "a", "path": "x", "emotion": "bored"}])
    with pytest.raises(ValueError, match="duplicate utt_id"):
        make_manifest([{"utt_id": "a", "path": "x"}, {"utt_id": "a", "path": "y"}])
    with pytest.raises(ValueError, match="arousal.*\\[1.0, 5.0\\]"):
        make_manifest([{"utt_id": "a", "path": "x", "arousal": 7}])
    with pytest.raises(ValueError, match="without path or audio"):
        make_manifest([{"utt_id": "a"}])
    with pytest.raises(ValueError, match="missing columns"):
        validate_manifest(pd.DataFrame({"utt_id": ["a"]}))

    csv = tmp_path / "m.csv"
    write_manifest_csv(df, csv)
    back = read_manifest_csv(csv)
    assert back["path"].tolist() == [str(tmp_path / "x.wav"), str(tmp_path / "y.wav")]
    assert back.loc[0, "arousal"] == 2.0 and back.loc[0, "emotion"] == "sad"
