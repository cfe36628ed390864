"""From corpus specs to a trained model and its metrics, in the paper's setting.

:func:`prepare_data` builds what one run trains and tests on:

1. the emotion corpus, split speaker-independently: one fold of speaker groups is the test set,
   a fraction of the remaining speakers is the validation set (early stopping);
2. the label fraction: a stratified share of the training utterances keeps its emotion label,
   the rest joins the unlabelled stream;
3. the auxiliary corpus (speaker and gender labels only), with a few utterances per speaker held
   out to score the speaker head;
4. log-mel features (cached), normalised per corpus or per speaker
   (``config.features.normalise``, decided in one place, :func:`fit_normaliser`), cut into
   fixed-length segments;
5. optional further test corpora (cross-corpus), each normalised with its own statistics.

Per-speaker normalisation fits each speaker's statistics on all of that speaker's audio in the
corpus (every utterance, whatever its emotion, labels never read), for training, test and
cross-corpus speakers alike: a test speaker is normalised with their own unlabelled audio.

:func:`train_and_evaluate` trains one model on it and returns its metrics;
:func:`load_trained` rebuilds a trained model from its checkpoint. The job that does all of it
and writes a run folder (``sertutor train``) is :func:`sertutor.jobs.run`, one layer up.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .config import Config, get_config

__all__ = ["PreparedData", "prepare_data", "prepare_corpora", "build_model", "train_and_evaluate",
           "load_trained", "corpus_norm_stats", "fit_normaliser", "NORMALISATIONS"]

#: Names that moved to the job layer (:mod:`sertutor.jobs`) and still resolve here, so that
#: ``from sertutor.pipeline import run`` in a user's code keeps working. The job layer sits
#: above this module, so they are looked up when asked for, never imported by this file.
_MOVED_TO_JOBS = ("run", "evaluate_checkpoint")


def __getattr__(name: str):
    if name in _MOVED_TO_JOBS:
        return getattr(importlib.import_module("sertutor.jobs"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Values of ``FeatureConfig.normalise``.
NORMALISATIONS = ("corpus", "speaker")


@dataclass
class PreparedData:
    """Segment sets and the statistics needed to rebuild them (see :func:`prepare_data`)."""

    config: Config
    streams: Any  # sertutor.train.Streams
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


def prepare_data(config: Config, *, emotion_corpus: str = "synth-emo",
                 aux_corpus: str | None = "synth-aux", test_corpora: Sequence[str] = (),
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
    from .data.corpora import load_corpus
    from .data.dataset import (FeatureSet, LabelMaps, extract_features, group_folds,
                               label_subset, make_segments, split_groups)
    from .data.manifest import EMOTIONS
    from .features import NormStats
    from .train import Streams

    config.validate()  # a field assigned after get_config (cfg.train.steps = 0) is caught here
    fc, seed = config.features, config.train.seed
    cache_dir = None if data_dir is None else Path(data_dir) / "features"

    def features(spec: str) -> "FeatureSet":
        # synthetic corpora are generated with config.synth
        df = load_corpus(spec, preset=config, data_dir=data_dir)
        return extract_features(df, config=fc, progress=progress, cache_dir=cache_dir)

    from tqdm.auto import tqdm

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
    aux_fit = aux_held = None
    if aux_corpus:
        fs_aux = features(aux_corpus)
        last = fs_aux.manifest.groupby("speaker").cumcount(ascending=False) == 0
        many = fs_aux.manifest.groupby("speaker")["speaker"].transform("size") > 1
        held = (last & many).to_numpy()
        aux_fit, aux_held = fs_aux.subset(~held), fs_aux.subset(held)

    stages.update()
    stages.set_postfix_str("normalising and cutting segments")
    label_maps = LabelMaps.fit(aux_fit.manifest if aux_fit is not None else fs_fit.manifest)
    stats = {"emotion": NormStats.fit(fs_train_all.features)}  # all training speakers' audio
    norms = {"emotion": fit_normaliser(fc, stats["emotion"], fs_emo_all)}
    if aux_fit is not None:
        stats["aux"] = NormStats.fit(aux_fit.features)
        norms["aux"] = fit_normaliser(fc, stats["aux"], fs_aux)

    def segments(fs, role, *, hide_labels: bool = False):
        return make_segments(fs, stats=norms[role], frames=fc.segment_frames,
                             hop=fc.segment_hop, label_maps=label_maps,
                             label_mask=np.zeros(len(fs), bool) if hide_labels else None)

    unlabelled = None
    if (~keep).any():  # the unlabelled stream: same audio, every emotion label hidden
        unlabelled = segments(fs_fit.subset(~keep), "emotion", hide_labels=True)
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
    return PreparedData(config=config, streams=streams, test=test, aux_test=aux_test,
                        cross=cross, label_maps=label_maps, norm_stats=stats,
                        manifests=manifests,
                        specs={"emotion": emotion_corpus, "aux": aux_corpus or ""},
                        normalisers=norms, feature_sets=feature_sets)


def fit_normaliser(features_config, reference, audio):
    """How one corpus is normalised: the one place that decides it.

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
    from .data.dataset import speaker_keys
    from .features import SpeakerNormStats

    mode = getattr(features_config, "normalise", "corpus")
    if mode == "corpus":
        return reference
    if mode == "speaker":
        return SpeakerNormStats.fit(audio.features, speaker_keys(audio.manifest),
                                    reference=reference,
                                    prior_utts=float(features_config.speaker_prior_utts))
    raise ValueError(f"features.normalise must be one of {NORMALISATIONS}, got {mode!r}")


