"""Any corpus described by a CSV in the manifest schema: the ``manifest:`` spec.

The escape hatch for a corpus without a loader of its own (or a hand-picked subset of one):
write a CSV with one row per utterance in the columns of :mod:`sertutor.data.manifest`
(``path`` required; ``utt_id``, ``speaker``, ``gender``, ``emotion``, ... optional, extra
columns kept) and load it with ``load_corpus("manifest:/data/my_corpus/manifest.csv")``.
Relative paths are read from the CSV's folder; bad rows are skipped and reported like every
loader's (:mod:`sertutor.data.corpora`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..manifest import read_manifest_csv
from ._common import PathLike, finish

__all__ = ["load_manifest"]


def load_manifest(path: PathLike, *, check_audio: bool = True,
                  corpus: str | None = None) -> pd.DataFrame:
    """Load any corpus described by a CSV in the manifest schema.

    The CSV needs a ``path`` column (without ``utt_id`` the ids are the file names without
    extension); the other manifest columns
    (:data:`sertutor.data.manifest.COLUMNS`) are optional and extra columns are kept. Relative
    paths are resolved against the CSV's folder (:func:`sertutor.data.manifest.read_manifest_csv`).
    Rows whose audio is missing or unusable are skipped and listed in a :class:`CorpusWarning`,
    like the other loaders.

    Parameters
    ----------
    path : path-like
        The CSV file.
    check_audio : bool
        Validate each file and skip unusable ones.
    corpus : str, optional
        Fills the ``corpus`` column where the CSV leaves it empty; default the CSV's file name
        without extension.

    Returns
    -------
    pandas.DataFrame
        The manifest.
    """
    path = Path(path).expanduser()
    name = corpus or path.stem
    if path.exists() and not path.is_file():
        raise FileNotFoundError(f"manifest: {path} is not a regular file; expected a CSV with "
                                f"a path column (the manifest schema)")
    if not path.is_file():
        raise FileNotFoundError(f"manifest: file {path} not found; expected a CSV with at least "
                                f"utt_id and path columns (the manifest schema)")
    rows = read_manifest_csv(path, corpus=name).to_dict("records")
    return finish(name, path.parent, rows, check_audio=check_audio)
