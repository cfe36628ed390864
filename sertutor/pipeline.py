"""From corpus specs to a trained model and its metrics, in the paper's setting.

:func:`prepare_data` builds what one run trains and tests on:

1. the emotion corpus, split speaker-independently: one fold of speaker groups is the test set,
   a fraction of the remaining speakers is the validation set (early stopping);
2. the label fraction: a stratified share of the training utterances keeps its emotion label,
   the rest joins the unlabelled stream;
3. the auxiliary corpus (speaker and gender labels only), with a few utterances per speaker held
   out to score the speaker head;
4. log-mel features (cached), normalised per corpus, cut into fixed-length segments;
5. optional further test corpora (cross-corpus), each normalised with its own statistics.

:func:`train_and_evaluate` trains one model on it and returns its metrics; :func:`run` does
both and writes ``metrics.json``, ``checkpoint.pt`` and ``report.html`` to an output folder
(the ``sertutor train`` command).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .config import Config, get_config
from .storage import atomic_write_text

__all__ = ["PreparedData", "prepare_data", "build_model", "train_and_evaluate", "run",
           "load_trained", "evaluate_checkpoint", "corpus_norm_stats"]


@dataclass
class PreparedData:
    """Segment sets and the statistics needed to rebuild them (see :func:`prepare_data`)."""

    config: Config
    streams: Any  # sertutor.train.Streams
    test: Any  # SegmentSet: held-out speakers of the emotion corpus
    aux_test: Any  # SegmentSet: held-out utterances of the auxiliary speakers, or None
    cross: dict[str, Any]  # corpus spec -> SegmentSet, for cross-corpus tests
    label_maps: Any  # LabelMaps
    norm_stats: dict[str, Any]  # corpus role -> NormStats
    manifests: dict[str, pd.DataFrame] = field(default_factory=dict)  # role -> manifest
    specs: dict[str, str] = field(default_factory=dict)  # role -> corpus spec

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

    if not 0.0 < config.train.label_fraction <= 1.0:
        raise ValueError(f"label_fraction must lie in (0, 1], got {config.train.label_fraction}")
    fc, seed = config.features, config.train.seed
    cache_dir = None if data_dir is None else Path(data_dir) / "features"

    def features(spec: str) -> "FeatureSet":
        # synthetic corpora are generated with config.synth
        df = load_corpus(spec, preset=config, data_dir=data_dir)
        return extract_features(df, config=fc, progress=progress, cache_dir=cache_dir)

    # 1. Emotion corpus: the 4-class utterances, split by speaker group.
    fs_emo = features(emotion_corpus)
    fs_emo = fs_emo.subset(fs_emo.manifest["emotion"].to_numpy() != "")
    if len(fs_emo) == 0:
        raise ValueError(f"{emotion_corpus}: no utterance has one of the 4 emotion classes "
                         f"{list(EMOTIONS)}")
    folds = group_folds(fs_emo.manifest, n_folds=n_folds, seed=seed)
    train_idx, test_idx = folds[fold % len(folds)]
    fs_train_all = fs_emo.subset(train_idx)
    fit_idx, val_idx = split_groups(fs_train_all.manifest, fraction=config.train.val_fraction,
                                    seed=seed)
    fs_fit = fs_train_all.subset(fit_idx)
    keep = label_subset(fs_fit.manifest, fraction=config.train.label_fraction, seed=seed)

    # 2. Auxiliary corpus: one utterance per speaker held out to score the speaker head.
    aux_fit = aux_held = None
    if aux_corpus:
        fs_aux = features(aux_corpus)
        last = fs_aux.manifest.groupby("speaker").cumcount(ascending=False) == 0
        many = fs_aux.manifest.groupby("speaker")["speaker"].transform("size") > 1
        held = (last & many).to_numpy()
        aux_fit, aux_held = fs_aux.subset(~held), fs_aux.subset(held)

    label_maps = LabelMaps.fit(aux_fit.manifest if aux_fit is not None else fs_fit.manifest)
    stats = {"emotion": NormStats.fit(fs_train_all.features)}  # all training speakers' audio
    if aux_fit is not None:
        stats["aux"] = NormStats.fit(aux_fit.features)

    def segments(fs, role, *, hide_labels: bool = False):
        return make_segments(fs, stats=stats[role], frames=fc.segment_frames,
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

    # 3. Cross-corpus tests, each normalised with its own statistics.
    cross = {}
    manifests = {"emotion_train": fs_fit.manifest,
                 "emotion_test": fs_emo.manifest.iloc[test_idx].reset_index(drop=True)}
    for spec in test_corpora:
        fs = features(spec)
        fs = fs.subset(fs.manifest["emotion"].to_numpy() != "")
        if len(fs) == 0:
            raise ValueError(f"{spec}: no utterance with a 4-class emotion label to test on")
        stats[spec] = NormStats.fit(fs.features)
        cross[spec] = segments(fs, spec)
        manifests[spec] = fs.manifest
    if aux_fit is not None:
        manifests["aux"] = aux_fit.manifest
    return PreparedData(config=config, streams=streams, test=test, aux_test=aux_test,
                        cross=cross, label_maps=label_maps, norm_stats=stats,
                        manifests=manifests,
                        specs={"emotion": emotion_corpus, "aux": aux_corpus or ""})


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
                       resume: bool = False, progress: bool = True):
    """Train ``config.model.variant`` on ``data``; return ``(trainer, metrics)``."""
    from .train import Trainer

    _seed_everything(config.train.seed)
    model = build_model(config, n_speakers=len(data.label_maps.speakers))
    meta = {"label_maps": data.label_maps.to_dict(),
            "norm_stats": {k: v.to_dict() for k, v in data.norm_stats.items()},
            "specs": data.specs}
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
                        "device": str(trainer.device), "world_size": trainer.world_size}
    return trainer, metrics


def run(config: Config | str = "classroom", *, emotion_corpus: str = "synth-emo",
        aux_corpus: str | None = "synth-aux", test_corpora: Sequence[str] = ("synth-field",),
        out_dir: str | os.PathLike = "runs/classroom", device: str = "auto",
        resume: bool = False, fold: int = 0, report: bool = True, progress: bool = True,
        callbacks: Sequence = ()) -> dict[str, Any]:
    """The ``sertutor train`` job: prepare, train, evaluate, write outputs; return metrics.

    Writes ``metrics.json``, ``checkpoint.pt`` and (with ``report=True``) ``report.html`` to
    ``out_dir``.
    """
    config = get_config(config) if isinstance(config, str) else config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = prepare_data(config, emotion_corpus=emotion_corpus, aux_corpus=aux_corpus,
                        test_corpora=test_corpora, fold=fold, progress=progress)
    t_data = time.perf_counter() - t0
    trainer, metrics = train_and_evaluate(config, data, device=device, callbacks=callbacks,
                                          out_dir=out, resume=resume, progress=progress)
    if not trainer.is_main:
        return metrics
    metrics["data"] = data.summary()
    metrics["data"]["seconds"] = round(t_data, 2)
    metrics["model"] = {"variant": config.model.variant,
                        "parameters": int(sum(p.numel() for p in trainer.model.parameters()))}
    metrics["config"] = config.to_dict()
    if report:
        from .report import write_report

        write_report(out / "report.html", trainer=trainer, data=data, metrics=metrics)
    metrics["seconds_total"] = round(time.perf_counter() - t0, 2)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def load_trained(path: str | os.PathLike, *, device: str = "cpu"):
    """Rebuild a trained model from a checkpoint; returns ``(model, config, meta)``.

    The model holds the best validation weights when the run had a validation stream, and is
    in eval mode. Loading uses ``weights_only=True``: a checkpoint cannot run code.
    """
    from .train import load_checkpoint, resolve_device

    dev = resolve_device(device)
    state = load_checkpoint(path, map_location=dev)
    config = Config.from_dict(json.loads(state["config"]))
    meta = json.loads(state["meta"])
    n_speakers = len(meta.get("label_maps", {}).get("speakers", [])) or 1
    model = build_model(config, n_speakers=n_speakers).to(dev)
    model.load_state_dict(state["best_model"] if state["best_model"] is not None
                          else state["model"])
    model.eval()
    return model, config, meta


def corpus_norm_stats(meta: dict | None, spec: str | None, features):
    """The normalisation a trained model expects on the corpus ``spec``.

    The run's own statistics when ``spec`` names a corpus the run trained on (``meta["specs"]``:
    the emotion or auxiliary corpus, compared without a ``@...`` suffix and case), else
    statistics fitted on ``features`` (per-corpus normalisation, as in cross-corpus SER).
    Returns ``(NormStats, role)``, role ``"emotion"``, ``"aux"`` or None.
    """
    from .features import NormStats

    meta = meta or {}
    stored = meta.get("norm_stats", {})

    def base(name: str) -> str:
        return name.split("@")[0].lower()

    if spec:
        for role, run_spec in meta.get("specs", {}).items():
            if run_spec and base(run_spec) == base(spec) and role in stored:
                return NormStats.from_dict(stored[role]), role
    return NormStats.fit(features), None


def evaluate_checkpoint(path: str | os.PathLike, *, corpus: str, device: str = "auto",
                        progress: bool = True, data_dir=None) -> dict[str, Any]:
    """Score a saved model on every 4-class utterance of ``corpus`` (a corpus spec).

    The corpus is normalised with the statistics the model was trained with when it is one of
    the run's training corpora, else with its own (:func:`corpus_norm_stats`). Note that the training
    corpus includes the speakers the model was trained on.
    """
    from .data.corpora import load_corpus
    from .data.dataset import LabelMaps, extract_features, make_segments
    from .data.manifest import EMOTIONS
    from .evaluate import evaluate_segments

    model, config, meta = load_trained(path, device=device)
    df = load_corpus(corpus, preset=config, data_dir=data_dir)
    df = df[df["emotion"] != ""].reset_index(drop=True)
    if df.empty:
        raise ValueError(f"{corpus}: no utterance with a 4-class emotion label to evaluate on")
    fs = extract_features(df, config=config.features, progress=progress)
    stats, role = corpus_norm_stats(meta, corpus, fs.features)
    seg = make_segments(fs, stats=stats, frames=config.features.segment_frames,
                        hop=config.features.segment_hop,
                        label_maps=LabelMaps.from_dict(meta["label_maps"]))
    metrics = evaluate_segments(model, seg, emotions=EMOTIONS[:config.model.n_emotions])
    metrics["corpus"] = corpus
    metrics["normalisation"] = "training statistics" if role else "the corpus's own statistics"
    return metrics
