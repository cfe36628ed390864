"""RAVDESS: Ryerson Audio-Visual Database of Emotional Speech and Song (Livingstone & Russo).

24 actors (12 female, 12 male) say two fixed statements in eight emotions, at two intensities
(neutral at one), in North American English; only the audio-only files (modality 03) are read.

Published layout::

    Actor_01/ ... Actor_24/03-01-EE-II-SS-RR-AA.wav

(often nested in ``Audio_Speech_Actors_01-24/`` and ``Audio_Song_Actors_01-24/``). The seven
two-digit fields of a file name are modality, vocal channel, emotion, intensity, statement,
repetition and actor (odd male, even female); :func:`load_ravdess` lists their values.

Reference: S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual Database of Emotional
Speech and Song (RAVDESS)", PLoS ONE 13(5):e0196391, 2018.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (BadName, PathLike, audio_files, check_fields, finish, parse_files,
                      require_dir, shared_doc)

__all__ = ["RAVDESS_EMOTIONS", "load_ravdess"]

#: RAVDESS emotion field (3rd field). Calm has no common class (it is not neutral).
RAVDESS_EMOTIONS: dict[str, tuple[str, str]] = {
    "01": ("neutral", "neutral"), "02": ("", "calm"), "03": ("happy", "happy"),
    "04": ("sad", "sad"), "05": ("angry", "angry"), "06": ("", "fear"),
    "07": ("", "disgust"), "08": ("", "surprise"),
}
_RAVDESS_NAMES = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                  "06": "fearful", "07": "disgust", "08": "surprised"}
_RAVDESS_STATEMENTS = {"01": "Kids are talking by the door",
                       "02": "Dogs are sitting by the door"}
_RAVDESS_INTENSITY = {"01": 0.5, "02": 1.0}  # normal, strong

_RAVDESS_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_FORMAT = "MM-VV-EE-II-SS-RR-AA.wav, e.g. 03-01-05-02-01-01-12.wav"


@shared_doc
def load_ravdess(root: PathLike, *, check_audio: bool = True,
                 include_song: bool = False) -> pd.DataFrame:
    """Load RAVDESS (the audio-only speech, and optionally song, files).

    Layout::

        Actor_01/ ... Actor_24/03-01-EE-II-SS-RR-AA.wav

    The ``Actor_NN`` folders are searched recursively, so the download's
    ``Audio_Speech_Actors_01-24/Actor_NN`` (and ``Audio_Song_Actors_01-24/Actor_NN``) nesting
    works too. Name fields: modality (03 = audio-only; other modalities are video files and
    rejected), vocal channel (01 speech, 02 song), emotion (01 neutral, 02 calm, 03 happy,
    04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), intensity (01 normal, 02 strong;
    neutral has normal only), statement (01 "Kids are talking by the door", 02 "Dogs are
    sitting by the door"), repetition (01, 02), actor (01-24; odd male, even female). A file
    whose actor field disagrees with its ``Actor_NN`` folder is skipped.

    Fields: ``speaker`` = ``group`` = ``Actor_NN``; emotions by :data:`RAVDESS_EMOTIONS` (calm
    has extended label ``calm`` and no 4-class label); ``intensity`` 0.5 (normal) or 1.0
    (strong); ``transcript`` the statement; arousal / valence / dominance NaN. Extra columns:
    ``vocal_channel`` (``speech`` / ``song``), ``repetition``.

    Parameters
    ----------
    root : path-like
        The folder holding the ``Actor_NN`` folders (at any depth).
    {check_audio}
    include_song : bool
        Also load the song files (vocal channel 02); by default they are left out silently.

    {returns}

    References
    ----------
    S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual Database of Emotional Speech
    and Song (RAVDESS)", PLoS ONE 13(5):e0196391, 2018.
    """
    corpus = "ravdess"
    root = require_dir(root, corpus, "Actor_01 ... Actor_24 folders")
    actor_dirs = [Path(dp, d) for dp, dirs, _ in os.walk(root)
                  for d in dirs if re.fullmatch(r"Actor_\d{2}", d)]
    if not actor_dirs:
        raise FileNotFoundError(f"{corpus}: no Actor_NN folder under {root}; the layout expects "
                                f"Actor_01 ... Actor_24 (possibly inside Audio_Speech_Actors_01-24)"
                                f" holding {_RAVDESS_FORMAT}")

    def parse(path: Path) -> dict[str, Any] | None:
        m = _RAVDESS_NAME.match(path.stem)
        if not m:
            raise BadName(f"expected 7 two-digit fields {_RAVDESS_FORMAT}")
        modality, channel, emo, level, statement, rep, actor = m.groups()
        check_fields([(modality == "03", f"modality {modality} is not 03 (audio-only)"),
                      (channel in ("01", "02"), f"vocal channel {channel} is not 01 or 02"),
                      (emo in RAVDESS_EMOTIONS, f"emotion {emo} is not one of 01-08"),
                      (level in _RAVDESS_INTENSITY, f"intensity {level} is not 01 or 02"),
                      (statement in _RAVDESS_STATEMENTS, f"statement {statement} is not 01 or 02"),
                      (1 <= int(actor) <= 24, f"actor {actor} is not one of 01-24"),
                      (path.parent.name == f"Actor_{actor}",
                       f"actor {actor} in the name but the file is in {path.parent.name}")])
        if channel == "02" and not include_song:
            return None
        emotion, extended = RAVDESS_EMOTIONS[emo]
        return dict(utt_id=path.stem, speaker=f"Actor_{actor}", group=f"Actor_{actor}",
                    gender="male" if int(actor) % 2 else "female", emotion=emotion,
                    emotion_extended=extended, intensity=_RAVDESS_INTENSITY[level],
                    transcript=_RAVDESS_STATEMENTS[statement],
                    vocal_channel="speech" if channel == "01" else "song", repetition=int(rep))

    files = [f for d in sorted(set(actor_dirs)) for f in audio_files(d)]
    rows, skipped = parse_files(files, parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio)
