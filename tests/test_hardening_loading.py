"""Issue 15 #3 and #7: nothing hangs and nothing is lost silently while a corpus loads.

A named pipe or a device in a corpus folder or a manifest is skipped and reported by name
(opening one blocks or never ends); an unreadable sub-folder, a non-UTF-8 file name and a
non-numeric rating are reported by name; a manifest CSV that is empty, not UTF-8 or has a
misspelt header gets an error naming the file and listing the columns it has; a CSV without
``utt_id`` gets ids from its paths.
"""

import os
import warnings

import numpy as np
import pytest

import corpus_fixtures as fx
from sertutor.data import corpora
from sertutor.data.corpora import CorpusWarning, load_corpus
from sertutor.data.manifest import make_manifest, read_manifest_csv

TESS_N = len(fx.TESS_FILES)


def _one_warning(record) -> CorpusWarning:
    found = [w.message for w in record if issubclass(w.category, CorpusWarning)]
    assert len(found) == 1, [str(m) for m in found]
    return found[0]


# ------------------------------------------------------------------ #3 pipes and devices


@pytest.mark.timeout(60)
@pytest.mark.parametrize("check_audio", [True, False])
def test_fifo_named_like_a_wav_in_a_corpus_folder_is_skipped(tmp_path, check_audio):
    root = fx.make_tess(tmp_path)
    pipe = root / "OAF_angry" / "OAF_pipe_angry.wav"
    os.mkfifo(pipe)
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_tess(root, check_audio=check_audio)
    message = _one_warning(record)
    assert "OAF_pipe_angry.wav" in str(message) and "named pipe" in str(message)
    assert len(df) == TESS_N and str(pipe) not in set(df.path)


@pytest.mark.timeout(60)
def test_manifest_rows_pointing_at_a_fifo_or_dev_zero_are_skipped(tmp_path):
    csv = fx.make_manifest_csv(tmp_path)
    os.mkfifo(csv.parent / "clips" / "pipe.wav")
    with open(csv, "a", encoding="utf-8") as f:
        f.write("u4,clips/pipe.wav,s2,male,sad,sad,2.0,g2,\n"
                "u5,/dev/zero,s2,male,sad,sad,2.0,g2,\n")
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_manifest(csv)
    message = _one_warning(record)
    reasons = dict(message.skipped)
    assert "named pipe" in reasons[str(csv.parent / "clips" / "pipe.wav")]
    assert "character device" in reasons["/dev/zero"]
    assert sorted(df.utt_id) == ["u1", "u2", "u3"]


@pytest.mark.timeout(60)
def test_a_fifo_given_as_the_manifest_csv_is_refused(tmp_path):
    pipe = tmp_path / "manifest.csv"
    os.mkfifo(pipe)
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        load_corpus(f"manifest:{pipe}")
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        read_manifest_csv(pipe)


@pytest.mark.timeout(60)
def test_load_audio_refuses_pipes_and_devices_by_name(tmp_path):
    from sertutor.audio import AudioError, load_audio

    pipe = tmp_path / "pipe.wav"
    os.mkfifo(pipe)
    for path in (pipe, "/dev/zero"):
        with pytest.raises(AudioError, match=r"not a regular file"):
            load_audio(path)
    with pytest.raises(AudioError, match=r"no such file"):
        load_audio(tmp_path / "missing.wav")


# ------------------------------------------------------------------ #7 folders and names