def build_model(config: Config, *, n_speakers: int):
    """The :class:`~sertutor.models.MultiTaskAAE` of ``config.model.variant``."""
    from .models import MultiTaskAAE

    return MultiTaskAAE(model=config.model, features=config.features,
                        n_speakers=max(int(n_speakers), 1))


def _seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate_all(model, data: PreparedData, *, device=None) -> dict[str, Any]:
    """Metrics on the held-out speakers, the auxiliary hold-out and every cross-corpus set."""
    from .data.manifest import EMOTIONS
    from .evaluate import evaluate_segments, pool_utterances, predict, weighted_accuracy

    emotions = EMOTIONS[:data.config.model.n_emotions]
    metrics: dict[str, Any] = dict(evaluate_segments(model, data.test, emotions=emotions,
                                                     device=device))
    if data.aux_test is not None and getattr(model, "has_aux_heads", False):
        out = predict(model, data.aux_test, device=device)
        _, prob = pool_utterances(out["speaker_prob"], data.aux_test.utt)
        _, spk = pool_utterances(data.aux_test.speaker.float(), data.aux_test.utt)
        metrics["speaker_accuracy"] = weighted_accuracy(spk.round().astype(int),
                                                        prob.argmax(1))
    metrics["cross_corpus"] = {spec: evaluate_segments(model, seg, emotions=emotions,
                                                       device=device)
                               for spec, seg in data.cross.items()}
    return metrics


