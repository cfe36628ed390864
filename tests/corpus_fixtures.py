"""Miniature copies of real SER corpora, in each corpus's exact folder layout and file naming.

Every ``make_<corpus>(root)`` writes a few short generated clips (tones plus a little noise)
and the corpus's label / metadata files in their real formats under ``root``, and returns the
path a loader takes (the corpus folder, or the CSV for ``manifest``). They are used by
``tests/test_corpora.py`` and can be used by other tests and tutorials to show the loaders
without the licensed corpora::

    import sys; sys.path.insert(0, "tests")
    from corpus_fixtures import make_ravdess
    from sertutor.data.corpora import load_ravdess
    load_ravdess(make_ravdess("/tmp/fixtures"))

:func:`write_bad_audio` writes the unusable files the loaders must skip (empty, too short,
non-finite, not audio at all).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

__all__ = ["write_tone", "write_bad_audio", "BAD_AUDIO_KINDS", "FIXTURES", "make_all",
           "make_iemocap", "make_msp_improv", "make_ravdess", "make_crema_d", "make_emodb",
           "make_tess", "make_savee", "make_librispeech", "make_voxceleb1", "make_manifest_csv"]

DURATION = 0.3  # seconds per clip: enough frames for the pipeline, fast to write


def write_tone(path: str | Path, seconds: float = DURATION, *, sample_rate: int = 16000,
               channels: int = 1, subtype: str = "PCM_16", fmt: str | None = None) -> Path:
    """Write a short tone plus noise, deterministic from the file name; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = zlib.crc32(path.name.encode())
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    f0 = 120.0 + seed % 200
    mono = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(t.size)
    audio = np.stack([mono * (1.0 - 0.2 * c) for c in range(channels)], axis=1)
    sf.write(str(path), audio.astype(np.float32), sample_rate, subtype=subtype, format=fmt)
    return path


BAD_AUDIO_KINDS = ("empty", "short", "nonfinite", "garbage", "truncated")


