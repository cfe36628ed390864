"""LibriSpeech: read audiobooks from LibriVox (Panayotov et al., 2015), an auxiliary corpus.

About 1,000 hours of read English from 2,484 speakers with their gender and no emotion
labels: here it serves the speaker and gender heads of the multi-task model.

Published layout::

    SPEAKERS.TXT                                               ID | SEX | SUBSET | MINUTES | NAME
    <subset>/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac
    <subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt

with subsets ``train-clean-100``, ``train-clean-360``, ``train-other-500``, ``dev-clean``,
``dev-other``, ``test-clean`` and ``test-other``. :func:`load_librispeech` documents every
field it reads.

Reference: V. Panayotov, G. Chen, D. Povey and S. Khudanpur, "Librispeech: an ASR corpus
based on public domain audio books", Proc. ICASSP 2015, pp. 5206-5210.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ._common import (GENDER_LETTER, BadName, PathLike, audio_files, finish,
                      missing_gender_note, parse_files, read_text, require_dir, require_file,
                      shared_doc)

__all__ = ["load_librispeech"]

_LIBRI_SUBSET = re.compile(r"^(dev|test|train)-(clean|other)(-\d+)?$")
_LIBRI_NAME = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def _read_librispeech_speakers(path: Path) -> dict[str, tuple[str, str]]:
    """``{speaker: (gender, name)}`` from SPEAKERS.TXT (``ID | SEX | SUBSET | MINUTES | NAME``)."""
    out = {}
    for line in read_text(path).splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        parts = [p.strip() for p in line.split("|", 4)]  # names may contain '|' (|CBW|Simon)
        if len(parts) == 5 and parts[0].isdigit():
            out[parts[0]] = (GENDER_LETTER.get(parts[1], ""), parts[4])
    return out


@shared_doc
def load_librispeech(root: PathLike, *, check_audio: bool = True,
                     subsets: Sequence[str] | None = None,
                     max_per_speaker: int | None = None) -> pd.DataFrame:
    """Load LibriSpeech as an auxiliary corpus (speaker and gender, no emotion).

    Layout::

        SPEAKERS.TXT                                          speaker genders (required)
        <subset>/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac
        <subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt

    Subsets are ``train-clean-100``, ``train-clean-360``, ``train-other-500``, ``dev-clean``,
    ``dev-other``, ``test-clean``, ``test-other``; ``root`` may also be one subset folder with
    ``SPEAKERS.TXT`` in its parent. ``SPEAKERS.TXT`` has ``;`` comment lines, then rows
    ``ID  |SEX| SUBSET           |MINUTES| NAME`` (``|``-separated; a name may itself hold
    ``|``). Transcript lines read ``<utt_id> TRANSCRIPT``.

    Fields: ``speaker`` = ``group`` = the LibriSpeech speaker id; ``gender`` from F/M;
    ``transcript`` from the chapter's ``.trans.txt``; all emotion fields empty. Extra columns:
    ``subset``, ``chapter``.

    Parameters
    ----------
    root : path-like
        The ``LibriSpeech`` folder (holding ``SPEAKERS.TXT`` and the subset folders).
    {check_audio}
    subsets : sequence of str, optional
        Load only these subsets, e.g. ``("train-clean-100",)``; default all present.
    max_per_speaker : int, optional
        Keep at most this many utterances per speaker (the first by id), e.g. to make a
        balanced auxiliary set; files beyond the cap are not checked.

    {returns}

    References
    ----------
    V. Panayotov, G. Chen, D. Povey and S. Khudanpur, "Librispeech: an ASR corpus based on
    public domain audio books", Proc. ICASSP 2015, pp. 5206-5210.
    """
    corpus = "librispeech"
    root = require_dir(root, corpus, "SPEAKERS.TXT and subset folders such as "
                                      "train-clean-100/")
    if _LIBRI_SUBSET.match(root.name) and not (root / "SPEAKERS.TXT").is_file():
        speakers_file, subset_dirs = root.parent / "SPEAKERS.TXT", [root]
    else:
        speakers_file = root / "SPEAKERS.TXT"
        subset_dirs = sorted(d for d in root.iterdir()
                             if d.is_dir() and _LIBRI_SUBSET.match(d.name))
    speakers = _read_librispeech_speakers(require_file(
        speakers_file, corpus, "SPEAKERS.TXT (ID | SEX | SUBSET | MINUTES | NAME)"))
    if subsets is not None:
        present = {d.name: d for d in subset_dirs}
        for s in subsets:
            if s not in present:
                require_dir(root / s, corpus,
                            "<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac")
        subset_dirs = [present[s] for s in subsets]
    if not subset_dirs:
        raise FileNotFoundError(f"{corpus}: no subset folder (train-clean-100, dev-clean, ...) "
                                f"in {root}; the layout expects <subset>/<speaker>/<chapter>/"
                                f"<speaker>-<chapter>-<nnnn>.flac")
    transcripts: dict[Path, dict[str, str]] = {}

    def chapter_texts(folder: Path) -> dict[str, str]:
        if folder not in transcripts:
            texts = {}
            for f in folder.glob("*.trans.txt"):
                for line in read_text(f).splitlines():
                    uid, _, text = line.strip().partition(" ")
                    texts[uid] = text.strip()
            transcripts[folder] = texts
        return transcripts[folder]

    def parse(path: Path) -> dict[str, Any]:
        m = _LIBRI_NAME.match(path.stem)
        if not m:
            raise BadName("expected <speaker>-<chapter>-<nnnn>.flac, e.g. 19-198-0001.flac")
        speaker, chapter, _ = m.groups()
        if (path.parent.name, path.parent.parent.name) != (chapter, speaker):
            raise BadName(f"expected it in folder {speaker}/{chapter}/ of its subset")
        gender, _ = speakers.get(speaker, ("", ""))
        return dict(utt_id=path.stem, speaker=speaker, group=speaker, gender=gender,
                    transcript=chapter_texts(path.parent).get(path.stem, ""),
                    subset=path.parent.parent.parent.name, chapter=chapter)

    files = [f for d in subset_dirs for f in audio_files(d, (".flac", ".wav"))]
    rows, skipped = parse_files(files, parse)
    unknown = sorted({r["speaker"] for r in rows if r["speaker"] not in speakers}, key=int)
    notes = missing_gender_note(unknown, speakers_file)
    return finish(corpus, root, rows, skipped, check_audio=check_audio,
                  max_per_speaker=max_per_speaker, notes=notes)
