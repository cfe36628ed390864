"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database (Busso et al., 2008).

Ten actors (five female, five male) in five dyadic sessions, one woman and one man each, act
scripted and improvised scenes; every turn is cut into an utterance and labelled by several
annotators with a category and with valence / arousal / dominance on 1-5 scales.

Published layout (the ``IEMOCAP_full_release`` folder)::

    Session1/ ... Session5/
        sentences/wav/<dialog>/<utt>.wav          e.g. Ses01F_impro01/Ses01F_impro01_F000.wav
        dialog/EmoEvaluation/<dialog>.txt          labels
        dialog/transcriptions/<dialog>.txt         transcripts

Utterance ids ``Ses01F_impro01_F000``: session, the gender of the actor who wore the markers,
the dialog (``impro`` or ``script``), then the speaker's gender letter and the turn number.
:func:`load_iemocap` documents every field it reads.

Reference: C. Busso, M. Bulut, C.-C. Lee, A. Kazemzadeh, E. Mower, S. Kim, J. N. Chang, S. Lee
and S. S. Narayanan, "IEMOCAP: Interactive emotional dyadic motion capture database",
Language Resources and Evaluation 42(4):335-359, 2008.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (GENDER_LETTER, BadName, PathLike, audio_files, emotion_labels, finish,
                      is_hidden, parse_files, read_text, require_dir, shared_doc)

__all__ = ["IEMOCAP_EMOTIONS", "load_iemocap"]

#: IEMOCAP category codes (EmoEvaluation files). ``exc`` (excited) merges into happy, as in
#: most IEMOCAP work; frustration, other and no-agreement (``xxx``) have no common label.
IEMOCAP_EMOTIONS: dict[str, tuple[str, str]] = {
    "neu": ("neutral", "neutral"), "hap": ("happy", "happy"), "exc": ("happy", "happy"),
    "sad": ("sad", "sad"), "ang": ("angry", "angry"), "fea": ("", "fear"),
    "dis": ("", "disgust"), "sur": ("", "surprise"), "fru": ("", ""), "oth": ("", ""),
    "xxx": ("", ""),
}
_IEMOCAP_NAMES = {"neu": "neutral", "hap": "happiness", "exc": "excited", "sad": "sadness",
                  "ang": "anger", "fea": "fear", "dis": "disgust", "sur": "surprise",
                  "fru": "frustration", "oth": "other", "xxx": "no majority agreement"}

_IEMOCAP_UTT = re.compile(r"^Ses(\d{2})([FM])_(.+)_([FM])(\d{3})$")
_IEMOCAP_EVAL = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]")
_IEMOCAP_TRANS = re.compile(r"^(Ses\S+)\s+\[[\d.]+-[\d.]+\]:\s?(.*)$")


def _parse_iemocap_eval(path: Path) -> dict[str, tuple[str, float, float, float]]:
    """``{utt_id: (category, valence, arousal, dominance)}`` from one EmoEvaluation file."""
    out = {}
    for line in read_text(path).splitlines():
        m = _IEMOCAP_EVAL.match(line.strip())
        if not m:
            continue  # '%' header, 'C-E1:' / 'A-E2:' annotator lines, blank lines
        vad = [float(v) if v.strip() else math.nan for v in m.group(5).split(",")]
        vad = (vad + [math.nan] * 3)[:3]
        out[m.group(3)] = (m.group(4).lower(), *vad)
    return out


