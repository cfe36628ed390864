"""VoxCeleb1: celebrities speaking in interview videos (Nagrani et al., 2017), an auxiliary corpus.

1,251 speakers, over 150,000 utterances cut from YouTube videos, with each speaker's gender
and nationality and no emotion labels: here it serves the speaker and gender heads.

Published layout::

    vox1_meta.csv                                  tab-separated speaker metadata
    wav/<speaker id>/<video id>/<nnnnn>.wav        e.g. wav/id10001/1zcIwhmdeo4/00001.wav

Speaker ids are ``id`` and five digits, clips five digits. :func:`load_voxceleb1` documents
every field it reads.

Reference: A. Nagrani, J. S. Chung and A. Zisserman, "VoxCeleb: a large-scale speaker
identification dataset", Proc. Interspeech 2017, pp. 2616-2620.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import (GENDER_LETTER, BadName, PathLike, audio_files, finish,
                      missing_gender_note, parse_files, require_dir, require_file, shared_doc)

__all__ = ["load_voxceleb1"]

_VOX_SPEAKER = re.compile(r"^id\d{5}$")
_VOX_CLIP = re.compile(r"^\d{5}$")


def _read_vox1_meta(path: Path) -> dict[str, dict[str, str]]:
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    needed = ["VoxCeleb1 ID", "Gender"]
    if any(c not in table.columns for c in needed):
        raise ValueError(f"voxceleb1: {path} lacks columns {needed}; expected the tab-separated "
                         f"header 'VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, Set'")
    table = table.apply(lambda col: col.str.strip())
    return {row["VoxCeleb1 ID"]: {"gender": GENDER_LETTER.get(row["Gender"], ""),
                                  "nationality": row.get("Nationality", ""),
                                  "set": row.get("Set", ""), "name": row.get("VGGFace1 ID", "")}
            for row in table.to_dict("records")}


@shared_doc
def load_voxceleb1(root: PathLike, *, check_audio: bool = True,
                   max_per_speaker: int | None = None) -> pd.DataFrame:
    """Load VoxCeleb1 as an auxiliary corpus (speaker and gender, no emotion).

    Layout::

        vox1_meta.csv                         speaker metadata (required; tab-separated)
        wav/<speaker id>/<video id>/<nnnnn>.wav     e.g. wav/id10001/1zcIwhmdeo4/00001.wav

    ``vox1_meta.csv`` is tab-separated despite its name: ``VoxCeleb1 ID<TAB>VGGFace1 ID<TAB>
    Gender<TAB>Nationality<TAB>Set`` with gender ``m`` / ``f`` and set ``dev`` / ``test``.
    Audio is found recursively, so separately unpacked ``vox1_dev_wav/wav`` and
    ``vox1_test_wav/wav`` trees work too; the last three path parts must be
    ``id<5 digits>/<video>/<5 digits>.wav``.

    Fields: ``utt_id`` ``id10001-1zcIwhmdeo4-00001``; ``speaker`` = ``group`` = the VoxCeleb1
    id; ``gender`` from the metadata; all emotion fields and the transcript empty. Extra
    columns: ``video``, ``nationality``, ``set``.

    Parameters
    ----------
    root : path-like
        The VoxCeleb1 folder holding ``vox1_meta.csv`` and ``wav/``.
    {check_audio}
    max_per_speaker : int, optional
        Keep at most this many utterances per speaker (the first by id).

    {returns}

    References
    ----------
    A. Nagrani, J. S. Chung and A. Zisserman, "VoxCeleb: a large-scale speaker identification
    dataset", Proc. Interspeech 2017, pp. 2616-2620.
    """
    corpus = "voxceleb1"
    root = require_dir(root, corpus, "vox1_meta.csv and wav/<speaker>/<video>/<nnnnn>.wav")
    meta_path = require_file(root / "vox1_meta.csv", corpus,
                             "vox1_meta.csv (VoxCeleb1 ID, VGGFace1 ID, Gender, Nationality, "
                             "Set; tab-separated)")
    meta = _read_vox1_meta(meta_path)

    def parse(path: Path) -> dict[str, Any]:
        video, speaker = path.parent.name, path.parent.parent.name
        if not (_VOX_SPEAKER.match(speaker) and _VOX_CLIP.match(path.stem) and video):
            raise BadName("expected wav/id<5 digits>/<video>/<5 digits>.wav, "
                          "e.g. wav/id10001/1zcIwhmdeo4/00001.wav")
        info = meta.get(speaker, {})
        return dict(utt_id=f"{speaker}-{video}-{path.stem}", speaker=speaker, group=speaker,
                    gender=info.get("gender", ""), video=video,
                    nationality=info.get("nationality", ""), set=info.get("set", ""))

    rows, skipped = parse_files(audio_files(root), parse)
    unknown = sorted({r["speaker"] for r in rows} - set(meta))
    notes = missing_gender_note(unknown, meta_path.name)
    return finish(corpus, root, rows, skipped, check_audio=check_audio,
                  max_per_speaker=max_per_speaker, notes=notes)
