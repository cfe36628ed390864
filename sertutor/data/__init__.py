"""Data: the manifest schema, the embedded synthetic corpora, real-corpus loaders and datasets."""

from .manifest import (COLUMNS, EMOTIONS, EMOTIONS_EXTENDED, GENDERS, make_manifest,
                       read_manifest_csv, validate_manifest, write_manifest_csv)

__all__ = ["COLUMNS", "EMOTIONS", "EMOTIONS_EXTENDED", "GENDERS", "make_manifest",
           "read_manifest_csv", "validate_manifest", "write_manifest_csv", "load_corpus",
           "prepare_corpora"]

# load_corpus and prepare_corpora import their modules when called: those import scipy and
# torch (seconds), and the ``sertutor`` commands import this package at start-up.


def load_corpus(spec, **kwargs):
    """Load a corpus by spec (``synth-emo``, ``ravdess:/path``, ``manifest:/file.csv``, ...).

    See :func:`sertutor.data.corpora.load_corpus`.
    """
    from .corpora import load_corpus as _load

    return _load(spec, **kwargs)


def prepare_corpora(preset="classroom", **kwargs):
    """Generate the synthetic corpora of a preset (and, with ``features=True``, cache their
    features) before class.

    See :func:`sertutor.data.prepare.prepare_corpora`.
    """
    from .prepare import prepare_corpora as _prepare

    return _prepare(preset, **kwargs)
