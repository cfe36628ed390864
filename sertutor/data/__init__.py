"""Data: the manifest schema, the embedded synthetic corpora, real-corpus loaders and datasets."""

from .manifest import (COLUMNS, EMOTIONS, EMOTIONS_EXTENDED, GENDERS, make_manifest,
                       read_manifest_csv, validate_manifest, write_manifest_csv)

__all__ = ["COLUMNS", "EMOTIONS", "EMOTIONS_EXTENDED", "GENDERS", "make_manifest",
           "read_manifest_csv", "validate_manifest", "write_manifest_csv", "load_corpus"]


def load_corpus(spec, **kwargs):
    """Load a corpus by spec (``synth-emo``, ``ravdess:/path``, ``manifest:/file.csv``, ...).

    See :func:`sertutor.data.corpora.load_corpus`.
    """
    from .corpora import load_corpus as _load

    return _load(spec, **kwargs)
