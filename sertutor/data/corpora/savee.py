"""SAVEE: Surrey Audio-Visual Expressed Emotion (Haq & Jackson, 2009).

Four male native British English speakers (DC, JE, JK, KL) say phonetically balanced TIMIT
sentences in seven emotions: 15 sentences per emotion and 30 neutral, 120 per speaker.

Published layout::

    AudioData/<speaker>/<emotion prefix><2 digits>.wav       e.g. AudioData/DC/sa03.wav

Emotion prefixes (:data:`SAVEE_EMOTIONS`): a anger, d disgust, f fear, h happiness,
n neutral, sa sadness, su surprise. :func:`load_savee` documents every field it reads.

Reference: S. Haq and P. J. B. Jackson, "Speaker-dependent audio-visual emotion recognition",
Proc. Int. Conf. Auditory-Visual Speech Processing (AVSP) 2009, pp. 53-58.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (BadName, PathLike, audio_files, finish, parse_files, require_dir,
                      shared_doc)

__all__ = ["SAVEE_EMOTIONS", "load_savee"]

#: SAVEE file-name prefix.
SAVEE_EMOTIONS: dict[str, tuple[str, str]] = {
    "a": ("angry", "angry"), "d": ("", "disgust"), "f": ("", "fear"),
    "h": ("happy", "happy"), "n": ("neutral", "neutral"), "sa": ("sad", "sad"),
    "su": ("", "surprise"),
}
_SAVEE_NAMES = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral",
                "sa": "sadness", "su": "surprise"}
_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")

_SAVEE_NAME = re.compile(r"^(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d{2})$")


@shared_doc
def load_savee(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load Surrey Audio-Visual Expressed Emotion (SAVEE).

    Layout::

        AudioData/DC/sa03.wav      <speaker folder>/<emotion prefix><2 digits>.wav

    (speaker folders DC, JE, JK, KL under ``AudioData/`` or directly in the root; the flat
    ``DC_sa03.wav`` naming of some redistributions is accepted too). Prefixes: a anger,
    d disgust, f fear, h happiness, n neutral, sa sadness, su surprise
    (:data:`SAVEE_EMOTIONS`); 15 sentences per emotion, 30 neutral.

    Fields: ``speaker`` = ``group`` = DC / JE / JK / KL; ``gender`` male (all four speakers);
    ``transcript`` empty (the TIMIT sentences are not part of this layout); intensity and
    dimensions NaN.

    Parameters
    ----------
    root : path-like
        The SAVEE folder holding ``AudioData/`` (or the speaker folders).
    {check_audio}

    {returns}

    References
    ----------
    S. Haq and P. J. B. Jackson, "Speaker-dependent audio-visual emotion recognition",
    Proc. Int. Conf. Auditory-Visual Speech Processing (AVSP) 2009, pp. 53-58.
    """
    corpus = "savee"
    root = require_dir(root, corpus, "AudioData/ with speaker folders DC, JE, JK, KL")
    audio_dir = root / "AudioData" if (root / "AudioData").is_dir() else root

    def parse(path: Path) -> dict[str, Any]:
        m = _SAVEE_NAME.match(path.stem)
        if not m:
            raise BadName("expected <emotion prefix a|d|f|h|n|sa|su><2 digits>.wav, "
                          "e.g. DC/sa03.wav")
        speaker = m.group(1) or (path.parent.name if path.parent.name in _SAVEE_SPEAKERS
                                 else None)
        if speaker is None:
            raise BadName(f"not inside a speaker folder ({', '.join(_SAVEE_SPEAKERS)})")
        emotion, extended = SAVEE_EMOTIONS[m.group(2)]
        return dict(utt_id=f"{speaker}_{m.group(2)}{m.group(3)}", speaker=speaker,
                    group=speaker, gender="male", emotion=emotion, emotion_extended=extended)

    rows, skipped = parse_files(audio_files(audio_dir), parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio)
