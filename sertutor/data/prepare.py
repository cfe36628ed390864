"""The one preparation path: corpus spec -> features -> normalisation statistics -> segments.

Training and a trained model go through the same steps, in this module:

1. load the corpus (:func:`~sertutor.data.corpora.load_corpus`) and extract its log-mel
   features, cached in ``data_dir/features`` (:func:`~sertutor.data.extract.extract_features`);
2. decide the normalisation: per corpus (:class:`~sertutor.features.NormStats`) or per speaker
   (:class:`~sertutor.features.SpeakerNormStats`, from each speaker's own audio, shrunk towards
   the corpus statistics as ``features.speaker_prior_utts`` says), in one place,
   :func:`fit_normaliser`;
3. normalise and cut fixed-length segments with labels
   (:func:`~sertutor.data.segments.make_segments`).

:func:`prepare_data` does it for one training run:

1. the emotion corpus, split speaker-independently: one fold of speaker groups is the test set,
   a fraction of the remaining speakers is the validation set (early stopping);
2. the label fraction: a stratified share of the training utterances keeps its emotion label,
   the rest joins the unlabelled stream (with ``train.unlabelled = "train+test"`` the test
   speakers' audio joins it too, every label hidden: transductive semi-supervised learning);
3. the auxiliary corpus (speaker and gender labels only), with a few utterances per speaker held
   out to score the speaker head;
4. features, normalised per corpus or per speaker (``config.features.normalise``), cut into
   segments;
5. optional further test corpora (cross-corpus), each normalised with its own statistics.

Per-speaker normalisation fits each speaker's statistics on all of that speaker's audio in the
corpus (every utterance, whatever its emotion, labels never read), for training, test and
cross-corpus speakers alike: a test speaker is normalised with their own unlabelled audio.

:func:`segments_for_model` does it for a trained model: a corpus spec or a manifest, the model's
feature settings and the statistics stored in its checkpoint (``meta``, see
:func:`corpus_norm_stats`) give the segments the model expects. Evaluation of a checkpoint
(:func:`sertutor.jobs.evaluate_checkpoint`) and every widget use it.

:func:`prepare_corpora` writes the embedded synthetic corpora (and their feature caches) to disk
before class (``sertutor synth``, ``sertutor tutorials prepare``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import DECODER_VARIANTS, Config, FeatureConfig, get_config
from ..features import PROSODY_NAMES, NormStats, SpeakerNormStats
from ..runtime import release_memory
from .cache import cache_path
from .corpora import load_corpus
from .extract import FeatureSet, extract_features
from .labels import LabelMaps, speaker_keys
from .manifest import EMOTIONS, read_manifest_csv, validate_manifest
from .prosody import corpus_prosody, speaker_prosody
from .segments import SegmentSet, Streams, make_segments
from .splits import group_folds, label_subset, split_groups
from .synth import CORPORA, write_corpus

__all__ = ["PreparedData", "prepare_data", "ModelSegments", "segments_for_model",
           "corpus_norm_stats", "fit_normaliser", "NORMALISATIONS", "sample_rows",
           "prepare_corpora", "uses_prosody"]

#: Values of ``FeatureConfig.normalise``.
NORMALISATIONS = ("corpus", "speaker")


# ----------------------------------------------------------------------- the shared steps
def _feature_cache(data_dir: str | os.PathLike | None) -> Path | None:
    """Where features are cached: ``data_dir/features``; None: the default data folder's."""
    return None if data_dir is None else Path(data_dir) / "features"


def _corpus_features(spec: str, *, preset, features: FeatureConfig, progress: bool,
                     data_dir: str | os.PathLike | None) -> FeatureSet:
    """Step 1 for a corpus spec: its manifest (synthetic corpora generated with ``preset``)
    and the features of every utterance, cached."""
    df = load_corpus(spec, preset=preset, data_dir=data_dir)
    return extract_features(df, config=features, progress=progress,
                            cache_dir=_feature_cache(data_dir))