def test_unreadable_subfolder_is_reported_by_name(tmp_path, monkeypatch):
    root = fx.make_tess(tmp_path)
    locked = root / "YAF_sad"
    real_scandir, real_listdir = os.scandir, os.listdir

    def deny(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))

    def scandir(path="."):
        deny(path)
        return real_scandir(path)

    def listdir(path="."):
        deny(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # works as root too, unlike chmod 000
    monkeypatch.setattr(os, "listdir", listdir)
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_tess(root)
    message = _one_warning(record)
    assert "YAF_sad" in str(message) and "folder cannot be read" in str(message)
    assert "Permission denied" in str(message)
    assert len(df) == TESS_N - 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its mode")
def test_unreadable_subfolder_by_mode(tmp_path):
    root = fx.make_tess(tmp_path)
    locked = root / "YAF_sad"
    locked.chmod(0)
    try:
        with pytest.warns(CorpusWarning) as record:
            df = corpora.load_tess(root)
    finally:
        locked.chmod(0o755)
    assert "YAF_sad" in str(_one_warning(record)) and len(df) == TESS_N - 1


def test_non_utf8_file_name_is_reported_by_name(tmp_path):
    root = fx.make_tess(tmp_path)
    good = root / "OAF_angry" / "OAF_back_angry.wav"
    bad = os.path.join(os.fsencode(root / "OAF_angry"), b"OAF_b\xe4ck_angry.wav")  # latin-1
    with open(bad, "wb") as f:
        f.write(good.read_bytes())
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_tess(root)
    message = _one_warning(record)
    assert "OAF_b\\xe4ck_angry.wav" in str(message)  # shown, escaped, by name
    assert "not valid UTF-8" in str(message)
    assert len(df) == TESS_N
    str(message).encode("utf-8")  # printable: no lone surrogates


# ------------------------------------------------------------------ #7 the manifest CSV


def _csv(tmp_path, text: str | bytes, name: str = "manifest.csv"):
    fx.write_tone(tmp_path / "clips" / "a.wav")
    fx.write_tone(tmp_path / "clips" / "b.wav")
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("column, value", [("arousal", "high"), ("intensity", "strong"),
                                           ("valence", "4,5")])
def test_non_numeric_rating_is_reported_with_file_line_and_column(tmp_path, column, value):
    path = _csv(tmp_path, f"utt_id,path,{column}\nu1,clips/a.wav,3.0\nu2,clips/b.wav,\"{value}\"\n"
                if column != "intensity" else
                f"utt_id,path,{column}\nu1,clips/a.wav,0.5\nu2,clips/b.wav,{value}\n")
    for load in (read_manifest_csv, corpora.load_manifest):
        with pytest.raises(ValueError) as info:
            load(path)
        text = str(info.value)
        assert str(path) in text and f"'{column}'" in text and "line 3" in text
        assert repr(value) in text


def test_missing_values_stay_missing(tmp_path):
    path = _csv(tmp_path, "utt_id,path,arousal,intensity\nu1,clips/a.wav,NA,\n"
                          "u2,clips/b.wav,nan,0.5\n")
    df = read_manifest_csv(path)
    assert np.isnan(df.arousal).all() and np.isnan(df.loc[0, "intensity"])


def test_make_manifest_reports_non_numeric_values_by_row():
    with pytest.raises(ValueError, match=r"'arousal' must hold numbers.*row 1: 'high'"):
        make_manifest([{"utt_id": "a", "path": "x", "arousal": 2.0},
                       {"utt_id": "b", "path": "y", "arousal": "high"}])


def test_empty_csv_names_the_file(tmp_path):
    path = _csv(tmp_path, "")
    with pytest.raises(ValueError, match=r"manifest\.csv: manifest CSV is empty; expected"):
        read_manifest_csv(path)


def test_csv_that_is_not_utf8_names_the_file(tmp_path):
    path = _csv(tmp_path, "utt_id,path,transcript\nu1,clips/a.wav,gr\xfc\xdf dich\n"
                .encode("latin-1"))
    with pytest.raises(ValueError, match=r"manifest\.csv: manifest CSV is not UTF-8 text "
                                          r"\(byte 0xfc on line 2\)"):
        corpora.load_manifest(path)


def test_misspelt_header_lists_the_columns_found_and_expected(tmp_path):
    path = _csv(tmp_path, "utt_id,pth,emotoin\nu1,clips/a.wav,happy\n")
    with pytest.raises(ValueError) as info:
        read_manifest_csv(path)
    text = str(info.value)
    assert str(path) in text and "lacks the required column 'path'" in text
    assert "columns are ['utt_id', 'pth', 'emotoin']" in text
    assert "'pth' -> 'path'" in text and "'emotoin' -> 'emotion'" in text
    assert "'speaker'" in text  # the expected columns are listed as such


def test_utf8_bom_and_spaces_in_the_header_are_accepted(tmp_path):
    path = _csv(tmp_path, "\ufeffutt_id, path, emotion\nu1, clips/a.wav, happy\n")
    df = read_manifest_csv(path)
    assert df.loc[0, "utt_id"] == "u1" and df.loc[0, "emotion"] == "happy"
    assert df.loc[0, "path"] == str(tmp_path / "clips" / "a.wav")


def test_csv_without_utt_id_gets_ids_from_paths(tmp_path):
    path = _csv(tmp_path, "path,emotion,speaker\nclips/a.wav,happy,s1\nclips/b.wav,sad,s2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        df = corpora.load_manifest(path)
    assert sorted(df.utt_id) == ["a", "b"]
    assert df.set_index("utt_id").loc["b", "emotion"] == "sad"


def test_ids_from_paths_stay_unique_when_names_repeat(tmp_path):
    fx.write_tone(tmp_path / "s1" / "x.wav")
    fx.write_tone(tmp_path / "s2" / "x.wav")
    path = tmp_path / "m.csv"
    path.write_text("path,speaker\ns1/x.wav,s1\ns2/x.wav,s2\n", encoding="utf-8")
    df = read_manifest_csv(path)
    assert sorted(df.utt_id) == ["s1/x", "s2/x"]
