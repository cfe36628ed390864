"""Real-corpus loaders on miniature corpora in each corpus's exact layout (corpus_fixtures)."""

import importlib.util
import math
import shutil
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest

import corpus_fixtures as fx
from sertutor.audio import SAMPLE_RATE, load_audio
from sertutor.data import corpora
from sertutor.data.corpora import CorpusWarning, label_mapping, list_corpora, load_corpus
from sertutor.data.manifest import COLUMNS, validate_manifest

LOADERS = {
    "iemocap": corpora.load_iemocap, "msp-improv": corpora.load_msp_improv,
    "ravdess": corpora.load_ravdess, "crema-d": corpora.load_crema_d,
    "emodb": corpora.load_emodb, "tess": corpora.load_tess, "savee": corpora.load_savee,
    "librispeech": corpora.load_librispeech, "voxceleb1": corpora.load_voxceleb1,
    "manifest": corpora.load_manifest,
}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """Every clean fixture corpus, built once: {name: path the loader takes}."""
    return fx.make_all(tmp_path_factory.mktemp("corpora"))


def load_clean(loader, path, **kwargs):
    """Load, failing the test on any CorpusWarning (clean fixtures must load silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        df = loader(path, **kwargs)
    validate_manifest(df)
    assert list(df.columns[:len(COLUMNS)]) == list(COLUMNS)
    return df.set_index("utt_id", drop=False)


def corpus_warning(record):
    found = [w for w in record if issubclass(w.category, CorpusWarning)]
    assert len(found) == 1, [str(w.message) for w in found]
    return found[0].message


def isnan(x):
    return isinstance(x, float) and math.isnan(x)


# ------------------------------------------------------------------ every corpus, field by field


def test_iemocap_fields(roots):
    df = load_clean(corpora.load_iemocap, roots["iemocap"])
    assert len(df) == 8 and set(df.corpus) == {"iemocap"}
    r = df.loc["Ses01F_impro01_F000"]
    assert (r.speaker, r.gender, r.group, r.emotion, r.emotion_extended) == (
        "Ses01_F", "female", "Ses01", "neutral", "neutral")
    assert (r.valence, r.arousal, r.dominance) == (2.5, 2.5, 2.5)
    assert r.transcript == "Excuse me." and r.improvised and r.dialog == "Ses01F_impro01"
    assert isnan(r.intensity) and r.duration == pytest.approx(fx.DURATION)
    # excited merges into happy; [V, A, D] order of the file
    r = df.loc["Ses01F_impro01_F001"]
    assert (r.emotion, r.emotion_extended, r.category) == ("happy", "happy", "exc")
    assert (r.valence, r.arousal, r.dominance) == (4.0, 3.5, 3.0)
    # the speaker is the letter after the last underscore, not the dialog's (mocap) letter
    r = df.loc["Ses01M_script01_1_F000"]
    assert (r.speaker, r.gender, r.improvised, r.dialog) == (
        "Ses01_F", "female", False, "Ses01M_script01_1")
    assert (r.emotion, r.transcript) == ("sad", "What's he going to say?")
    r = df.loc["Ses01F_impro01_M000"]
    assert (r.speaker, r.gender, r.emotion, r.emotion_extended) == ("Ses01_M", "male", "", "")
    assert (df.loc["Ses01M_script01_1_M000", ["emotion", "emotion_extended"]].tolist()
            == ["", "surprise"])
    assert df.loc["Ses02F_impro02_M000", "emotion_extended"] == ""  # xxx
    r = df.loc["Ses02F_impro02_F000"]
    assert (r.group, r.emotion, r.arousal, r.transcript) == ("Ses02", "angry", 4.5, "")
    r = df.loc["Ses02F_impro02_M001"]  # audio without a label line: kept unlabelled
    assert r.emotion == "" and isnan(r.valence)


def test_msp_improv_fields(roots):
    df = load_clean(corpora.load_msp_improv, roots["msp-improv"])
    assert len(df) == 6
    r = df.loc["MSP-IMPROV-S01A-F01-S-FM01"]
    assert (r.speaker, r.gender, r.group, r.emotion, r.emotion_extended) == (
        "F01", "female", "session1", "angry", "angry")
    assert (r.arousal, r.valence, r.dominance, r.naturalness) == (4.2, 1.8, 3.6, 3.0)
    assert (r.recording, r.target_emotion, r.sentence, r.clip_code) == ("S", "angry", "01", "FM01")
    r = df.loc["MSP-IMPROV-S02S-F02-T-FM01"]  # 'D:x ; N:y;' spelling, 6 decimals
    assert (r.group, r.emotion, r.arousal, r.valence, r.dominance, r.naturalness) == (
        "session2", "sad", 1.6, 2.0, 2.2, 3.4)
    assert r.recording_type == corpora.MSP_IMPROV_RECORDING_TYPES["T"]
    r = df.loc["MSP-IMPROV-S03H-M01-P-MF01"]
    assert (r.speaker, r.gender, r.emotion, r.target_emotion) == ("M01", "male", "happy", "happy")
    assert df.loc["MSP-IMPROV-S01A-M01-R-MM01", "emotion"] == "neutral"
    assert df.loc["MSP-IMPROV-S02S-M02-S-MF01", "emotion"] == ""  # X: no agreement
    r = df.loc["MSP-IMPROV-S04N-F02-S-FM02"]  # no line in Evaluation.txt
    assert r.emotion == "" and isnan(r.arousal) and r.target_emotion == "neutral"
    only_s = load_clean(corpora.load_msp_improv, roots["msp-improv"], recording_types=["S"])
    assert set(only_s.recording) == {"S"} and len(only_s) == 3


def test_msp_improv_accepts_misspelt_label_file(tmp_path):
    root = fx.make_msp_improv(tmp_path)
    (root / "Evaluation.txt").rename(root / "Evalution.txt")
    assert load_clean(corpora.load_msp_improv, root).loc[
        "MSP-IMPROV-S01A-F01-S-FM01", "emotion"] == "angry"


def test_ravdess_fields(roots):
    df = load_clean(corpora.load_ravdess, roots["ravdess"])
    assert set(df.utt_id) == {n for _, _, n in fx.RAVDESS_FILES if n[3:5] == "01"}  # no song
    r = df.loc["03-01-01-01-01-01-01"]
    assert (r.speaker, r.group, r.gender, r.emotion, r.intensity) == (
        "Actor_01", "Actor_01", "male", "neutral", 0.5)
    assert r.transcript == "Kids are talking by the door" and r.vocal_channel == "speech"
    r = df.loc["03-01-05-02-02-01-01"]
    assert (r.emotion, r.intensity, r.transcript) == ("angry", 1.0, "Dogs are sitting by the door")
    r = df.loc["03-01-02-01-01-02-02"]
    assert (r.gender, r.emotion, r.emotion_extended, r.repetition) == ("female", "", "calm", 2)
    assert df.loc[fx.RAVDESS_STEREO, "duration"] == pytest.approx(0.5)
    song = load_clean(corpora.load_ravdess, roots["ravdess"], include_song=True)
    r = song.loc["03-02-04-01-01-01-02"]
    assert (r.vocal_channel, r.emotion, r.speaker) == ("song", "sad", "Actor_02")


def test_crema_d_fields(roots):
    df = load_clean(corpora.load_crema_d, roots["crema-d"])
    assert len(df) == 5
    r = df.loc["1001_DFA_ANG_XX"]
    assert (r.speaker, r.group, r.gender, r.emotion, r.transcript) == (
        "1001", "1001", "male", "angry", "Don't forget a jacket")
    assert isnan(r.intensity)
    r = df.loc["1002_TIE_SAD_LO"]
    assert (r.gender, r.emotion, r.intensity) == ("female", "sad", pytest.approx(1 / 3))
    assert df.loc["1001_IEO_HAP_HI", "intensity"] == 1.0
    r = df.loc["1002_ITS_DIS_MD"]
    assert (r.emotion, r.emotion_extended, r.level) == ("", "disgust", "MD")
    assert df.loc["1091_WSI_NEU_XX", "transcript"] == "We'll stop in a couple of minutes"


def test_emodb_fields(roots):
    df = load_clean(corpora.load_emodb, roots["emodb"])
    r = df.loc["03a01Fa"]
    assert (r.speaker, r.group, r.gender, r.emotion, r.text, r.version) == (
        "03", "03", "male", "happy", "a01", "a")
    assert r.transcript == "Der Lappen liegt auf dem Eisschrank."
    assert df.loc["08a02Wb", ["gender", "emotion"]].tolist() == ["female", "angry"]
    r = df.loc["09b01Lc"]  # boredom: no label in either set, raw letter kept
    assert (r.emotion, r.emotion_extended, r.category) == ("", "", "L")
    assert df.loc["16b10Tb", ["gender", "emotion"]].tolist() == ["female", "sad"]
    assert df.loc["11a05Nd", "emotion"] == "neutral"
    assert df.loc["13b03Ea", "emotion_extended"] == "disgust"
    assert df.loc["10a07Ac", ["gender", "emotion_extended"]].tolist() == ["male", "fear"]


def test_tess_fields(roots):
    df = load_clean(corpora.load_tess, roots["tess"])
    assert len(df) == len(fx.TESS_FILES) and set(df.gender) == {"female"}
    r = df.loc["OAF_back_angry"]
    assert (r.speaker, r.group, r.emotion, r.word, r.transcript) == (
        "OAF", "OAF", "angry", "back", "Say the word back")
    assert df.loc["OAF_bath_fear", "emotion_extended"] == "fear"
    assert df.loc["OAF_bite_ps", ["emotion", "emotion_extended"]].tolist() == ["", "surprise"]
    assert df.loc["YAF_dog_ps", "speaker"] == "YAF"
    r = df.loc["OAF_chain_neutral"]  # written as OA_chain_neutral.wav
    assert (r.speaker, r.emotion) == ("OAF", "neutral")
    assert df.loc["YAF_germ_sad", "emotion"] == "sad"


def test_savee_fields(roots):
    df = load_clean(corpora.load_savee, roots["savee"])
    assert set(df.speaker) == {"DC", "JE", "JK", "KL"} and set(df.gender) == {"male"}
    assert df.loc["DC_a01", ["speaker", "group", "emotion"]].tolist() == ["DC", "DC", "angry"]
    assert df.loc["DC_sa03", "emotion"] == "sad"
    assert df.loc["DC_n30", "emotion"] == "neutral"
    assert df.loc["JE_su15", ["emotion", "emotion_extended"]].tolist() == ["", "surprise"]
    assert df.loc["JK_h01", "emotion"] == "happy"
    assert df.loc["KL_f02", "emotion_extended"] == "fear"
    assert df.loc["KL_d05", "emotion_extended"] == "disgust"


def test_librispeech_fields_subsets_and_cap(roots):
    root = roots["librispeech"]
    df = load_clean(corpora.load_librispeech, root)
    assert len(df) == 6 and (df.emotion == "").all() and (df.emotion_extended == "").all()
    r = df.loc["19-198-0001"]
    assert (r.speaker, r.group, r.gender, r.transcript, r.subset, r.chapter) == (
        "19", "19", "female", "CHAPTER ONE", "train-clean-100", "198")
    assert df.loc["60-121082-0000", "gender"] == "male"  # the '|CBW|Simon' row
    assert df.loc["84-121123-0000", ["gender", "subset"]].tolist() == ["female", "dev-clean"]
    dev = load_clean(corpora.load_librispeech, root, subsets=["dev-clean"])
    assert set(dev.speaker) == {"84"}
    capped = load_clean(corpora.load_librispeech, root, max_per_speaker=1)
    assert capped.speaker.value_counts().max() == 1 and len(capped) == 3
    assert "19-198-0000" in capped.index  # the first by id
    one = load_clean(corpora.load_librispeech, root / "dev-clean")  # a subset folder as root
    assert len(one) == 2 and set(one.gender) == {"female"}
    with pytest.raises(FileNotFoundError, match="test-other"):
        corpora.load_librispeech(root, subsets=["test-other"])


def test_voxceleb1_fields(roots):
    df = load_clean(corpora.load_voxceleb1, roots["voxceleb1"])
    assert len(df) == 5 and (df.emotion == "").all()
    r = df.loc["id10001-1zcIwhmdeo4-00002"]
    assert (r.speaker, r.group, r.gender, r.video, r.nationality, r.set) == (
        "id10001", "id10001", "male", "1zcIwhmdeo4", "Ireland", "dev")
    r = df.loc["id10270-5r0dWxy17C8-00001"]  # found in the separately unpacked test tree
    assert (r.gender, r.set) == ("female", "test")
    assert load_clean(corpora.load_voxceleb1, roots["voxceleb1"],
                      max_per_speaker=2).speaker.value_counts()["id10001"] == 2


def test_manifest_csv(roots):
    df = load_clean(corpora.load_manifest, roots["manifest"])
    r = df.loc["u1"]
    assert (r.speaker, r.gender, r.emotion, r.arousal, r.group, r.transcript) == (
        "s1", "female", "happy", 4.0, "g1", "hello there")
    assert r.path.endswith("clips/a.wav") and df.loc["u2", "emotion_extended"] == "calm"


# ------------------------------------------------------------------ audio formats


def test_44k_stereo_file_is_kept_and_loads_as_16k_mono(roots):
    df = load_clean(corpora.load_ravdess, roots["ravdess"])
    path = df.loc[fx.RAVDESS_STEREO, "path"]
    import soundfile as sf
    info = sf.info(path)
    assert (info.samplerate, info.channels) == (44100, 2)  # the loader leaves the file alone
    audio = load_audio(path)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert len(audio) == pytest.approx(0.5 * SAMPLE_RATE, abs=2)


def test_flac_reads_through_the_pipeline(roots):
    df = load_clean(corpora.load_librispeech, roots["librispeech"])
    assert df.path.str.endswith(".flac").all()
    assert len(load_audio(df.path.iloc[0])) == pytest.approx(fx.DURATION * SAMPLE_RATE, abs=2)


# ------------------------------------------------------------------ bad input

MISSING_LABEL_FILES = [  # (corpus, file or folder to remove, text the message must hold)
    ("iemocap", "Session1/dialog/EmoEvaluation", "EmoEvaluation"),
    ("msp-improv", "Evaluation.txt", "Evaluation.txt"),
    ("crema-d", "VideoDemographics.csv", "VideoDemographics.csv"),
    ("librispeech", "SPEAKERS.TXT", "SPEAKERS.TXT"),
    ("voxceleb1", "vox1_meta.csv", "vox1_meta.csv"),
    ("crema-d", "AudioWAV", "AudioWAV"),
    ("ravdess", "Audio_Speech_Actors_01-24", "Actor_"),  # the song tree has Actor_02 left
    ("emodb", "wav", "wav/"),
]


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_missing_root_names_the_path_and_layout(tmp_path, name):
    missing = tmp_path / "not_there"
    with pytest.raises(FileNotFoundError) as info:
        LOADERS[name](missing)
    assert str(missing) in str(info.value) and "expect" in str(info.value)


@pytest.mark.parametrize("name,remove,expected", MISSING_LABEL_FILES)
def test_missing_label_or_metadata_file(tmp_path, name, remove, expected):
    root = fx.FIXTURES[name](tmp_path)
    target = root / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    if name == "ravdess":  # with the speech tree gone only song files remain: none usable
        with pytest.raises(ValueError, match="no usable audio"):
            corpora.load_ravdess(root)
        shutil.rmtree(root / "Audio_Song_Actors_01-24")
    with pytest.raises(FileNotFoundError) as info:
        LOADERS[name](root)
    assert expected in str(info.value) and "expect" in str(info.value)


def test_bad_names_one_warning_with_reasons_rest_loads(tmp_path):
    root = fx.make_ravdess(tmp_path)
    actor = root / "Audio_Speech_Actors_01-24" / "Actor_01"
    bad = {"03-01-09-01-01-01-01.wav": "emotion 09",
           "02-01-01-01-01-01-01.wav": "modality 02",
           "03-01-01-01-01-01-02.wav": "actor 02 in the name",
           "notes.wav": "7 two-digit fields"}
    for name in bad:
        fx.write_tone(actor / name)
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_ravdess(root)
    message = corpus_warning(record)
    for name, reason in bad.items():
        assert name in str(message)
        assert any(name in p and reason in r for p, r in message.skipped), (name, reason)
    assert len(df) == 4 and len(df.attrs["skipped"]) == len(bad)


@pytest.mark.parametrize("name,bad_file", [
    ("tess", "OAF_angry/OAF_back.wav"), ("savee", "AudioData/DC/zz01.wav"),
    ("emodb", "wav/03a01Xa.wav"), ("crema-d", "AudioWAV/1001_XXX_ANG_XX.wav"),
    ("iemocap", "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01.wav"),
    ("msp-improv", "Audio/session1/S01A/S/MSP-IMPROV-S01Q-F01-S-FM09.wav"),
    ("librispeech", "LibriSpeech/dev-clean/84/121123/84-999-0000.flac"),
    ("voxceleb1", "wav/id10001/1zcIwhmdeo4/clip1.wav"),
])
def test_bad_name_in_each_corpus(tmp_path, name, bad_file):
    root = fx.FIXTURES[name](tmp_path)
    target = tmp_path / bad_file if bad_file.startswith("LibriSpeech") else root / bad_file
    fx.write_tone(target, fmt="FLAC" if target.suffix == ".flac" else None)
    with pytest.warns(CorpusWarning) as record:
        df = LOADERS[name](root)
    message = corpus_warning(record)
    assert target.name in str(message) and len(message.skipped) == 1
    assert len(df) > 0 and str(target) not in set(df.path)


def test_bad_audio_reported_by_name_rest_loads(tmp_path):
    root = fx.make_emodb(tmp_path)
    names = {kind: f"1{i}a0{i + 1}F{chr(97 + i)}.wav"
             for i, kind in enumerate(fx.BAD_AUDIO_KINDS)}
    for kind, name in names.items():
        fx.write_bad_audio(root / "wav" / name, kind)
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_emodb(root)
    message = corpus_warning(record)
    reasons = {p.rsplit("/", 1)[-1]: r for p, r in message.skipped}
    assert set(reasons) == set(names.values())
    assert "0 samples" in reasons[names["empty"]]
    assert "analysis window" in reasons[names["short"]]
    assert "NaN or infinite" in reasons[names["nonfinite"]]
    assert "unreadable" in reasons[names["garbage"]]
    assert "truncated" in reasons[names["truncated"]]
    assert len(df) == len(fx.EMODB_FILES)
    # without the check every file is listed, durations unknown
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        unchecked = corpora.load_emodb(root, check_audio=False)
    assert len(unchecked) == len(fx.EMODB_FILES) + len(names)
    assert unchecked.duration.isna().all()


def test_no_usable_file_is_an_error_naming_the_root(tmp_path):
    root = tmp_path / "SAVEE"
    fx.write_bad_audio(root / "AudioData" / "DC" / "a01.wav", "empty")
    fx.write_tone(root / "AudioData" / "DC" / "readme.wav")
    with pytest.warns(CorpusWarning), pytest.raises(ValueError) as info:
        corpora.load_savee(root)
    assert str(root) in str(info.value) and "no usable" in str(info.value)
    empty = tmp_path / "TESS"
    empty.mkdir()
    with pytest.raises(ValueError, match="no usable"):
        corpora.load_tess(empty)


def test_duplicate_copies_are_skipped_once(tmp_path):
    root = fx.make_tess(tmp_path)  # some downloads nest a second copy of the corpus
    shutil.copytree(root / "OAF_angry", root / "copy" / "OAF_angry")
    (root / ".hidden").mkdir()
    fx.write_tone(root / ".hidden" / "._OAF_back_angry.wav")  # ignored silently
    with pytest.warns(CorpusWarning) as record:
        df = corpora.load_tess(root)
    message = corpus_warning(record)
    assert len(message.skipped) == 1 and "duplicate" in message.skipped[0][1]
    assert len(df) == len(fx.TESS_FILES)


def test_missing_label_file_for_one_dialog_is_noted(tmp_path):
    root = fx.make_iemocap(tmp_path)
    (root / "Session2/dialog/EmoEvaluation/Ses02F_impro02.txt").unlink()
    with pytest.warns(CorpusWarning, match="Ses02F_impro02"):
        df = corpora.load_iemocap(root)
    assert (df[df.group == "Ses02"].emotion == "").all() and len(df) == 8


# ------------------------------------------------------------------ registry


def test_load_corpus_specs(roots, tmp_path):
    df = load_corpus(f"ravdess:{roots['ravdess']}")
    assert len(df) == 4 and set(df.corpus) == {"ravdess"}
    assert len(load_corpus(f"RAVDESS:{roots['ravdess']}", include_song=True)) == 5
    rel = load_corpus("ravdess:RAVDESS", data_dir=roots["ravdess"].parent, check_audio=False)
    assert rel.duration.isna().all() and len(rel) == 4
    assert len(load_corpus(f"manifest:{roots['manifest']}")) == 3
    assert len(load_corpus(f"iemocap:{roots['iemocap']}")) == 8


def test_load_corpus_bad_specs():
    with pytest.raises(ValueError) as info:
        load_corpus("nosuchcorpus:/data")
    for name in ("ravdess", "iemocap", "msp-improv", "synth-emo", "manifest"):
        assert name in str(info.value)
    with pytest.raises(ValueError, match="give its folder"):
        load_corpus("ravdess")
    with pytest.raises(ValueError, match="synthetic corpora only"):
        load_corpus("ravdess@tiny:/data")
    with pytest.raises(ValueError, match="not read from a folder"):
        load_corpus("synth-emo:/data")
    with pytest.raises(ValueError):
        load_corpus("")


def test_synth_specs_dispatch_to_load_synth(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("sertutor.data.synth")
    fake.load_synth = lambda name, *, preset, data_dir: calls.append((name, preset, data_dir))
    monkeypatch.setitem(sys.modules, "sertutor.data.synth", fake)
    load_corpus("synth-emo@tiny", data_dir=tmp_path)
    load_corpus("synth-aux", preset="paper")
    load_corpus("Synth-Field")
    assert calls == [("synth-emo", "tiny", tmp_path), ("synth-aux", "paper", None),
                     ("synth-field", "classroom", None)]


def test_synth_emo_tiny_through_the_real_module(tmp_path):
    if importlib.util.find_spec("sertutor.data.synth") is None:
        pytest.skip("sertutor.data.synth is not written yet")
    df = load_corpus("synth-emo@tiny", data_dir=tmp_path)
    validate_manifest(df)
    assert len(df) > 0 and set(df.corpus) == {"synth-emo"}
    assert set(df.emotion) - {""} <= {"neutral", "happy", "sad", "angry"}


def test_list_corpora_and_label_mapping():
    names = list_corpora()
    assert set(LOADERS) | {"synth-emo", "synth-aux", "synth-field"} == set(names)
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())
    table = label_mapping("iemocap").set_index("code")
    assert table.loc["exc", "emotion"] == "happy" and table.loc["fru", "emotion"] == ""
    assert list(table.columns) == ["meaning", "emotion", "emotion_extended"]
    assert label_mapping("RAVDESS").set_index("code").loc["02", "emotion_extended"] == "calm"
    assert label_mapping("emodb").set_index("code").loc["L", "meaning"].startswith("Langeweile")
    for name in ("iemocap", "msp-improv", "ravdess", "crema-d", "emodb", "tess", "savee"):
        mapping = label_mapping(name)
        assert set(mapping.emotion) - {""} <= {"neutral", "happy", "sad", "angry"}
    with pytest.raises(ValueError, match="no fixed emotion code table"):
        label_mapping("librispeech")
    with pytest.raises(ValueError, match="unknown corpus"):
        label_mapping("nosuch")
    assert isinstance(label_mapping("tess"), pd.DataFrame)