def _cut(fs: FeatureSet, normaliser, features: FeatureConfig, label_maps: LabelMaps,
         label_mask: np.ndarray | None = None,
         prosody: dict[str, np.ndarray] | None = None) -> SegmentSet:
    """Step 3: normalise ``fs`` with ``normaliser`` and cut it into segments; ``prosody``
    (``{utt_id: (18,)}``, :func:`~sertutor.data.prosody.speaker_prosody`) rides along."""
    rows = None  # (len(fs), 18): each utterance's descriptors
    if prosody is not None:
        ids = fs.manifest["utt_id"].to_numpy(dtype=str)
        rows = np.stack([prosody[u] for u in ids]) if len(ids) else \
            np.zeros((0, len(PROSODY_NAMES)), np.float32)
    return make_segments(fs, stats=normaliser, frames=features.segment_frames,
                         hop=features.segment_hop, label_maps=label_maps,
                         label_mask=label_mask, prosody=rows)


def _audio_only(fs: FeatureSet) -> FeatureSet:
    """``fs`` with every label blanked (emotion, gender, intensity, dimensions); speakers
    kept, since per-speaker normalisation needs to know whose audio it is."""
    manifest = fs.manifest.copy()
    for column in ("emotion", "emotion_extended", "gender"):
        manifest[column] = ""
    for column in ("intensity", "arousal", "valence", "dominance"):
        manifest[column] = np.nan
    return FeatureSet(manifest=manifest, features=fs.features, config=fs.config)


def _join(a: FeatureSet, b: FeatureSet) -> FeatureSet:
    """The utterances of ``a`` followed by those of ``b`` (same feature settings)."""
    return FeatureSet(manifest=pd.concat([a.manifest, b.manifest], ignore_index=True),
                      features=a.features + b.features, config=a.config)


def fit_normaliser(features_config, reference, audio):
    """How one corpus is normalised: the one place that decides it (step 2).

    Parameters
    ----------
    features_config : FeatureConfig
        ``normalise`` (``"corpus"`` or ``"speaker"``) and ``speaker_prior_utts``.
    reference : NormStats
        The corpus's statistics (per-corpus normalisation, and the target a speaker with few
        utterances is shrunk towards).
    audio : FeatureSet
        The corpus's utterances whose audio may be used; per-speaker statistics are fitted on
        every one of them, by ``corpus/speaker`` key, never reading a label.

    Returns
    -------
    NormStats (``"corpus"``: ``reference`` itself) or SpeakerNormStats (``"speaker"``).
    """
    mode = getattr(features_config, "normalise", "corpus")
    if mode == "corpus":
        return reference
    if mode == "speaker":
        return SpeakerNormStats.fit(audio.features, speaker_keys(audio.manifest),
                                    reference=reference,
                                    prior_utts=float(features_config.speaker_prior_utts))
    raise ValueError(f"features.normalise must be one of {NORMALISATIONS}, got {mode!r}")


def sample_rows(n: int, max_utterances: int | None, seed: int) -> np.ndarray:
    """Sorted row indices: all ``n``, or a seeded random sample of ``max_utterances``."""
    if max_utterances is None or n <= max_utterances:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_utterances, replace=False))