@shared_doc
def load_iemocap(root: PathLike, *, check_audio: bool = True) -> pd.DataFrame:
    """Load IEMOCAP (the ``IEMOCAP_full_release`` folder).

    Layout::

        Session1/ ... Session5/
            sentences/wav/<dialog>/<utt>.wav          e.g. Ses01F_impro01/Ses01F_impro01_F000.wav
            dialog/EmoEvaluation/<dialog>.txt          labels (required)
            dialog/transcriptions/<dialog>.txt         transcripts (optional)

    EmoEvaluation lines ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000,
    2.5000, 2.5000]`` give the consensus category and the mean [valence, arousal, dominance];
    header (``%``) and per-annotator lines (``C-E1:``, ``A-F1:``) are ignored, as are the
    ``Categorical/``, ``Attribute/`` and ``Self-evaluation/`` sub-folders. Transcript lines read
    ``Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.``.

    Fields: ``speaker`` ``Ses01_F`` from the utterance id (session, then the gender letter
    AFTER the last underscore: the dialog's own F/M letter says who wore the motion-capture
    markers, not who speaks); ``gender`` from that letter; ``group`` the session (``Ses01``);
    ``valence`` / ``arousal`` / ``dominance`` as annotated, already on IEMOCAP's 1-5 scale (no
    rescaling); ``intensity`` NaN. Categories map by :data:`IEMOCAP_EMOTIONS`: ``exc`` merges
    into happy; ``fru``, ``oth``, ``xxx`` get no label. Extra columns: ``dialog``,
    ``improvised`` (bool, ``impro`` dialogs) and ``category`` (the raw code). Utterances without
    a label line are kept unlabelled (useful as unlabelled data); a dialog without an
    EmoEvaluation file is mentioned in the warning.

    Parameters
    ----------
    root : path-like
        The folder holding ``Session1`` ... ``Session5``.
    {check_audio}

    {returns}

    References
    ----------
    C. Busso, M. Bulut, C.-C. Lee, A. Kazemzadeh, E. Mower, S. Kim, J. N. Chang, S. Lee and
    S. S. Narayanan, "IEMOCAP: Interactive emotional dyadic motion capture database",
    Language Resources and Evaluation 42(4):335-359, 2008.
    """
    corpus = "iemocap"
    root = require_dir(root, corpus, "Session1 ... Session5 folders")
    sessions = sorted(d for d in root.iterdir()
                      if d.is_dir() and re.fullmatch(r"Session\d+", d.name))
    if not sessions:
        raise FileNotFoundError(f"{corpus}: no Session1 ... Session5 folder in {root}; the "
                                f"layout expects Session<N>/sentences/wav/<dialog>/<utt>.wav")
    labels: dict[str, tuple[str, float, float, float]] = {}
    texts: dict[str, str] = {}
    files: list[Path] = []
    notes: list[str] = []
    for session in sessions:
        wav_dir = require_dir(session / "sentences" / "wav", corpus,
                              "one folder of <utt>.wav files per dialog")
        eval_dir = require_dir(session / "dialog" / "EmoEvaluation", corpus,
                               "one <dialog>.txt label file per dialog")
        label_files = {f.stem: f for f in eval_dir.glob("*.txt") if not is_hidden(f.name)}
        for f in label_files.values():
            labels.update(_parse_iemocap_eval(f))
        trans_dir = session / "dialog" / "transcriptions"
        if trans_dir.is_dir():
            for f in sorted(trans_dir.glob("*.txt")):
                for line in read_text(f).splitlines():
                    if m := _IEMOCAP_TRANS.match(line.strip()):
                        texts[m.group(1)] = m.group(2).strip()
        session_files = audio_files(wav_dir)
        missing = sorted({p.parent.name for p in session_files if not p.is_dir()}
                         - set(label_files))
        if missing:
            notes.append(f"no label file {session.name}/dialog/EmoEvaluation/<dialog>.txt for "
                         f"dialog(s) {', '.join(missing)}; their utterances are kept unlabelled")
        files += session_files

    def parse(path: Path) -> dict[str, Any]:
        m = _IEMOCAP_UTT.match(path.stem)
        if not m:
            raise BadName("expected an IEMOCAP utterance id like Ses01F_impro01_F000.wav")
        session, _, task, spk_gender, _ = m.groups()
        code, val, aro, dom = labels.get(path.stem, ("", math.nan, math.nan, math.nan))
        emotion, extended = emotion_labels(IEMOCAP_EMOTIONS, code)
        return dict(utt_id=path.stem, speaker=f"Ses{session}_{spk_gender}",
                    gender=GENDER_LETTER[spk_gender], emotion=emotion,
                    emotion_extended=extended, valence=val, arousal=aro, dominance=dom,
                    group=f"Ses{session}", transcript=texts.get(path.stem, ""),
                    dialog=path.stem.rsplit("_", 1)[0], improvised=task.startswith("impro"),
                    category=code)

    rows, skipped = parse_files(files, parse)
    return finish(corpus, root, rows, skipped, check_audio=check_audio, notes=notes)
