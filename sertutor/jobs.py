"""The job layer: what ``sertutor train`` and ``sertutor evaluate`` do with a run folder.

:func:`run` prepares the data (:func:`sertutor.data.prepare.prepare_data`), trains and
evaluates (:func:`train_and_evaluate`) and writes the run folder: ``metrics.json``,
``checkpoint.pt`` and ``report.html`` (:mod:`sertutor.report`). It guards that folder: a folder
that already holds a run is refused unless the run is resumed (:func:`check_resumable`: the
same data, split, labels, schedule and model, or nothing) or overwritten
(:func:`prepare_run_dir`), and an unwritable ``--out`` is reported before any work.
:func:`evaluate_checkpoint` scores a saved model on any corpus, and says when that corpus holds
the speakers the model trained on.

This module sits above the report and the widgets it draws with; the layers below it
(:mod:`sertutor.checkpoint`, :mod:`sertutor.train`, :mod:`sertutor.data`, ...) never import it.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .checkpoint import build_model, load_trained, run_meta
from .config import Config, get_config
from .data.manifest import emotion_labels
from .data.prepare import (DEFAULT_AUX_CORPUS, DEFAULT_EMOTION_CORPUS, PreparedData,
                           prepare_data, segments_for_model)
from .evaluate import evaluate_all, evaluate_segments
from .report import report_utterances, write_report
from .runtime import release_memory
from .storage import atomic_write_json
from .train import Trainer, load_checkpoint

__all__ = ["run", "train_and_evaluate", "evaluate_checkpoint", "prepare_run_dir",
           "check_resumable", "run_identity", "RUN_FILES"]


#: The files a run writes to its folder; a folder never mixes the files of two runs.
RUN_FILES = ("checkpoint.pt", "metrics.json", "report.html")

#: Config fields that do not change what a run computes: a resumed run may differ in them.
NOT_RUN_DEFINING = ("train.num_threads",)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def run_identity(config: Config, run_info: dict[str, Any]) -> dict[str, Any]:
    """Everything that defines a run, flattened (``"train.seed": 0``, ``"run.fold": 0``, ...):
    the config (data sizes, split, labels, schedule, model) and the corpora and fold."""
    ident = {k: v for k, v in _flatten(config.to_dict()).items() if k not in NOT_RUN_DEFINING}
    ident.update({f"run.{k}": v for k, v in run_info.items()})
    return ident


def check_resumable(checkpoint: str | os.PathLike, config: Config,
                    run_info: dict[str, Any]) -> None:
    """Refuse to resume ``checkpoint`` with a run that differs from the one that wrote it.

    Raises ``ValueError`` naming each differing field with its stored and its given value.
    (A resumed run that silently changed seed or label fraction would test on speakers it
    trained on, and report numbers that look honest.)
    """
    state = load_checkpoint(checkpoint)
    stored_config = Config.from_dict(json.loads(state["config"]))
    stored_run = json.loads(state["meta"]).get("run", {})
    stored = run_identity(stored_config, stored_run)
    given = run_identity(config, {k: v for k, v in run_info.items()
                                  if k in stored_run or not stored_run})
    diffs = [f"{k} is {stored.get(k)!r} there, {given.get(k)!r} here"
             for k in sorted(set(stored) | set(given)) if stored.get(k) != given.get(k)]
    if diffs:
        raise ValueError(f"--resume: {checkpoint} belongs to a different run: "
                         + "; ".join(diffs[:6]) + ("; ..." if len(diffs) > 6 else "")
                         + ". Give the options of that run to continue it, or --overwrite "
                         "(or another --out) to start a new one")


def prepare_run_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Make ``out`` ready for a run, before any data is prepared.

    - a file where the folder should be, or a folder that cannot be written, is reported now,
      not at the first checkpoint after minutes of training;
    - a folder that already holds a run is refused unless ``resume`` (continue it) or
      ``overwrite`` (its files are removed first, so the folder never mixes two runs);
    - on ``resume``, the previous ``metrics.json`` and ``report.html`` are removed: the
      resumed run writes its own.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder for the run's outputs")
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write to --out ({exc.strerror})", str(out)) from None
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint.pt in {out} to resume from")
        stale = [n for n in existing if n != "checkpoint.pt"]
    elif existing and not overwrite:
        raise ValueError(f"--out {out} already holds a run ({', '.join(existing)}); pass "
                         "--resume to continue it, --overwrite to replace it, or choose "
                         "another --out")
    else:
        stale = existing
    for name in stale:
        (out / name).unlink()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_and_evaluate(config: Config, data: PreparedData, *, device: str = "auto",
                       callbacks: Sequence = (), out_dir: str | os.PathLike | None = None,
                       resume: bool = False, progress: bool = True,
                       run_info: dict[str, Any] | None = None):
    """Train ``config.model.variant`` on ``data``; return ``(trainer, metrics)``.

    ``run_info`` (corpora and fold, from :func:`run`) is stored in the checkpoint's meta, so a
    later ``--resume`` can tell whether it continues the same run.
    """
    _seed_everything(config.train.seed)
    model = build_model(config, n_speakers=len(data.label_maps.speakers))
    meta = run_meta(config, data, run_info)
    trainer = Trainer(model, data.streams, config=config, device=device, callbacks=callbacks,
                      out_dir=out_dir, meta=meta, progress=progress)
    resume_from = None
    if resume:
        if out_dir is None or not (Path(out_dir) / "checkpoint.pt").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint.pt in {out_dir} to resume from")
        resume_from = Path(out_dir) / "checkpoint.pt"
    trainer.fit(resume_from=resume_from)
    metrics = evaluate_all(trainer.model, data, device=trainer.device,
                           speaker_head=config.train.w_speaker > 0) if trainer.is_main else {}
    metrics["train"] = {"steps": trainer.step_count, "best_step": trainer.best_step,
                        "stopped_early": trainer.stopped_early,
                        "seconds": round(getattr(trainer, "train_seconds", 0.0), 2),
                        "device": str(trainer.device), "world_size": trainer.world_size,
                        "cpu_threads": [list(t) for t in getattr(trainer, "threads", [])]}
    return trainer, metrics


def run(config: Config | str = "classroom", *, emotion_corpus: str = DEFAULT_EMOTION_CORPUS,
        aux_corpus: str | None = DEFAULT_AUX_CORPUS, test_corpora: Sequence[str] = ("synth-field",),
        out_dir: str | os.PathLike = "runs/classroom", device: str = "auto",
        resume: bool = False, overwrite: bool = False, fold: int = 0, report: bool = True,
        progress: bool = True, callbacks: Sequence = ()) -> dict[str, Any]:
    """The ``sertutor train`` job: prepare, train, evaluate, write outputs; return metrics.

    Writes ``metrics.json``, ``checkpoint.pt`` and (with ``report=True``) ``report.html`` to
    ``out_dir``. A folder that already holds a run is refused unless ``resume`` (continue that
    same run: any difference in data, split, labels, schedule or model is refused) or
    ``overwrite`` (replace it); see :func:`prepare_run_dir` and :func:`check_resumable`.
    """
    config = get_config(config) if isinstance(config, str) else config
    out = Path(out_dir)
    run_info = {"emotion_corpus": emotion_corpus, "aux_corpus": aux_corpus or "", "fold": fold}
    prepare_run_dir(out, resume=resume, overwrite=overwrite)
    if resume:
        check_resumable(out / "checkpoint.pt", config, run_info)
    t0 = time.perf_counter()
    data = prepare_data(config, emotion_corpus=emotion_corpus, aux_corpus=aux_corpus,
                        test_corpora=test_corpora, fold=fold, progress=progress)
    t_data = time.perf_counter() - t0
    trainer, metrics = train_and_evaluate(config, data, device=device, callbacks=callbacks,
                                          out_dir=out, resume=resume, progress=progress,
                                          run_info=run_info)
    if not trainer.is_main:
        return metrics
    metrics["data"] = data.summary()
    metrics["data"]["seconds"] = round(t_data, 2)
    metrics["model"] = {"variant": config.model.variant,
                        "parameters": int(sum(p.numel() for p in trainer.model.parameters()))}
    notes = []
    for spec, m in metrics.get("cross_corpus", {}).items():
        # a "cross-corpus" test on the training corpus scores the training speakers again
        same = spec.split("@")[0].lower() == emotion_corpus.split("@")[0].lower()
        m["includes_training_speakers"] = same
        if same:
            notes.append(f"--test-corpus {spec} is the corpus this model trained on: its score "
                         "includes the training speakers (optimistic); the held-out score is "
                         "'uar'")
    if config.model.variant in ("mtl", "full") and not aux_corpus:
        notes.append(f"no auxiliary corpus: the speaker and gender heads of this "
                     f"'{config.model.variant}' model had no data, so the multi-task part "
                     "did not train")
    metrics["notes"] = notes
    metrics["config"] = config.to_dict()
    # The report needs the model, the curves and a sample of utterances, not the run's data:
    # take the sample, then free every feature set and segment stream before UMAP (hundreds of
    # MB that would otherwise stay resident under the report's peak).
    utterances = report_utterances(trainer.model, data) if report else None
    trainer.streams = None
    del data
    release_memory()
    if report:
        write_report(out / "report.html", trainer=trainer, metrics=metrics,
                     utterances=utterances)
    metrics["seconds_total"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(out / "metrics.json", metrics)  # NaN -> null: strict JSON
    return metrics


def evaluate_checkpoint(path: str | os.PathLike, *, corpus: str, device: str = "auto",
                        progress: bool = True, data_dir=None) -> dict[str, Any]:
    """Score a saved model on every 4-class utterance of ``corpus`` (a corpus spec).

    The corpus is normalised with the statistics the model was trained with when it is one of
    the run's training corpora, else with its own
    (:func:`sertutor.data.prepare.segments_for_model`). The run's own emotion corpus includes
    the speakers the model was trained on: the metrics then say
    ``includes_training_speakers: true`` and carry a ``note``.
    """
    model, config, meta = load_trained(path, device=device)
    # statistics from these utterances (per corpus, or per speaker for a model trained so)
    prepared = segments_for_model(corpus, features=config.features, meta=meta, preset=config,
                                  labelled_only=True, progress=progress, data_dir=data_dir)
    metrics = evaluate_segments(model, prepared.segments,
                                emotions=emotion_labels(config.model.n_emotions))
    role = prepared.role
    metrics["corpus"] = corpus
    metrics["normalisation"] = "training statistics" if role else "the corpus's own statistics"
    # the run's own emotion corpus holds the speakers it trained on: an optimistic score
    metrics["includes_training_speakers"] = role == "emotion"
    if role == "emotion":
        metrics["note"] = (f"{corpus} is the corpus this model trained on: these utterances "
                           "include its training speakers, so the score is optimistic; the "
                           "held-out score is in the run's metrics.json")
    return metrics