# ------------------------------------------------------------------------------ training
@dataclass
class PreparedData:
    """Segment sets and the statistics needed to rebuild them (see :func:`prepare_data`)."""

    config: Config
    streams: Streams
    test: Any  # SegmentSet: held-out speakers of the emotion corpus
    aux_test: Any  # SegmentSet: held-out utterances of the auxiliary speakers, or None
    cross: dict[str, Any]  # corpus spec -> SegmentSet, for cross-corpus tests
    label_maps: Any  # LabelMaps
    norm_stats: dict[str, Any]  # corpus role -> NormStats (per corpus; the reference)
    manifests: dict[str, pd.DataFrame] = field(default_factory=dict)  # role -> manifest
    specs: dict[str, str] = field(default_factory=dict)  # role -> corpus spec
    # corpus role -> what its segments were normalised with: the NormStats of norm_stats, or
    # a SpeakerNormStats (features.normalise == "speaker")
    normalisers: dict[str, Any] = field(default_factory=dict)
    # the un-normalised utterances behind the segment sets (FeatureSet each): "labelled",
    # "unlabelled", "val", "test" and each cross-corpus spec; for utterance-level references
    # such as a linear model on the same folds (benchmarks/method_screen.py)
    feature_sets: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Counts of utterances and segments per stream (for logs and reports)."""
        out: dict[str, int] = {}
        for name in ("labelled", "unlabelled", "aux", "val"):
            s = getattr(self.streams, name)
            out[f"{name}_segments"] = 0 if s is None else len(s)
        out["test_segments"] = len(self.test)
        for role, df in self.manifests.items():
            out[f"{role}_utterances"] = len(df)
        return out


#: The embedded corpora a run trains on by default: emotion labels, and the auxiliary corpus's
#: speaker, gender and dimensional labels.
DEFAULT_EMOTION_CORPUS, DEFAULT_AUX_CORPUS = "synth-emo", "synth-aux"


def prepare_data(config: Config, *, emotion_corpus: str = DEFAULT_EMOTION_CORPUS,
                 aux_corpus: str | None = DEFAULT_AUX_CORPUS, test_corpora: Sequence[str] = (),
                 fold: int = 0, n_folds: int = 5, progress: bool = True,
                 data_dir: str | os.PathLike | None = None) -> PreparedData:
    """Load, split, extract and segment the corpora of one run.

    Parameters
    ----------
    config : Config
        Features, label fraction (``config.train.label_fraction``), validation share and seed.
    emotion_corpus : str
        Corpus spec of the emotion corpus (``synth-emo``, ``ravdess:/path``, ...).
    aux_corpus : str or None
        Corpus spec of the auxiliary speaker/gender corpus; None for none.
    test_corpora : sequence of str
        Further corpora to test on (cross-corpus).
    fold, n_folds : int
        Which fold of speaker groups is the test set.
    """
    config.validate()  # a field assigned after get_config (cfg.train.steps = 0) is caught here
    fc, seed = config.features, config.train.seed

    def features(spec: str) -> FeatureSet:
        # synthetic corpora are generated with config.synth
        return _corpus_features(spec, preset=config, features=fc, progress=progress,
                                data_dir=data_dir)

    # one bar over the stages (features that are cached load without a bar of their own)
    stages = tqdm(total=3 + len(test_corpora), desc="preparing data", unit="stage",
                  disable=not progress, leave=False)
    stages.set_postfix_str(f"emotion corpus {emotion_corpus}")
    # 1. Emotion corpus: the 4-class utterances, split by speaker group.
    fs_emo_all = features(emotion_corpus)  # every utterance: speaker statistics use them all
    fs_emo = fs_emo_all.subset(fs_emo_all.manifest["emotion"].to_numpy() != "")
    if len(fs_emo) == 0:
        raise ValueError(f"{emotion_corpus}: no utterance has one of the 4 emotion classes "
                         f"{list(EMOTIONS)}")
    n_groups = fs_emo.manifest["group"].nunique()
    if n_groups < n_folds:
        raise ValueError(f"{emotion_corpus}: speaker-independent testing with {n_folds} folds "
                         f"needs at least {n_folds} speaker groups; the corpus has {n_groups} "
                         "(add speakers, or use a corpus with more)")
    folds = group_folds(fs_emo.manifest, n_folds=n_folds, seed=seed)
    train_idx, test_idx = folds[fold % len(folds)]
    fs_train_all = fs_emo.subset(train_idx)
    fit_idx, val_idx = split_groups(fs_train_all.manifest, fraction=config.train.val_fraction,
                                    seed=seed)
    fs_fit = fs_train_all.subset(fit_idx)
    keep = label_subset(fs_fit.manifest, fraction=config.train.label_fraction, seed=seed)

    stages.update()
    stages.set_postfix_str(f"auxiliary corpus {aux_corpus}")
    # 2. Auxiliary corpus: one utterance per speaker held out to score the speaker head.
    fs_aux = aux_fit = aux_held = None
    if aux_corpus:
        fs_aux = features(aux_corpus)
        last = fs_aux.manifest.groupby("speaker").cumcount(ascending=False) == 0
        many = fs_aux.manifest.groupby("speaker")["speaker"].transform("size") > 1
        held = (last & many).to_numpy()
        aux_fit, aux_held = fs_aux.subset(~held), fs_aux.subset(held)

    stages.update()
    stages.set_postfix_str("normalising and cutting segments")
    # the speaker head's classes: the auxiliary corpus's speakers, and with
    # train.speaker_corpora == "aux+emotion" also the emotion corpus's training speakers
    # (not the validation or test ones); without an auxiliary corpus, the latter alone. A
    # speaker-conditioned decoder (model.decoder_speaker_dim > 0) needs the latter too: it
    # reconstructs their audio (the speaker head learns only the rows speaker_corpora names)
    speaker_sources = [aux_fit.manifest] if aux_fit is not None else []
    if aux_fit is None or config.train.speaker_corpora == "aux+emotion" \
            or config.model.decoder_speaker_dim > 0:
        speaker_sources.append(fs_fit.manifest)
    label_maps = LabelMaps.fit(pd.concat(speaker_sources, ignore_index=True))
    stats = {"emotion": NormStats.fit(fs_train_all.features)}  # all training speakers' audio
    norms = {"emotion": fit_normaliser(fc, stats["emotion"], fs_emo_all)}
    if aux_fit is not None:
        stats["aux"] = NormStats.fit(aux_fit.features)
        norms["aux"] = fit_normaliser(fc, stats["aux"], fs_aux)

    # model.decoder_prosody: each utterance's prosodic descriptors, z-scored within its
    # speaker (all of the speaker's audio, as the log-mels' per-speaker statistics), the
    # decoder's second target; only the streams the trainer reads carry them
    prosody = {}
    if uses_prosody(config):
        cache = _feature_cache(data_dir)
        prosody["emotion"] = speaker_prosody(fs_emo_all, cache_dir=cache, progress=progress)
        if fs_aux is not None:
            prosody["aux"] = speaker_prosody(fs_aux, cache_dir=cache, progress=progress)

    def segments(fs, role, *, hide_labels: bool = False):
        return _cut(fs, norms[role], fc, label_maps,
                    label_mask=np.zeros(len(fs), bool) if hide_labels else None,
                    prosody=prosody.get(role))

    # the unlabelled stream: the training audio whose emotion label is hidden, and with
    # train.unlabelled == "train+test" the test speakers' audio with every label hidden
    pool = fs_fit.subset(~keep)
    if config.train.unlabelled == "train+test":
        pool = _join(pool, _audio_only(fs_emo.subset(test_idx)))
    unlabelled = segments(pool, "emotion", hide_labels=True) if len(pool) else None
    streams = Streams(
        labelled=segments(fs_fit.subset(keep), "emotion"),
        unlabelled=unlabelled,
        aux=segments(aux_fit, "aux") if aux_fit is not None else None,
        val=segments(fs_train_all.subset(val_idx), "emotion") if len(val_idx) else None,
    )
    test = segments(fs_emo.subset(test_idx), "emotion")
    aux_test = segments(aux_held, "aux") if aux_held is not None and len(aux_held.manifest) \
        else None

    stages.update()
    # 3. Cross-corpus tests, each normalised with its own statistics.
    cross = {}
    feature_sets = {"labelled": fs_fit.subset(keep), "unlabelled": fs_fit.subset(~keep),
                    "val": fs_train_all.subset(val_idx), "test": fs_emo.subset(test_idx)}
    manifests = {"emotion_train": fs_fit.manifest,
                 "emotion_test": fs_emo.manifest.iloc[test_idx].reset_index(drop=True)}
    for spec in test_corpora:
        stages.set_postfix_str(f"test corpus {spec}")
        fs_all = features(spec)
        fs = fs_all.subset(fs_all.manifest["emotion"].to_numpy() != "")
        if len(fs) == 0:
            raise ValueError(f"{spec}: no utterance with a 4-class emotion label to test on")
        stats[spec] = NormStats.fit(fs.features)
        norms[spec] = fit_normaliser(fc, stats[spec], fs_all)
        cross[spec] = segments(fs, spec)
        manifests[spec] = fs.manifest
        feature_sets[spec] = fs
        stages.update()
    stages.close()
    if aux_fit is not None:
        manifests["aux"] = aux_fit.manifest
    # the corpora's un-normalised features not kept below (the auxiliary corpus's, the
    # cache files' read buffers) are garbage now: give their memory back before training
    fs_aux = aux_fit = aux_held = fs_emo_all = pool = None
    release_memory()
    return PreparedData(config=config, streams=streams, test=test, aux_test=aux_test,
                        cross=cross, label_maps=label_maps, norm_stats=stats,
                        manifests=manifests,
                        specs={"emotion": emotion_corpus, "aux": aux_corpus or ""},
                        normalisers=norms, feature_sets=feature_sets)


# ------------------------------------------------------------------------ a trained model
def corpus_norm_stats(meta: dict | None, spec: str | None, features, *, manifest=None):
    """The normalisation a trained model expects on the corpus ``spec``.

    The per-corpus statistics are the run's own when ``spec`` names a corpus the run trained on
    (``meta["specs"]``: the emotion or auxiliary corpus, compared without a ``@...`` suffix and
    case), else fitted on ``features`` (per-corpus normalisation, as in cross-corpus SER).

    A model trained with per-speaker normalisation (``meta["normalise"] == "speaker"``) gets a
    :class:`~sertutor.features.SpeakerNormStats` instead: each speaker's statistics fitted on
    that speaker's utterances among ``features`` (their own audio, no labels), shrunk towards
    the per-corpus ones (:func:`fit_normaliser`). That needs ``manifest``, the rows of
    ``features``, for the speakers.

    Returns ``(NormStats or SpeakerNormStats, role)``, role ``"emotion"``, ``"aux"`` or None.
    """
    meta = meta or {}
    stored = meta.get("norm_stats", {})

    def base(name: str) -> str:
        return name.split("@")[0].lower()

    reference, role = None, None
    if spec:
        for r, run_spec in meta.get("specs", {}).items():
            if run_spec and base(run_spec) == base(spec) and r in stored:
                reference, role = NormStats.from_dict(stored[r]), r
                break
    if reference is None:
        reference = NormStats.fit(features)
    mode = meta.get("normalise", "corpus")
    if mode == "corpus":
        return reference, role
    if manifest is None:
        raise ValueError("this model was trained on per-speaker normalised features "
                         "(normalise='speaker'): pass manifest= (the rows of features) so each "
                         "speaker is normalised with statistics of their own audio")
    if len(manifest) != len(features):
        raise ValueError(f"manifest has {len(manifest)} rows for {len(features)} feature arrays")
    fc = FeatureConfig(normalise=mode,
                       speaker_prior_utts=float(meta.get("speaker_prior_utts", 1.0)))
    audio = FeatureSet(manifest=manifest.reset_index(drop=True), features=list(features),
                       config=fc)
    return fit_normaliser(fc, reference, audio), role


@dataclass
class ModelSegments:
    """A corpus prepared for a trained model (:func:`segments_for_model`).

    Attributes
    ----------
    segments : SegmentSet
        Normalised segments; ``segments.utt`` indexes the rows of ``features.manifest``.
    features : FeatureSet
        The utterances behind them (un-normalised features, manifest index 0..U-1).
    normaliser : NormStats or SpeakerNormStats
        What the segments were normalised with.
    role : str or None
        ``"emotion"`` / ``"aux"`` when that is the run's own training corpus and its stored
        statistics were used (the emotion corpus then holds the speakers the model trained on);
        None when the corpus was normalised with its own statistics.
    """

    segments: SegmentSet
    features: FeatureSet
    normaliser: Any
    role: str | None


def segments_for_model(source: str | pd.DataFrame, *, features: FeatureConfig,
                       meta: dict | None = None, spec: str | None = None,
                       preset: Any = "classroom", labelled_only: bool = False,
                       label_maps: LabelMaps | None = None,
                       max_utterances: int | None = None, seed: int = 0,
                       write_cache: bool = True, progress: bool = True,
                       data_dir: str | os.PathLike | None = None) -> ModelSegments:
    """The segments a trained model expects for a corpus: features, normalisation, segments.

    Parameters
    ----------
    source : str or pandas.DataFrame
        A corpus spec (``"synth-field"``, ``"ravdess:/data/RAVDESS"``), loaded with
        :func:`~sertutor.data.corpora.load_corpus`, or a manifest.
    features : FeatureConfig
        The model's feature settings (``config.features``, ``model.feature_config``).
    meta : dict, optional
        The checkpoint's ``meta`` (``load_trained`` / ``pretrained.load``): the corpus specs
        and normalisation statistics of the run, and ``normalise`` (``"corpus"`` or
        ``"speaker"``). The run's own corpora get the run's statistics, any other corpus its
        own; a per-speaker model gets each speaker's statistics from that speaker's audio
        among the utterances extracted (:func:`corpus_norm_stats`).
    spec : str, optional
        The corpus a manifest ``source`` holds, to find the run's statistics (default: the
        spec of a str ``source``; a manifest without it is normalised with its own).
    preset : str or Config
        The preset synthetic corpora are generated with.
    labelled_only : bool
        Keep only the utterances with a 4-class emotion label (evaluation), before features.
    label_maps : LabelMaps, optional
        Label indices of the segments (default: the run's, ``meta["label_maps"]``, else the
        emotion classes with no speakers).
    max_utterances : int, optional
        At most this many utterances, a seeded random sample (:func:`sample_rows`).
    seed : int
        Seed of that sample.
    write_cache : bool
        True: features of every utterance, read from or written to the feature cache. False:
        a cache of the whole corpus is read if there is one, else only the sample is extracted
        and no cache file is written (a sample's features are not worth keeping). The
        normalisation statistics come from the utterances extracted.
    progress : bool
        Progress bar while extracting features.
    data_dir : path-like, optional
        Where corpora and cached features are (default :func:`sertutor.storage.data_dir`), as
        in :func:`prepare_data`.
    """
    if isinstance(source, str):
        spec = source
        manifest = load_corpus(source, preset=preset, data_dir=data_dir)
    elif isinstance(source, pd.DataFrame):
        manifest = source
    else:
        raise TypeError(f"source must be a corpus spec str or a manifest DataFrame, got "
                        f"{type(source).__name__}")
    name = spec or "manifest"
    validate_manifest(manifest, name="source")
    manifest = manifest.reset_index(drop=True)
    if labelled_only:
        manifest = manifest[manifest["emotion"] != ""].reset_index(drop=True)
        if manifest.empty:
            raise ValueError(f"{name}: no utterance with a 4-class emotion label to evaluate on")
    elif manifest.empty:
        raise ValueError("source: the manifest has no utterances")
    cache_dir = _feature_cache(data_dir)
    if write_cache or cache_path(manifest, features, cache_dir).is_file():
        fs = extract_features(manifest, config=features, progress=progress, cache_dir=cache_dir)
    else:  # extract only the sample, and leave no cache file for it
        rows = sample_rows(len(manifest), max_utterances, seed)
        fs = extract_features(manifest.iloc[rows], config=features, cache=False,
                              progress=progress)
    if len(fs) == 0:
        raise ValueError(f"source {name!r}: no utterance could be read")
    # statistics from the utterances extracted (per corpus, or per speaker for a model
    # trained so), or the run's own for its training corpora
    normaliser, role = corpus_norm_stats(meta, spec, fs.features, manifest=fs.manifest)
    fs = fs.subset(sample_rows(len(fs), max_utterances, seed))
    if label_maps is None:
        label_maps = LabelMaps.from_dict(meta["label_maps"]) if meta and "label_maps" in meta \
            else LabelMaps()
    return ModelSegments(segments=_cut(fs, normaliser, features, label_maps), features=fs,
                         normaliser=normaliser, role=role)


# --------------------------------------------------------------------- before a class
def uses_prosody(config: Config) -> bool:
    """Whether a run of ``config`` reads prosodic descriptors (a decoder with
    ``model.decoder_prosody``): only then are they computed."""
    return config.model.decoder_prosody and config.model.variant in DECODER_VARIANTS


#: The embedded corpora a run trains on (emotion and auxiliary), whose prosodic descriptors
#: :func:`prepare_corpora` caches when the preset's decoder reads them; synth-field is only
#: tested on.
TRAINING_CORPORA = (DEFAULT_EMOTION_CORPUS, DEFAULT_AUX_CORPUS)


def prepare_corpora(preset: str = "classroom", *, corpora: Sequence[str] | None = None,
                    features: bool = False, data_dir: str | os.PathLike | None = None,
                    force: bool = False, progress: bool = True,
                    log=print) -> dict[str, Path]:
    """Generate the embedded synthetic corpora of a preset and, with ``features``, cache their
    log-mel features, and the prosodic descriptors of the corpora a run trains on when the
    preset's decoder reads them (:func:`uses_prosody`): what a lab machine needs before class
    (``sertutor synth``, ``sertutor tutorials prepare``).

    Returns ``{corpus: manifest path}``; ``log`` receives one line per corpus and cache.
    """
    config = get_config(preset)
    written = {}
    for name in corpora or list(CORPORA):
        path = write_corpus(name, preset=preset, data_dir=data_dir, force=force,
                            progress=progress)
        log(f"{name}: {path}")
        if features:
            fs = extract_features(read_manifest_csv(path, corpus=name),
                                  config=config.features, progress=progress,
                                  cache_dir=_feature_cache(data_dir))
            log(f"{name}: features cached in {fs.cache_file}")
            if name in TRAINING_CORPORA and uses_prosody(config):
                corpus_prosody(fs, cache_dir=_feature_cache(data_dir), progress=progress)
                log(f"{name}: prosodic descriptors cached beside them")
        written[name] = path
    return written
