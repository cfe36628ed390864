"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (Cao et al., 2014).

91 actors (48 male, 43 female, aged 20 to 74, of several races and ethnicities) say 12
sentences in six emotions, one sentence also at three intensity levels; crowd raters label
every clip.

Published layout::

    AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav     e.g. AudioWAV/1001_DFA_ANG_XX.wav
    VideoDemographics.csv                                 ActorID,Age,Sex,Race,Ethnicity

Name fields: actor (1001-1091), sentence code (:data:`CREMA_D_SENTENCES`), emotion
(:data:`CREMA_D_EMOTIONS`) and level (LO, MD, HI, XX unspecified); :func:`load_crema_d`
documents every field it reads.

Reference: H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and R. Verma,
"CREMA-D: Crowd-sourced emotional multimodal actors dataset", IEEE Transactions on Affective
Computing 5(4):377-390, 2014.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (BadName, PathLike, audio_files, check_fields, finish, missing_gender_note,
                      parse_files, require_dir, require_file, shared_doc)

__all__ = ["CREMA_D_EMOTIONS", "CREMA_D_SENTENCES", "load_crema_d"]

#: CREMA-D emotion field (3rd field).
CREMA_D_EMOTIONS: dict[str, tuple[str, str]] = {
    "NEU": ("neutral", "neutral"), "HAP": ("happy", "happy"), "SAD": ("sad", "sad"),
    "ANG": ("angry", "angry"), "FEA": ("", "fear"), "DIS": ("", "disgust"),
}
_CREMA_D_NAMES = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "anger",
                  "FEA": "fear", "DIS": "disgust"}
#: CREMA-D sentence codes (2nd field) -> the sentence spoken.
CREMA_D_SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
_CREMA_D_LEVELS = {"LO": 1 / 3, "MD": 2 / 3, "HI": 1.0, "XX": math.nan}

_CREMA_D_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def _read_crema_demographics(path: Path) -> dict[str, str]:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in ("ActorID", "Sex") if c not in table.columns]
    if missing:
        raise ValueError(f"crema-d: {path} lacks columns {missing}; expected ActorID, Age, "
                         f"Sex, Race, Ethnicity")
    sex = {"male": "male", "female": "female", "m": "male", "f": "female"}
    return {a.strip(): sex.get(s.strip().lower(), "") for a, s in zip(table.ActorID, table.Sex)}


@shared_doc
def load_crema_d(root: PathLike, *, check_audio: bool = True,
                 demographics: PathLike | None = None) -> pd.DataFrame:
    """Load CREMA-D.

    Layout::

        AudioWAV/1001_DFA_ANG_XX.wav        <actor>_<sentence>_<emotion>_<level>.wav
        VideoDemographics.csv               ActorID,Age,Sex,Race,Ethnicity (Sex Male/Female)

    Name fields: actor (1001-1091), sentence code (:data:`CREMA_D_SENTENCES`, e.g. DFA "Don't
    forget a jacket"), emotion (ANG, DIS, FEA, HAP, NEU, SAD; :data:`CREMA_D_EMOTIONS`), level
    (LO low, MD medium, HI high, XX unspecified). The release holds at least one empty file
    (``1076_MTI_SAD_XX.wav``), which ``check_audio`` reports and skips.

    Fields: ``speaker`` = ``group`` = the actor id; ``gender`` from the demographics file;
    ``intensity`` LO 1/3, MD 2/3, HI 1.0 (the ordinal levels spread evenly over (0, 1]),
    XX NaN; ``transcript`` the sentence; arousal / valence / dominance NaN (the crowd ratings
    are not part of this layout). Extra columns: ``sentence`` (code), ``level``.

    Parameters
    ----------
    root : path-like
        The CREMA-D folder holding ``AudioWAV/`` and ``VideoDemographics.csv``.
    {check_audio}
    demographics : path-like, optional
        Another location for ``VideoDemographics.csv``.

    {returns}

    References
    ----------
    H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and R. Verma, "CREMA-D:
    Crowd-sourced emotional multimodal actors dataset", IEEE Transactions on Affective
    Computing 5(4):377-390, 2014.
    """
    corpus = "crema-d"
    root = require_dir(root, corpus, "AudioWAV/ and VideoDemographics.csv")
    audio_dir = require_dir(root / "AudioWAV", corpus,
                            "the audio files <actor>_<sentence>_<emotion>_<level>.wav")
    demo_path = Path(demographics) if demographics is not None else root / "VideoDemographics.csv"
    genders = _read_crema_demographics(require_file(
        demo_path, corpus, "VideoDemographics.csv (ActorID, Age, Sex, Race, Ethnicity)"))
    unknown_actors: set[str] = set()

    def parse(path: Path) -> dict[str, Any]:
        m = _CREMA_D_NAME.match(path.stem)
        if not m:
            raise BadName("expected <actor>_<sentence>_<emotion>_<level>.wav, "
                          "e.g. 1001_DFA_ANG_XX.wav")
        actor, sentence, emo, level = m.groups()
        check_fields([(sentence in CREMA_D_SENTENCES, f"unknown sentence code {sentence}"),
                      (emo in CREMA_D_EMOTIONS,
                       f"emotion {emo} is not one of {', '.join(CREMA_D_EMOTIONS)}"),
                      (level in _CREMA_D_LEVELS, f"level {level} is not LO, MD, HI or XX")])
        if actor not in genders:
            unknown_actors.add(actor)
        emotion, extended = CREMA_D_EMOTIONS[emo]
        return dict(utt_id=path.stem, speaker=actor, group=actor, gender=genders.get(actor, ""),
                    emotion=emotion, emotion_extended=extended,
                    intensity=_CREMA_D_LEVELS[level], transcript=CREMA_D_SENTENCES[sentence],
                    sentence=sentence, level=level)

    rows, skipped = parse_files(audio_files(audio_dir), parse)
    notes = missing_gender_note(sorted(unknown_actors), demo_path.name, who="actor", limit=None)
    return finish(corpus, root, rows, skipped, check_audio=check_audio, notes=notes)
