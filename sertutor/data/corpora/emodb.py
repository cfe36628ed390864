"""Berlin EmoDB: the Berlin Database of Emotional Speech (Burkhardt et al., 2005).

Ten actors (five female, five male) say ten everyday German sentences in seven emotions:
anger, boredom, disgust, fear, happiness, sadness and neutral.

Published layout::

    wav/<speaker><text><emotion><version>.wav      e.g. wav/03a01Fa.wav

Name fields: the two-digit speaker (:data:`EMODB_SPEAKERS` gives the gender), the text code
(``a01`` ... ``b10``, :data:`EMODB_TEXTS`), the emotion as a German initial
(:data:`EMODB_EMOTIONS`) and a version letter; :func:`load_emodb` documents every field.

Reference: F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier and B. Weiss, "A database of
German emotional speech", Proc. Interspeech 2005, pp. 1517-1520.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (BadName, PathLike, audio_files, finish, parse_files, require_dir,
                      shared_doc)

__all__ = ["EMODB_EMOTIONS", "EMODB_SPEAKERS", "EMODB_TEXTS", "load_emodb"]

#: EmoDB emotion letter (German initial). Boredom (Langeweile) has no label in either set: it is
#: low-arousal and negative, which is neither neutral nor RAVDESS's calm.
EMODB_EMOTIONS: dict[str, tuple[str, str]] = {
    "W": ("angry", "angry"), "L": ("", ""), "E": ("", "disgust"), "A": ("", "fear"),
    "F": ("happy", "happy"), "T": ("sad", "sad"), "N": ("neutral", "neutral"),
}
_EMODB_NAMES = {"W": "Wut (anger)", "L": "Langeweile (boredom)", "E": "Ekel (disgust)",
                "A": "Angst (fear)", "F": "Freude (happiness)", "T": "Trauer (sadness)",
                "N": "neutral"}
#: EmoDB speaker -> gender, from the corpus documentation.
EMODB_SPEAKERS: dict[str, str] = {
    "03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
    "12": "male", "13": "female", "14": "female", "15": "male", "16": "female",
}
#: EmoDB text codes -> the German sentence, from the corpus documentation.
EMODB_TEXTS: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

_EMODB_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")


@shared_doc
def load_emodb(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load the Berlin Database of Emotional Speech (EmoDB).

    Layout::

        wav/03a01Fa.wav        <speaker 2 digits><text a01..b10><emotion letter><version>.wav

    (files directly in ``root`` are accepted when there is no ``wav/`` folder). Emotion letters
    are German initials: W Wut (anger), L Langeweile (boredom), E Ekel (disgust), A Angst
    (fear), F Freude (happiness), T Trauer (sadness), N neutral (:data:`EMODB_EMOTIONS`).
    Boredom has no label in either common set (it is low-arousal and negative, neither
    neutral nor calm): such rows have ``emotion == emotion_extended == ""`` and
    ``category == "L"``, so they can still be selected.

    Fields: ``speaker`` = ``group`` = the two-digit speaker; ``gender`` built in from the
    corpus documentation (:data:`EMODB_SPEAKERS`: 03 m, 08 f, 09 f, 10 m, 11 m, 12 m, 13 f,
    14 f, 15 m, 16 f); ``transcript`` the German sentence (:data:`EMODB_TEXTS`); intensity and
    dimensions NaN. Extra columns: ``text`` (code), ``version``, ``category`` (letter).

    Parameters
    ----------
    root : path-like
        The EmoDB folder holding ``wav/``.
    {check_audio}

    {returns}

    References
    ----------
    F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier and B. Weiss, "A database of German
    emotional speech", Proc. Interspeech 2005, pp. 1517-1520.
    """
    corpus = "emodb"
    root = require_dir(root, corpus, "a wav/ folder of files like 03a01Fa.wav")
    audio_dir = root / "wav"
    if not audio_dir.is_dir():
        if not any(f.suffix.lower() == ".wav" for f in root.iterdir()):
            raise FileNotFoundError(f"{corpus}: no wav/ folder in {root}; the layout expects "
                                    f"wav/<speaker><text><emotion><version>.wav, e.g. "
                                    f"wav/03a01Fa.wav")
        audio_dir = root

    def parse(path: Path) -> dict[str, Any]:
        m = _EMODB_NAME.match(path.stem)
        if not m:
            raise BadName("expected <speaker><text><emotion><version>.wav, e.g. 03a01Fa.wav")
        speaker, text, letter, version = m.groups()
        if letter not in EMODB_EMOTIONS:
            raise BadName(f"emotion letter {letter!r} is not one of "
                          f"{', '.join(EMODB_EMOTIONS)}")
        emotion, extended = EMODB_EMOTIONS[letter]
        return dict(utt_id=path.stem, speaker=speaker, group=speaker,
                    gender=EMODB_SPEAKERS.get(speaker, ""), emotion=emotion,
                    emotion_extended=extended, transcript=EMODB_TEXTS.get(text, ""), text=text,
                    version=version, category=letter)

    rows, skipped = parse_files(audio_files(audio_dir), parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio)
