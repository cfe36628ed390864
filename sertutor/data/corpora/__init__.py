"""Real-corpus loaders: a corpus folder on disk, in its own published layout, into the manifest.

Each loader reads one corpus exactly as its distributors lay it out (folder structure, file
naming convention, label and metadata files) and returns the common manifest of
:mod:`sertutor.data.manifest`: one row per utterance, with speaker, gender, the common 4-class
emotion (:data:`~sertutor.data.manifest.EMOTIONS`) and the extended label
(:data:`~sertutor.data.manifest.EMOTIONS_EXTENDED`), intensity, arousal / valence / dominance on
a 1-5 scale, a split ``group`` for speaker-independent evaluation, and the transcript where the
corpus has one. Every loader adds a ``duration`` column (seconds, NaN when ``check_audio=False``)
and a few corpus-specific columns after the common ones.

=================  ==============================================  =========================
name               corpus                                          labels
=================  ==============================================  =========================
``iemocap``        IEMOCAP (Busso et al., 2008)                    categories + V/A/D
``msp-improv``     MSP-IMPROV (Busso et al., 2017)                 categories + A/V/D
``ravdess``        RAVDESS (Livingstone & Russo, 2018)             acted category, intensity
``crema-d``        CREMA-D (Cao et al., 2014)                      acted category, level
``emodb``          Berlin EmoDB (Burkhardt et al., 2005)           acted category
``tess``           TESS (Dupuis & Pichora-Fuller, 2010)            acted category
``savee``          SAVEE (Haq & Jackson, 2009)                     acted category
``librispeech``    LibriSpeech (Panayotov et al., 2015)            speaker, gender (auxiliary)
``voxceleb1``      VoxCeleb1 (Nagrani et al., 2017)                speaker, gender (auxiliary)
``manifest``       any folder of audio + a manifest CSV            whatever the CSV holds
=================  ==============================================  =========================

How the loaders treat bad input, the same way for every corpus:

- a missing corpus folder, a missing structural folder (e.g. RAVDESS's ``Actor_NN``) or a
  missing label / metadata file raises :class:`FileNotFoundError` naming the path and what the
  corpus's layout expects there;
- files whose name breaks the corpus's convention, duplicate utterance ids, and (with
  ``check_audio=True``) unreadable, empty, too short (under one 25 ms analysis window,
  :data:`sertutor.audio.MIN_SAMPLES` at 16 kHz) or non-finite audio are skipped and listed,
  with the reason per file, in ONE :class:`CorpusWarning` per call (its ``skipped`` attribute and
  ``df.attrs["skipped"]`` hold the full list); the rest of the corpus loads;
- the same warning lists what is found but never opened: anything that is not a regular file
  (a named pipe or a device such as ``/dev/zero``, which would block or never end, whether in
  a corpus folder or named by a manifest row), sub-folders that cannot be listed (their
  files are missing from the corpus) and file names that are not valid UTF-8 (shown with
  ``\\xNN`` escapes);
- a corpus with no usable file at all raises :class:`ValueError` naming the root.

Audio at another sample rate or with several channels is kept as it is on disk:
:func:`sertutor.audio.load_audio` converts it to 16 kHz mono when it is read.

Hidden files and folders (names starting with ``.``, e.g. macOS ``._*`` forks) and
``__MACOSX`` folders are ignored silently.

Entry point: :func:`load_corpus` (``"ravdess:/data/RAVDESS"``, ``"synth-emo@tiny"``, ...);
:func:`list_corpora` names them, :func:`label_mapping` shows how a corpus's labels map onto
the common sets.

The package holds one module per corpus, each with the corpus's published layout, naming
convention and reference (:mod:`~sertutor.data.corpora.iemocap`,
:mod:`~sertutor.data.corpora.msp_improv`, :mod:`~sertutor.data.corpora.ravdess`,
:mod:`~sertutor.data.corpora.crema_d`, :mod:`~sertutor.data.corpora.emodb`,
:mod:`~sertutor.data.corpora.tess`, :mod:`~sertutor.data.corpora.savee`,
:mod:`~sertutor.data.corpora.librispeech`, :mod:`~sertutor.data.corpora.voxceleb`,
:mod:`~sertutor.data.corpora.manifest_csv`), the machinery they share in
:mod:`~sertutor.data.corpora._common`, and here the registry that maps each name to its loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from ._common import CorpusWarning, PathLike
from .crema_d import _CREMA_D_NAMES, CREMA_D_EMOTIONS, CREMA_D_SENTENCES, load_crema_d
from .emodb import _EMODB_NAMES, EMODB_EMOTIONS, EMODB_SPEAKERS, EMODB_TEXTS, load_emodb
from .iemocap import _IEMOCAP_NAMES, IEMOCAP_EMOTIONS, load_iemocap
from .librispeech import load_librispeech
from .manifest_csv import load_manifest
from .msp_improv import (_MSP_NAMES, MSP_IMPROV_EMOTIONS, MSP_IMPROV_RECORDING_TYPES,
                         load_msp_improv)
from .ravdess import _RAVDESS_NAMES, RAVDESS_EMOTIONS, load_ravdess
from .savee import _SAVEE_NAMES, SAVEE_EMOTIONS, load_savee
from .tess import _TESS_NAMES, TESS_EMOTIONS, load_tess
from .voxceleb import load_voxceleb1

__all__ = [
    "CorpusWarning",
    "load_corpus",
    "list_corpora",
    "label_mapping",
    "register",
    "SYNTHETIC_CORPORA",
    "load_iemocap",
    "load_msp_improv",
    "load_ravdess",
    "load_crema_d",
    "load_emodb",
    "load_tess",
    "load_savee",
    "load_librispeech",
    "load_voxceleb1",
    "load_manifest",
    "IEMOCAP_EMOTIONS",
    "MSP_IMPROV_EMOTIONS",
    "MSP_IMPROV_RECORDING_TYPES",
    "RAVDESS_EMOTIONS",
    "CREMA_D_EMOTIONS",
    "CREMA_D_SENTENCES",
    "EMODB_EMOTIONS",
    "EMODB_SPEAKERS",
    "EMODB_TEXTS",
    "TESS_EMOTIONS",
    "SAVEE_EMOTIONS",
]

# name -> (code -> (emotion, extended), code -> meaning), for label_mapping()
_LABEL_TABLES: dict[str, tuple[Mapping[str, tuple[str, str]], Mapping[str, str]]] = {
    "iemocap": (IEMOCAP_EMOTIONS, _IEMOCAP_NAMES),
    "msp-improv": (MSP_IMPROV_EMOTIONS, _MSP_NAMES),
    "ravdess": (RAVDESS_EMOTIONS, _RAVDESS_NAMES),
    "crema-d": (CREMA_D_EMOTIONS, _CREMA_D_NAMES),
    "emodb": (EMODB_EMOTIONS, _EMODB_NAMES),
    "tess": (TESS_EMOTIONS, _TESS_NAMES),
    "savee": (SAVEE_EMOTIONS, _SAVEE_NAMES),
}

# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    loader: Callable[..., pd.DataFrame]
    description: str
    example: str


_REGISTRY: dict[str, _Entry] = {}

#: The embedded synthetic corpora (:mod:`sertutor.data.synth`), loaded by name, no path.
SYNTHETIC_CORPORA: dict[str, str] = {
    "synth-emo": "synthetic emotion corpus: small, emotion-labelled (the labelled set)",
    "synth-aux": "synthetic auxiliary corpus: many speakers, speaker and gender labels only",
    "synth-field": "synthetic second emotion corpus, recorded differently (cross-corpus test)",
}


def register(name: str, description: str, example: str = ""):
    """Decorator: register a loader ``f(root, *, check_audio=True, ...)`` under ``name``.

    Parameters
    ----------
    name : str
        Corpus name used in specs (``"<name>:/path"``), lower case.
    description : str
        One line shown by :func:`list_corpora`.
    example : str
        An example spec for error messages.
    """
    def decorate(loader: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        _REGISTRY[name.lower()] = _Entry(loader, description,
                                         example or f"{name}:/path/to/{name}")
        return loader
    return decorate


# The corpora this package reads, in the order list_corpora() shows them:
# (name, loader, one-line description, example spec for error messages).
_BUILT_IN: list[tuple[str, Callable[..., pd.DataFrame], str, str]] = [
    ("iemocap", load_iemocap,
     "IEMOCAP: 10 actors in 5 dyadic sessions, categories + valence/arousal/dominance "
     "(Busso et al., 2008)", "iemocap:/data/IEMOCAP_full_release"),
    ("msp-improv", load_msp_improv,
     "MSP-IMPROV: 12 actors in 6 dyadic sessions, improvised target sentences, categories + "
     "arousal/valence/dominance (Busso et al., 2017)", "msp-improv:/data/MSP-IMPROV"),
    ("ravdess", load_ravdess,
     "RAVDESS: 24 actors (12 f, 12 m), 8 acted emotions at 2 intensities, North American "
     "English (Livingstone & Russo, 2018)", "ravdess:/data/RAVDESS"),
    ("crema-d", load_crema_d,
     "CREMA-D: 91 actors (48 m, 43 f), 6 emotions, 12 sentences, crowd-rated "
     "(Cao et al., 2014)", "crema-d:/data/CREMA-D"),
    ("emodb", load_emodb,
     "Berlin EmoDB: 10 actors (5 f, 5 m), 7 emotions, German (Burkhardt et al., 2005)",
     "emodb:/data/emodb"),
    ("tess", load_tess,
     "TESS: 2 actresses (aged 26 and 64), 7 emotions, 200 words in a carrier phrase "
     "(Dupuis & Pichora-Fuller, 2010)", "tess:/data/TESS"),
    ("savee", load_savee,
     "SAVEE: 4 male British English speakers, 7 emotions (Haq & Jackson, 2009)",
     "savee:/data/SAVEE"),
    ("librispeech", load_librispeech,
     "LibriSpeech: read audiobooks, 2,484 speakers with gender (auxiliary: no emotion labels) "
     "(Panayotov et al., 2015)", "librispeech:/data/LibriSpeech"),
    ("voxceleb1", load_voxceleb1,
     "VoxCeleb1: 1,251 celebrities in interview videos, speaker and gender (auxiliary: no "
     "emotion labels) (Nagrani et al., 2017)", "voxceleb1:/data/VoxCeleb1"),
    ("manifest", load_manifest,
     "any folder of audio described by a CSV in the manifest schema",
     "manifest:/data/my_corpus/manifest.csv"),
]
for _name, _loader, _description, _example in _BUILT_IN:
    register(_name, _description, _example)(_loader)
del _name, _loader, _description, _example


def list_corpora() -> dict[str, str]:
    """Corpus names that :func:`load_corpus` understands, with a one-line description each.

    Returns
    -------
    dict of str to str
        Synthetic corpora first, then the real-corpus loaders, then ``manifest``.
    """
    out = dict(SYNTHETIC_CORPORA)
    out.update({name: entry.description for name, entry in _REGISTRY.items()})
    return out


def _known_names() -> str:
    return ", ".join(list(SYNTHETIC_CORPORA) + list(_REGISTRY))


def load_corpus(spec: str, *, preset: Any = "classroom", data_dir: PathLike | None = None,
                check_audio: bool = True, **loader_kwargs: Any) -> pd.DataFrame:
    """Load a corpus by spec into the manifest.

    Parameters
    ----------
    spec : str
        ``"<name>:<path>"`` for a real corpus, e.g. ``"ravdess:/data/RAVDESS"``,
        ``"iemocap:~/corpora/IEMOCAP_full_release"``, ``"manifest:/data/my/manifest.csv"``;
        or a synthetic corpus name, ``"synth-emo"``, ``"synth-aux"``, ``"synth-field"``,
        optionally with a preset: ``"synth-emo@tiny"``. Names are case-insensitive;
        :func:`list_corpora` lists them.
    preset : str or Config
        Preset for synthetic corpora (``tiny``, ``classroom``, ``paper``, or a ``Config`` whose
        ``synth`` section sets the sizes); a ``@preset`` in the
        spec wins. Real corpora ignore it.
    data_dir : path-like, optional
        Synthetic corpora: where generated audio is stored (default
        :func:`sertutor.storage.data_dir`). Real corpora: a relative path in the spec is read
        from the working directory, or else from ``data_dir`` when it exists there.
    check_audio : bool
        Real corpora: validate every audio file and skip bad ones (see the module docs).
    **loader_kwargs
        Passed to the corpus's loader, e.g. ``include_song=True`` for RAVDESS or
        ``max_per_speaker=20`` for LibriSpeech.

    Returns
    -------
    pandas.DataFrame
        The manifest (:mod:`sertutor.data.manifest`).

    Raises
    ------
    ValueError
        Unknown corpus name (the message lists the known ones), a real corpus without a path,
        or a corpus with no usable file.
    FileNotFoundError
        A corpus folder, or a label / metadata file its layout needs, is missing.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"corpus spec must be a non-empty string like 'ravdess:/data/RAVDESS' "
                         f"or 'synth-emo', got {spec!r}; known corpora: {_known_names()}")
    head, has_path, rest = spec.strip().partition(":")
    name, has_preset, spec_preset = head.strip().lower().partition("@")
    if name in SYNTHETIC_CORPORA:
        if has_path:
            raise ValueError(f"{name} is generated, not read from a folder: use {name!r} "
                             f"(and data_dir=... for where it is stored), not {spec!r}")
        if loader_kwargs:
            raise ValueError(f"{name} takes no loader options, got {sorted(loader_kwargs)}")
        # deferred, not for a cycle: the synthetic voice (scipy) is needed only for these
        # specs, and looking the module up at call time lets tests swap it in sys.modules
        from ..synth import load_synth

        return load_synth(name, preset=spec_preset.strip() or preset, data_dir=data_dir)
    if name not in _REGISTRY:
        raise ValueError(f"unknown corpus {name!r} in spec {spec!r}; known corpora: "
                         f"{_known_names()}")
    entry = _REGISTRY[name]
    if has_preset:
        raise ValueError(f"{spec!r}: '@preset' applies to synthetic corpora only; "
                         f"write e.g. {entry.example!r}")
    if not rest.strip():
        raise ValueError(f"{name} is read from disk: give its folder, e.g. {entry.example!r}")
    path = Path(rest.strip()).expanduser()
    if not path.is_absolute() and not path.exists() and data_dir is not None:
        if (Path(data_dir).expanduser() / path).exists():
            path = Path(data_dir).expanduser() / path
    return entry.loader(path, check_audio=check_audio, **loader_kwargs)


def label_mapping(name: str) -> pd.DataFrame:
    """How a corpus's emotion labels map onto the common 4-class and extended sets.

    Parameters
    ----------
    name : str
        A corpus with emotion labels: ``iemocap``, ``msp-improv``, ``ravdess``, ``crema-d``,
        ``emodb``, ``tess``, ``savee``.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (as in the corpus's files), ``meaning``, ``emotion`` (4-class, ``""``
        when outside the set) and ``emotion_extended``.
    """
    key = name.strip().lower()
    if key not in _LABEL_TABLES:
        if key in _REGISTRY or key in SYNTHETIC_CORPORA:
            raise ValueError(f"{name!r} has no fixed emotion code table (auxiliary, synthetic "
                             f"or manifest corpus); corpora with one: {', '.join(_LABEL_TABLES)}")
        raise ValueError(f"unknown corpus {name!r}; corpora with an emotion code table: "
                         f"{', '.join(_LABEL_TABLES)}")
    table, meanings = _LABEL_TABLES[key]
    return pd.DataFrame([{"code": code, "meaning": meanings.get(code, code), "emotion": emo,
                          "emotion_extended": ext} for code, (emo, ext) in table.items()])