def train_and_evaluate(config: Config, data: PreparedData, *, device: str = "auto",
                       callbacks: Sequence = (), out_dir: str | os.PathLike | None = None,
                       resume: bool = False, progress: bool = True,
                       run_info: dict[str, Any] | None = None):
    """Train ``config.model.variant`` on ``data``; return ``(trainer, metrics)``.

    ``run_info`` (corpora and fold, from :func:`run`) is stored in the checkpoint's meta, so a
    later ``--resume`` can tell whether it continues the same run.
    """
    from .train import Trainer

    _seed_everything(config.train.seed)
    model = build_model(config, n_speakers=len(data.label_maps.speakers))
    meta = {"label_maps": data.label_maps.to_dict(),
            "norm_stats": {k: v.to_dict() for k, v in data.norm_stats.items()},
            "specs": data.specs,
            # how to normalise new audio for this model (see corpus_norm_stats)
            "normalise": config.features.normalise,
            "speaker_prior_utts": config.features.speaker_prior_utts,
            "run": dict(run_info or {})}
    trainer = Trainer(model, data.streams, config=config, device=device, callbacks=callbacks,
                      out_dir=out_dir, meta=meta, progress=progress)
    resume_from = None
    if resume:
        if out_dir is None or not (Path(out_dir) / "checkpoint.pt").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint.pt in {out_dir} to resume from")
        resume_from = Path(out_dir) / "checkpoint.pt"
    trainer.fit(resume_from=resume_from)
    metrics = evaluate_all(trainer.model, data, device=trainer.device) if trainer.is_main else {}
    metrics["train"] = {"steps": trainer.step_count, "best_step": trainer.best_step,
                        "stopped_early": trainer.stopped_early,
                        "seconds": round(getattr(trainer, "train_seconds", 0.0), 2),
                        "device": str(trainer.device), "world_size": trainer.world_size,
                        "cpu_threads": [list(t) for t in getattr(trainer, "threads", [])]}
    return trainer, metrics


def load_trained(path: str | os.PathLike, *, device: str = "cpu"):
    """Rebuild a trained model from a checkpoint; returns ``(model, config, meta)``.

    The model holds the best validation weights when the run had a validation stream, and is
    in eval mode. Loading uses ``weights_only=True``: a checkpoint cannot run code.
    """
    from .train import load_checkpoint, resolve_device

    dev = resolve_device(device)
    state = load_checkpoint(path, map_location=dev)
    for key in ("config", "meta", "model"):
        if key not in state:
            raise ValueError(f"{path} has no {key!r}: not a checkpoint written by sertutor "
                             "train (or written by an older version)")
    config = Config.from_dict(json.loads(state["config"]))
    meta = json.loads(state["meta"])
    n_speakers = len(meta.get("label_maps", {}).get("speakers", [])) or 1
    model = build_model(config, n_speakers=n_speakers).to(dev)
    try:
        model.load_state_dict(state["best_model"] if state.get("best_model") is not None
                              else state["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in first[1:] if ln.strip()), first[0] if first else "")
        raise ValueError(f"{path}: the weights do not fit the model its config describes "
                         f"({detail[:160]})") from None
    model.eval()
    return model, config, meta


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
    from .data.dataset import FeatureSet
    from .features import NormStats

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
    from .config import FeatureConfig

    fc = FeatureConfig(normalise=mode,
                       speaker_prior_utts=float(meta.get("speaker_prior_utts", 1.0)))
    audio = FeatureSet(manifest=manifest.reset_index(drop=True), features=list(features),
                       config=fc)
    return fit_normaliser(fc, reference, audio), role


def prepare_corpora(preset: str = "classroom", *, corpora: Sequence[str] | None = None,
                    features: bool = False, data_dir: str | os.PathLike | None = None,
                    force: bool = False, progress: bool = True,
                    log=print) -> dict[str, Path]:
    """Generate the embedded synthetic corpora of a preset and, with ``features``, cache their
    log-mel features: what a lab machine needs before class (``sertutor synth``, ``sertutor
    tutorials prepare``).

    Returns ``{corpus: manifest path}``; ``log`` receives one line per corpus and cache.
    """
    from .data.dataset import extract_features
    from .data.manifest import read_manifest_csv
    from .data.synth import CORPORA, write_corpus

    cache_dir = None if data_dir is None else Path(data_dir) / "features"
    written = {}
    for name in corpora or list(CORPORA):
        path = write_corpus(name, preset=preset, data_dir=data_dir, force=force,
                            progress=progress)
        log(f"{name}: {path}")
        if features:
            fs = extract_features(read_manifest_csv(path, corpus=name),
                                  config=get_config(preset).features, progress=progress,
                                  cache_dir=cache_dir)
            log(f"{name}: features cached in {fs.cache_file}")
        written[name] = path
    return written
