"""TESS: the Toronto Emotional Speech Set (Dupuis & Pichora-Fuller, 2010).

Two actresses, aged 26 and 64, say 200 target words in the carrier phrase "Say the word ..."
in seven emotions (anger, disgust, fear, happiness, pleasant surprise, sadness, neutral).

Published layout::

    OAF_angry/OAF_back_angry.wav               <speaker>_<word>_<emotion>.wav
    YAF_pleasant_surprised/YAF_bath_ps.wav

Speakers OAF (older adult female) and YAF (younger adult female); the folder names vary
between copies, so labels come from the file name (:data:`TESS_EMOTIONS`). :func:`load_tess`
documents every field it reads.

Reference: K. Dupuis and M. K. Pichora-Fuller, "Toronto emotional speech set (TESS)",
University of Toronto, Psychology Department, 2010; doi:10.5683/SP2/E8H2MF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (BadName, PathLike, audio_files, finish, parse_files, require_dir,
                      shared_doc)

__all__ = ["TESS_EMOTIONS", "load_tess"]

#: TESS emotion (last part of the file name, lower-cased; ``ps`` = pleasant surprise).
TESS_EMOTIONS: dict[str, tuple[str, str]] = {
    "neutral": ("neutral", "neutral"), "happy": ("happy", "happy"), "sad": ("sad", "sad"),
    "angry": ("angry", "angry"), "fear": ("", "fear"), "disgust": ("", "disgust"),
    "ps": ("", "surprise"),
}
_TESS_ALIASES = {"pleasant_surprise": "ps", "pleasant_surprised": "ps"}
_TESS_NAMES = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
               "fear": "fear", "disgust": "disgust", "ps": "pleasant surprise"}
_TESS_SPEAKERS = {"OAF": "older adult female (64)", "YAF": "younger adult female (26)"}

_TESS_NAME = re.compile(r"^(OAF|YAF|OA|YA)_(.+?)_(angry|disgust|fear|happy|neutral|sad|ps|"
                        r"pleasant_surprised?)$", re.IGNORECASE)


@shared_doc
def load_tess(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load the Toronto Emotional Speech Set (TESS).

    Layout::

        OAF_angry/OAF_back_angry.wav           <speaker>_<word>_<emotion>.wav
        YAF_pleasant_surprised/YAF_bath_ps.wav

    Folders are searched recursively (the folder names vary between copies: ``OAF_Fear``,
    ``OAF_Pleasant_surprise``, ``YAF_pleasant_surprised``, ...); labels come from the file
    name, case-insensitively. Emotion suffixes: angry, disgust, fear, happy, neutral, sad and
    ``ps`` (pleasant surprise; ``pleasant_surprise(d)`` also accepted), see
    :data:`TESS_EMOTIONS`. Speakers OAF (older adult female, 64) and YAF (younger adult female,
    26); the truncated prefix ``OA_`` found on a few files of some copies is read as OAF.

    Fields: ``speaker`` = ``group`` = ``OAF`` / ``YAF``; ``gender`` female;
    ``transcript`` "Say the word <word>"; intensity and dimensions NaN. Extra column:
    ``word``.

    Parameters
    ----------
    root : path-like
        The TESS folder holding the ``OAF_*`` / ``YAF_*`` folders (at any depth).
    {check_audio}

    {returns}

    References
    ----------
    K. Dupuis and M. K. Pichora-Fuller, "Toronto emotional speech set (TESS)", University of
    Toronto, Psychology Department, 2010; doi:10.5683/SP2/E8H2MF.
    """
    corpus = "tess"
    root = require_dir(root, corpus, "OAF_<emotion>/ and YAF_<emotion>/ folders")

    def parse(path: Path) -> dict[str, Any]:
        m = _TESS_NAME.match(path.stem)
        if not m:
            raise BadName("expected <OAF|YAF>_<word>_<emotion>.wav, e.g. OAF_back_angry.wav")
        speaker, word, emo = m.group(1).upper(), m.group(2).lower(), m.group(3).lower()
        speaker = {"OA": "OAF", "YA": "YAF"}.get(speaker, speaker)
        emo = _TESS_ALIASES.get(emo, emo)
        emotion, extended = TESS_EMOTIONS[emo]
        return dict(utt_id=f"{speaker}_{word}_{emo}", speaker=speaker, group=speaker,
                    gender="female", emotion=emotion, emotion_extended=extended,
                    transcript=f"Say the word {word}", word=word)

    rows, skipped = parse_files(audio_files(root), parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio)
