"""Exercises of ``tutorials/08_your_data_and_gpu.ipynb``: manifests, segments, DDP."""

from __future__ import annotations

import math
from pathlib import Path

from ..config import get_config
from ..data.manifest import COLUMNS, EMOTIONS, make_manifest
from ._core import Incorrect, describe, exercise, expect_number


#: File name endings of the audio formats the loaders read (libsndfile, librosa fallback).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aiff", ".aif", ".sph")


def _readable_audio(path: str) -> bool:
    """Whether ``path`` is a file libsndfile can open as audio (header only)."""
    import soundfile as sf

    try:
        sf.info(path)
    except Exception:  # noqa: BLE001 - any failure means "not audio we can read"
        return False
    return True


def _check_audio_path(path: str) -> str:
    """Raise :class:`Incorrect` unless ``path`` can be a manifest row's audio file.

    An absolute path must be an existing audio file. A relative path is read from the folder
    of the CSV it will be written to, which the checker cannot know: it must stay inside that
    folder (no ``..``) and name an audio file; if it happens to exist from the current folder
    it must be audio too. Returns a sentence for the success message ("" when nothing to add).
    """
    p = Path(path)
    if p.is_absolute() and not p.is_file():
        raise Incorrect(f"The path {path!r} is not an existing file; point it at one of "
                        "the WAV files written above (an absolute path, or a path "
                        "relative to the folder where the CSV will live).")
    if p.suffix.lower() not in AUDIO_SUFFIXES:
        raise Incorrect(f"The path {path!r} does not name an audio file (expected one of "
                        f"{', '.join(AUDIO_SUFFIXES)}); point it at one of the WAV files "
                        "written above.")
    if p.is_absolute():
        if not _readable_audio(path):
            raise Incorrect(f"{path!r} exists but is not audio that sertutor can read.")
        return ""
    if ".." in p.parts:
        raise Incorrect(f"The relative path {path!r} leaves the CSV's folder ('..'); keep the "
                        "audio in (a subfolder of) the folder where the CSV lives, or give "
                        "an absolute path.")
    if p.is_file() and not _readable_audio(path):
        raise Incorrect(f"{path!r} exists but is not audio that sertutor can read.")
    return (f" The relative path {path!r} is read from the CSV's folder when the corpus "
            "loads, so the file must be there (like clips/ next to mydata.csv above).")


@exercise(
    "08.manifest_row",
    title="Describe one of your recordings as a manifest row",
    hint="A dict with utt_id, path (an audio file: absolute, or relative to the CSV's folder like "
         "the rows written above), speaker, gender ('female' or "
         "'male') and emotion (one of neutral, happy, sad, angry); other columns may be left out.",
    solution='''
answer_row = {
    "utt_id": "my_clip_01",
    "path": str(wav_paths[0]),         # an audio file that exists
    "corpus": "mydata",
    "speaker": "spk01",
    "gender": "female",
    "emotion": "happy",
}
''')
def _manifest_row(answer):
    if not isinstance(answer, dict):
        raise Incorrect(f"Expected one row as a dict (column -> value), got {describe(answer)}.")
    unknown = [k for k in answer if k not in COLUMNS]
    if unknown:
        raise Incorrect(f"Unknown column(s) {unknown}; the manifest columns are {list(COLUMNS)}.")
    for key in ("utt_id", "path", "speaker", "gender", "emotion"):
        if not str(answer.get(key) or "").strip():
            raise Incorrect(f"The row needs a non-empty {key!r}: an emotion corpus for "
                            "speaker-independent evaluation needs the utterance's id, its "
                            "audio file, who speaks, their gender and the emotion label.")
    if answer.get("audio") is not None:
        raise Incorrect("Leave 'audio' out (None): a CSV manifest points to files with 'path'.")
    path_note = _check_audio_path(str(answer["path"]))
    if answer["emotion"] not in EMOTIONS:
        raise Incorrect(f"emotion {answer['emotion']!r} is not in the 4-class set "
                        f"{list(EMOTIONS)}; put a wider label in 'emotion_extended'.")
    try:
        make_manifest([answer])  # runs validate_manifest
    except (ValueError, TypeError) as exc:
        raise Incorrect(f"validate_manifest rejects the row: {exc}") from None
    return ("This row passes validate_manifest; a CSV of such rows loads with "
            "load_corpus(\"manifest:...\")." + path_note)


def _paper_segments(duration_s: float = 3.2) -> int:
    f = get_config("paper").features
    hop = int(round(f.sample_rate * f.hop_ms / 1000))
    frames_total = 1 + int(round(duration_s * f.sample_rate)) // hop
    return 1 + math.ceil(max(frames_total - f.segment_frames, 0) / f.segment_hop)


@exercise(
    "08.n_segments",
    title="Segments of a 3.2-second utterance with the paper preset",
    hint="Frames: 1 + samples // hop_length. Segments: 1 + ceil(max(T - segment_frames, 0) / "
         "segment_hop); the last segment is zero-padded.",
    solution='''
import math
f = sertutor.get_config("paper").features
T = 1 + int(3.2 * f.sample_rate) // f.hop_length                 # 321 frames
answer_segments = 1 + math.ceil(max(T - f.segment_frames, 0) / f.segment_hop)   # 5
# check: len(segment(np.zeros((1, 64, T)), frames=128, hop=64)[0]) == 5
''')
def _n_segments(answer):
    value = expect_number(answer, what="the number of segments", integer=True)
    expected = _paper_segments()
    T = 321
    if value == expected:
        return (f"{expected} segments of 1.28 s; the utterance's prediction averages their "
                "posteriors.")
    if value == 1 + (T - 128) // 64:
        raise Incorrect(f"You gave {value}: that drops the frames after the last full "
                        "segment. sertutor keeps them in a final zero-padded segment "
                        "(ceil, not floor), so no audio is thrown away.")
    if value == T // 128 or value == math.ceil(T / 128):
        raise Incorrect(f"You gave {value}: that ignores the overlap. Segments start every "
                        "segment_hop = 64 frames, not every 128.")
    if value == 1 + math.ceil((T - 96) / 48) or value == 1 + (T - 96) // 48:
        raise Incorrect(f"You gave {value}: those are the classroom segment sizes (96/48); the "
                        "paper preset uses segment_frames=128, segment_hop=64.")
    raise Incorrect(f"You gave {value}; expected {expected} (T = {T} frames, segments of "
                    "128 frames every 64).")


@exercise(
    "08.global_batch",
    title="Segments per optimiser step with torchrun on 4 GPUs",
    hint="With DDP each process draws its own batch of train.batch_size segments; the "
         "gradients are averaged across processes.",
    solution='''
cfg = sertutor.get_config("paper")
answer_global_batch = 4 * cfg.train.batch_size     # 4 processes x 64 = 256
''')
def _global_batch(answer):
    value = expect_number(answer, what="the number of segments per optimiser step",
                          integer=True)
    per_process = get_config("paper").train.batch_size
    expected = 4 * per_process
    if value == per_process:
        raise Incorrect(f"{value} is one process's batch. torchrun starts 4 processes, each "
                        "draws its own batch, and DDP averages their gradients: one step "
                        "sees all of them.")
    if value == per_process // 4:
        raise Incorrect("You split the batch across GPUs; in sertutor train.batch_size is per "
                        "process, so every GPU draws the full batch size.")
    if value != expected:
        raise Incorrect(f"You gave {value}; expected {expected} = 4 processes x batch_size "
                        f"{per_process}.")
    return (f"{expected}: with more GPUs, each step sees more data; keep the learning rate "
            "in mind (or lower batch_size) when you compare runs.")
