"""Issue 15 #9 and smaller items: file modes, strict JSON, synthetic-corpus completeness.

- files written atomically (through mkstemp) take the process's umask, not 0600;
- an unreadable shared corpus is reported, never deleted;
- a WAV of a synthetic corpus cut by hand is noticed (sizes in the fingerprint) and rendered
  again;
- NaN metrics are written as ``null``, never as the invalid JSON token ``NaN``.
"""

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from sertutor.audio import write_wav
from sertutor.config import SynthConfig
from sertutor.data import synth
from sertutor.data.manifest import make_manifest, write_manifest_csv
from sertutor.storage import atomic_write_bytes, atomic_write_json, atomic_write_text, to_json

SMALL = SynthConfig(field_speakers=1, field_utts_per_emotion=1, min_duration_s=0.5,
                    max_duration_s=0.6)


@pytest.fixture
def umask():
    """Set a umask for the test, restore the old one after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ file modes


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_writes_take_the_umask(tmp_path, umask, mask):
    umask(mask)
    expected = 0o666 & ~mask
    assert _mode(atomic_write_text(tmp_path / "a.txt", "x")) == expected
    assert _mode(atomic_write_bytes(tmp_path / "b.bin", b"x")) == expected
    assert _mode(atomic_write_json(tmp_path / "c.json", {"a": 1})) == expected
    assert _mode(write_wav(tmp_path / "d.wav", np.zeros(800, np.float32))) == expected
    write_manifest_csv(make_manifest([{"utt_id": "a", "path": "d.wav"}]), tmp_path / "m.csv")
    assert _mode(tmp_path / "m.csv") == expected
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_synthetic_corpus_files_are_readable_by_others(tmp_path, umask):
    umask(0o022)
    path = synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    files = [path, path.parent / "synth_config.json", *path.parent.glob("wav/*.wav")]
    assert len(files) == 2 + 4
    assert {_mode(f) for f in files} == {0o644}


# ------------------------------------------------------------------ a shared corpus


def test_unreadable_fingerprint_is_reported_and_nothing_deleted(tmp_path, monkeypatch):
    path = synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    folder = path.parent
    before = sorted(p.name for p in folder.rglob("*"))
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):  # what a 0600 file of another user gives
        if self.name == "synth_config.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(PermissionError) as info:
        synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    text = str(info.value)
    assert "synth_config.json" in text and "Permission denied" in text
    assert "nothing was deleted" in text and "SERTUTOR_DATA_DIR" in text
    assert sorted(p.name for p in folder.rglob("*")) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_unreadable_fingerprint_by_mode(tmp_path):
    path = synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    fp = path.parent / "synth_config.json"
    fp.chmod(0)
    try:
        with pytest.raises(PermissionError, match="nothing was deleted"):
            synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
        assert len(list(path.parent.glob("wav/*.wav"))) == 4 and path.is_file()
    finally:
        fp.chmod(0o644)


def test_unwritable_corpus_gives_one_clear_error(tmp_path, monkeypatch):
    path = synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    wav = sorted(path.parent.glob("wav/*.wav"))[0]
    wav.unlink()  # incomplete: must be completed, but the folder is not ours

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "unlink", deny)
    with pytest.raises(PermissionError, match=r"cannot write the synthetic corpus in .*"
                                              r"SERTUTOR_DATA_DIR"):
        synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)


# ------------------------------------------------------------------ a WAV cut by hand


@pytest.mark.parametrize("old_fingerprint", [False, True],
                         ids=["sizes-recorded", "fingerprint-without-sizes"])
def test_truncated_wav_is_noticed_and_rendered_again(tmp_path, old_fingerprint):
    path = synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    folder = path.parent
    wavs = sorted(folder.glob("wav/*.wav"))
    good = {p: p.read_bytes() for p in wavs}
    fp = json.loads((folder / "synth_config.json").read_text())
    assert fp["sizes"] == {p.stem: len(b) for p, b in good.items()}
    if old_fingerprint:  # a corpus written before sizes were recorded
        del fp["sizes"]
        (folder / "synth_config.json").write_text(json.dumps(fp))
    stamps = {p: p.stat().st_mtime_ns for p in wavs}
    os.truncate(wavs[1], len(good[wavs[1]]) // 2)
    synth.write_corpus("synth-field", preset=SMALL, data_dir=tmp_path, progress=False)
    assert wavs[1].read_bytes() == good[wavs[1]]  # rendered again, bit-identical
    assert all(p.stat().st_mtime_ns == stamps[p] for p in wavs if p != wavs[1])


def test_the_synth_command_repairs_a_truncated_wav(tmp_path, capsys):
    from sertutor.cli import main

    args = ["synth", "--preset", "tiny", "--corpus", "synth-field", "--data-dir",
            str(tmp_path), "--quiet"]
    assert main(args) == 0
    wavs = sorted((tmp_path / "corpora" / "tiny" / "synth-field" / "wav").glob("*.wav"))
    size = wavs[0].stat().st_size
    os.truncate(wavs[0], 100)
    assert main(args) == 0
    assert wavs[0].stat().st_size == size


# ------------------------------------------------------------------ strict JSON


def test_nan_metrics_are_written_as_null(tmp_path):
    metrics = {"uar": float("nan"), "ccc": np.float32("nan"), "wa": 0.5, "inf": math.inf,
               "per_class": [1.0, float("nan")], "arr": np.array([np.nan, 2.0]),
               "nested": {"x": (np.float64("-inf"), 3)}, "n": np.int64(4), "ok": True}
    path = atomic_write_json(tmp_path / "metrics.json", metrics)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text

    def strict(token):
        raise ValueError(f"invalid JSON token {token}")

    back = json.loads(text, parse_constant=strict)
    assert back == {"uar": None, "ccc": None, "wa": 0.5, "inf": None, "per_class": [1.0, None],
                    "arr": [None, 2.0], "nested": {"x": [None, 3]}, "n": 4, "ok": True}
    assert json.loads(to_json({"a": float("nan")}, indent=2)) == {"a": None}
    assert metrics["uar"] != metrics["uar"]  # the caller's dict is left as it was