def write_bad_audio(path: str | Path, kind: str) -> Path:
    """Write an unusable audio file: ``empty`` (0 samples), ``short`` (100 samples, under one
    25 ms window), ``nonfinite`` (float WAV with NaN and inf), ``garbage`` (not audio) or
    ``truncated`` (the first half of a FLAC file, as a broken download leaves it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        sf.write(str(path), np.zeros(0, np.float32), 16000, subtype="PCM_16")
    elif kind == "short":
        sf.write(str(path), np.full(100, 0.1, np.float32), 16000, subtype="PCM_16")
    elif kind == "nonfinite":
        audio = np.full(4800, 0.1, np.float32)
        audio[100], audio[200] = np.nan, np.inf
        sf.write(str(path), audio, 16000, subtype="FLOAT")
    elif kind == "garbage":
        path.write_bytes(b"this is not a RIFF file, just some text\n" * 4)
    elif kind == "truncated":
        write_tone(path, 1.0, fmt="FLAC")
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    else:
        raise ValueError(f"unknown bad-audio kind {kind!r}; choose from {BAD_AUDIO_KINDS}")
    return path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- IEMOCAP

IEMOCAP_LABELS = {  # utt -> (category, [V, A, D]), as in EmoEvaluation
    "Ses01F_impro01_F000": ("neu", (2.5, 2.5, 2.5)),
    "Ses01F_impro01_M000": ("fru", (2.0, 3.5, 3.5)),
    "Ses01F_impro01_F001": ("exc", (4.0, 3.5, 3.0)),
    "Ses01M_script01_1_F000": ("sad", (1.5, 2.0, 2.0)),
    "Ses01M_script01_1_M000": ("sur", (3.5, 4.0, 3.0)),
    "Ses02F_impro02_F000": ("ang", (1.5, 4.5, 4.0)),
    "Ses02F_impro02_M000": ("xxx", (2.5, 3.0, 3.0)),
}
IEMOCAP_UNLABELLED = ("Ses02F_impro02_M001",)  # audio without a line in EmoEvaluation
IEMOCAP_TRANSCRIPTS = {
    "Ses01F_impro01_F000": "Excuse me.",
    "Ses01F_impro01_M000": "Do you have your forms?",
    "Ses01F_impro01_F001": "Yeah.",
    "Ses01M_script01_1_F000": "What's he going to say?",
    "Ses01M_script01_1_M000": "Oh, my God.",
}


def make_iemocap(root: str | Path) -> Path:
    """IEMOCAP_full_release: Session<N>/sentences/wav, dialog/EmoEvaluation, transcriptions."""
    base = Path(root) / "IEMOCAP_full_release"
    dialogs: dict[str, list[str]] = {}
    for utt in [*IEMOCAP_LABELS, *IEMOCAP_UNLABELLED]:
        dialogs.setdefault(utt.rsplit("_", 1)[0], []).append(utt)
    for dialog, utts in dialogs.items():
        session = base / f"Session{int(dialog[3:5])}"
        for utt in utts:
            write_tone(session / "sentences" / "wav" / dialog / f"{utt}.wav")
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        trans = []
        start = 6.2901
        for utt in utts:
            if utt not in IEMOCAP_LABELS:
                continue
            cat, (v, a, d) = IEMOCAP_LABELS[utt]
            lines += [f"[{start:.4f} - {start + 1.9456:.4f}]\t{utt}\t{cat}\t"
                      f"[{v:.4f}, {a:.4f}, {d:.4f}]",
                      "C-E2:\tNeutral;\t()", "C-E3:\tFrustration; Anger;\t(annoyed)",
                      "C-F1:\tNeutral;\t()", "A-E3:\tval 3; act 2; dom  2;\t()",
                      "A-F1:\tval 3; act 2; dom  1;\t()", ""]
            if utt in IEMOCAP_TRANSCRIPTS:
                trans.append(f"{utt} [{start:07.4f}-{start + 1.9456:07.4f}]: "
                             f"{IEMOCAP_TRANSCRIPTS[utt]}")
            start += 3.0
        _write(session / "dialog" / "EmoEvaluation" / f"{dialog}.txt", "\n".join(lines) + "\n")
        # the release also holds per-annotator sub-folders; the loader must ignore them
        _write(session / "dialog" / "EmoEvaluation" / "Categorical" / f"{dialog}_e1_cat.txt",
               f"{utts[0]} :Neutral state; ()\n")
        if trans:
            _write(session / "dialog" / "transcriptions" / f"{dialog}.txt",
                   "\n".join(trans + ["M: [BREATHING]"]) + "\n")
    return base


# ---------------------------------------------------------------------------- MSP-IMPROV

MSP_IMPROV_LABELS = {  # utt -> (letter, A, V, D, N)
    "MSP-IMPROV-S01A-F01-S-FM01": ("A", 4.2, 1.8, 3.6, 3.0),
    "MSP-IMPROV-S01A-M01-R-MM01": ("N", 2.8, 3.0, 3.0, 2.2),
    "MSP-IMPROV-S03H-M01-P-MF01": ("H", 3.6, 4.4, 3.2, 4.6),
    "MSP-IMPROV-S02S-F02-T-FM01": ("S", 1.6, 2.0, 2.2, 3.4),
    "MSP-IMPROV-S02S-M02-S-MF01": ("X", 3.0, 3.0, 3.0, 3.0),
}
MSP_IMPROV_UNLABELLED = ("MSP-IMPROV-S04N-F02-S-FM02",)


def make_msp_improv(root: str | Path) -> Path:
    """MSP-IMPROV: Evaluation.txt and Audio/session<N>/<scenario>/<type>/<utt>.wav."""
    base = Path(root) / "MSP-IMPROV"
    for utt in [*MSP_IMPROV_LABELS, *MSP_IMPROV_UNLABELLED]:
        _, _, scenario, speaker, rtype, _ = utt.split("-")
        write_tone(base / "Audio" / f"session{int(speaker[1:])}" / scenario / rtype / f"{utt}.wav")
    lines = []
    for i, (utt, (cat, a, v, d, n)) in enumerate(MSP_IMPROV_LABELS.items()):
        name = utt.replace("MSP-IMPROV", "UTD-IMPROV") + ".avi"
        if i % 2:  # both spellings seen in the wild: 'D:x ; N:y;' with 6 decimals ...
            lines.append(f"{name}; {cat}; A:{a:.6f}; V:{v:.6f}; D:{d:.6f} ; N:{n:.6f};")
        else:  # ... and the compact form
            lines.append(f"{name}; {cat}; A:{a}; V:{v}; D:{d}; N:{n}")
        lines += [f"rater0{k}; Angry; Frustrated; A:4.0; V:2.0; D:4.0; N:3.0;" for k in (1, 2)]
        lines.append("")
    _write(base / "Evaluation.txt", "\n".join(lines))
    return base


# ---------------------------------------------------------------------------- RAVDESS

RAVDESS_FILES = (  # (tree, actor folder, name)
    ("Audio_Speech_Actors_01-24", "Actor_01", "03-01-01-01-01-01-01"),  # neutral, male
    ("Audio_Speech_Actors_01-24", "Actor_01", "03-01-05-02-02-01-01"),  # angry strong
    ("Audio_Speech_Actors_01-24", "Actor_02", "03-01-02-01-01-02-02"),  # calm, female
    ("Audio_Speech_Actors_01-24", "Actor_02", "03-01-03-02-01-01-02"),  # happy, 44.1k stereo
    ("Audio_Song_Actors_01-24", "Actor_02", "03-02-04-01-01-01-02"),    # song, sad
)
RAVDESS_STEREO = "03-01-03-02-01-01-02"  # written at 44.1 kHz, 2 channels, 0.5 s


def make_ravdess(root: str | Path) -> Path:
    """RAVDESS: Audio_Speech_Actors_01-24/Actor_NN/03-01-EE-II-SS-RR-AA.wav (+ a song tree)."""
    base = Path(root) / "RAVDESS"
    for tree, actor, name in RAVDESS_FILES:
        path = base / tree / actor / f"{name}.wav"
        if name == RAVDESS_STEREO:
            write_tone(path, 0.5, sample_rate=44100, channels=2)
        else:
            write_tone(path)
    return base


# ---------------------------------------------------------------------------- CREMA-D

CREMA_D_FILES = ("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_SAD_LO", "1002_ITS_DIS_MD",
                 "1091_WSI_NEU_XX")


def make_crema_d(root: str | Path) -> Path:
    """CREMA-D: AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav and VideoDemographics.csv."""
    base = Path(root) / "CREMA-D"
    for name in CREMA_D_FILES:
        write_tone(base / "AudioWAV" / f"{name}.wav")
    _write(base / "VideoDemographics.csv",
           "ActorID,Age,Sex,Race,Ethnicity\n"
           "1001,51,Male,Caucasian,Not Hispanic\n"
           "1002,21,Female,Caucasian,Not Hispanic\n"
           "1091,29,Female,Asian,Not Hispanic\n")
    return base


# ---------------------------------------------------------------------------- EmoDB

EMODB_FILES = ("03a01Fa", "08a02Wb", "09b01Lc", "16b10Tb", "11a05Nd", "13b03Ea", "10a07Ac")


def make_emodb(root: str | Path) -> Path:
    """EmoDB: wav/<speaker><text><emotion><version>.wav."""
    base = Path(root) / "emodb"
    for name in EMODB_FILES:
        write_tone(base / "wav" / f"{name}.wav")
    _write(base / "erkennung.txt", "not read by the loader\n")
    return base


# ---------------------------------------------------------------------------- TESS

TESS_FILES = (  # (folder, file) with the naming variants of the distributed copies
    ("OAF_angry", "OAF_back_angry"), ("OAF_Fear", "OAF_bath_fear"),
    ("OAF_Pleasant_surprise", "OAF_bite_ps"), ("OAF_neutral", "OA_chain_neutral"),
    ("YAF_pleasant_surprised", "YAF_dog_ps"), ("YAF_sad", "YAF_germ_sad"),
    ("YAF_happy", "YAF_hall_happy"), ("YAF_disgust", "YAF_food_disgust"),
)


def make_tess(root: str | Path) -> Path:
    """TESS: <OAF|YAF>_<emotion>/<speaker>_<word>_<emotion>.wav."""
    base = Path(root) / "TESS Toronto emotional speech set data"
    for folder, name in TESS_FILES:
        write_tone(base / folder / f"{name}.wav")
    return base


# ---------------------------------------------------------------------------- SAVEE

SAVEE_FILES = ("DC/a01", "DC/sa03", "DC/n30", "JE/su15", "JK/h01", "KL/f02", "KL/d05")


def make_savee(root: str | Path) -> Path:
    """SAVEE: AudioData/<speaker>/<emotion prefix><nn>.wav."""
    base = Path(root) / "SAVEE"
    for name in SAVEE_FILES:
        write_tone(base / "AudioData" / f"{name}.wav")
    return base


# ---------------------------------------------------------------------------- LibriSpeech

LIBRISPEECH_FILES = {  # subset -> {utt: transcript}
    "train-clean-100": {"19-198-0000": "NORTHANGER ABBEY", "19-198-0001": "CHAPTER ONE",
                        "19-198-0002": "NO ONE WHO HAD EVER SEEN CATHERINE MORLAND",
                        "60-121082-0000": "A MAN SAID TO THE UNIVERSE"},
    "dev-clean": {"84-121123-0000": "GO DO YOU HEAR", "84-121123-0001": "BUT IN LESS THAN FIVE"},
}
LIBRISPEECH_SPEAKERS = """\
; Some speakers are not in the "clean" set, which is why there are duplicate names
; in this file.
;ID  |SEX| SUBSET           |MINUTES| NAME
14   | F | train-clean-360  | 25.03 | Kristin LeMoine
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
60   | M | train-clean-100  | 20.18 | |CBW|Simon
84   | F | dev-clean        |  8.02 | Christie Nowak
"""


def make_librispeech(root: str | Path) -> Path:
    """LibriSpeech: SPEAKERS.TXT, <subset>/<spk>/<chapter>/<spk>-<chapter>-<nnnn>.flac."""
    base = Path(root) / "LibriSpeech"
    _write(base / "SPEAKERS.TXT", LIBRISPEECH_SPEAKERS)
    for subset, utts in LIBRISPEECH_FILES.items():
        chapters: dict[Path, list[str]] = {}
        for utt, text in utts.items():
            spk, chapter, _ = utt.split("-")
            folder = base / subset / spk / chapter
            write_tone(folder / f"{utt}.flac", fmt="FLAC")
            chapters.setdefault(folder, []).append(f"{utt} {text}")
        for folder, lines in chapters.items():
            _write(folder / f"{folder.parent.name}-{folder.name}.trans.txt",
                   "\n".join(lines) + "\n")
    return base


# ---------------------------------------------------------------------------- VoxCeleb1

VOXCELEB1_FILES = ("wav/id10001/1zcIwhmdeo4/00001", "wav/id10001/1zcIwhmdeo4/00002",
                   "wav/id10001/7w0IBEWc9Qw/00001", "wav/id10002/0_laIeN-Q44/00001",
                   "vox1_test_wav/wav/id10270/5r0dWxy17C8/00001")
VOXCELEB1_META = ("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\n"
                  "id10001\tA.J._Buckley\tm\tIreland\tdev\n"
                  "id10002\tA.R._Rahman\tm\tIndia\tdev\n"
                  "id10270\tEve_Example\tf\tUSA\ttest\n")


def make_voxceleb1(root: str | Path) -> Path:
    """VoxCeleb1: vox1_meta.csv (tab-separated) and wav/<id>/<video>/<nnnnn>.wav."""
    base = Path(root) / "VoxCeleb1"
    _write(base / "vox1_meta.csv", VOXCELEB1_META)
    for name in VOXCELEB1_FILES:
        write_tone(base / f"{name}.wav")
    return base


# ---------------------------------------------------------------------------- manifest CSV


def make_manifest_csv(root: str | Path) -> Path:
    """A folder of clips plus ``manifest.csv`` in the manifest schema (relative paths)."""
    base = Path(root) / "my_corpus"
    for name in ("a", "b", "c"):
        write_tone(base / "clips" / f"{name}.wav")
    _write(base / "manifest.csv",
           "utt_id,path,speaker,gender,emotion,emotion_extended,arousal,group,transcript\n"
           "u1,clips/a.wav,s1,female,happy,happy,4.0,g1,hello there\n"
           "u2,clips/b.wav,s1,female,,calm,,g1,\n"
           "u3,clips/c.wav,s2,male,angry,angry,4.5,g2,go away\n")
    return base / "manifest.csv"


FIXTURES: dict[str, Callable[[str | Path], Path]] = {
    "iemocap": make_iemocap, "msp-improv": make_msp_improv, "ravdess": make_ravdess,
    "crema-d": make_crema_d, "emodb": make_emodb, "tess": make_tess, "savee": make_savee,
    "librispeech": make_librispeech, "voxceleb1": make_voxceleb1, "manifest": make_manifest_csv,
}


def make_all(root: str | Path) -> dict[str, Path]:
    """Build every fixture corpus under ``root``; return ``{corpus name: loader path}``."""
    return {name: build(root) for name, build in FIXTURES.items()}
