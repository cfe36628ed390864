"""The ``sertutor`` command.

Each subcommand is a pair: a function that adds its arguments to an ``argparse`` parser, and a
function that runs it. Heavy imports (torch, the model) happen inside the run functions, so
``sertutor --help`` answers at once.

    sertutor synth      [--preset classroom] [--corpus synth-emo ...] [--data-dir DIR]
    sertutor train      [--preset classroom] [--model full] [--label-fraction 1.0] ...
    sertutor evaluate   CHECKPOINT --corpus SPEC
    sertutor experiment {ablation,cross-corpus,dimensional} [--preset classroom] --out DIR
    sertutor corpora    (list the corpus specs sertutor understands)
    sertutor tutorials  {list,path,export} (the tutorial notebooks; export: static HTML)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .config import PRESETS

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------------------- synth
def _add_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="classroom", choices=sorted(PRESETS),
                   help="corpus sizes to generate (default: classroom)")
    p.add_argument("--corpus", action="append", dest="corpora", metavar="NAME",
                   choices=["synth-emo", "synth-aux", "synth-field"],
                   help="generate only this corpus (repeatable; default: all three)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where to write (default: $SERTUTOR_DATA_DIR, ./data or ~/.cache/sertutor)")
    p.add_argument("--force", action="store_true",
                   help="regenerate even if the corpus is already on disk")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_synth(args: argparse.Namespace) -> int:
    from .data.synth import CORPORA, write_corpus

    for name in args.corpora or list(CORPORA):
        path = write_corpus(name, preset=args.preset, data_dir=args.data_dir,
                            force=args.force, progress=not args.quiet)
        print(f"{name}: {path}")
    return 0


# --------------------------------------------------------------------------------------- train
def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="classroom", choices=sorted(PRESETS),
                   help="sizes of corpora, model and schedule (default: classroom)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if available), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_train(p: argparse.ArgumentParser) -> None:
    from .config import MODEL_VARIANTS

    _add_common(p)
    p.add_argument("--model", default="full", choices=MODEL_VARIANTS,
                   help="baseline (CNN), ae, aae (semi-supervised AAE), mtl (multi-task), "
                        "full (default: full)")
    p.add_argument("--label-fraction", type=float, default=1.0,
                   help="share of emotion-training utterances that keep their label "
                        "(default: 1.0)")
    p.add_argument("--emotion-corpus", default="synth-emo", metavar="SPEC",
                   help="emotion corpus spec, e.g. synth-emo, ravdess:/data/RAVDESS "
                        "(default: synth-emo)")
    p.add_argument("--aux-corpus", default="synth-aux", metavar="SPEC",
                   help="auxiliary speaker/gender corpus spec, or 'none' (default: synth-aux)")
    p.add_argument("--test-corpus", action="append", metavar="SPEC",
                   help="extra corpus to test on, cross-corpus (repeatable; default: "
                        "synth-field when training on synth-emo)")
    p.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    p.add_argument("--seed", type=int, default=0,
                   help="fixes data order, label subset, initialisation and test fold")
    p.add_argument("--out", type=Path, default=Path("runs/classroom"),
                   help="output folder for metrics.json, checkpoint.pt, report.html "
                        "(default: runs/classroom)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run whose checkpoint.pt is in --out")
    p.add_argument("--no-report", action="store_true", help="skip report.html")


def _run_train(args: argparse.Namespace) -> int:
    import json

    from .config import get_config
    from .pipeline import run
    from .train import init_distributed, shutdown_distributed

    overrides = {"model__variant": args.model, "train__label_fraction": args.label_fraction,
                 "train__seed": args.seed}
    if args.steps is not None:
        overrides["train__steps"] = args.steps
    config = get_config(args.preset, **overrides)
    device = init_distributed(args.device)
    tests = args.test_corpus
    if tests is None:
        tests = ["synth-field"] if args.emotion_corpus.split("@")[0] == "synth-emo" else []
    aux = None if args.aux_corpus.lower() == "none" else args.aux_corpus
    try:
        metrics = run(config, emotion_corpus=args.emotion_corpus, aux_corpus=aux,
                      test_corpora=tests, out_dir=args.out, device=device,
                      resume=args.resume, fold=args.seed, report=not args.no_report,
                      progress=not args.quiet)
    except BaseException:
        shutdown_distributed(wait=False)
        raise
    shutdown_distributed()
    if metrics and "uar" in metrics:
        summary = {k: metrics[k] for k in ("uar", "wa", "macro_f1")}
        summary["cross_corpus_uar"] = {k: v["uar"] for k, v in metrics["cross_corpus"].items()}
        print(json.dumps(summary, indent=2))
        print(f"wrote {args.out}/metrics.json, checkpoint.pt"
              + ("" if args.no_report else ", report.html"))
    return 0


# ------------------------------------------------------------------------------------ evaluate
def _add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="checkpoint.pt written by sertutor train")
    p.add_argument("--corpus", required=True, metavar="SPEC",
                   help="corpus to score on, e.g. synth-field or ravdess:/data/RAVDESS")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda (default: auto)")
    p.add_argument("--out", type=Path, default=None, help="also write the metrics to this JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_evaluate(args: argparse.Namespace) -> int:
    import json

    from .pipeline import evaluate_checkpoint
    from .storage import atomic_write_text

    metrics = evaluate_checkpoint(args.checkpoint, corpus=args.corpus, device=args.device,
                                  progress=not args.quiet)
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


# ---------------------------------------------------------------------------------- experiment
def _add_experiment(p: argparse.ArgumentParser) -> None:
    from .config import MODEL_VARIANTS

    p.add_argument("name", choices=["ablation", "cross-corpus", "dimensional"],
                   help="ablation: models x label fractions; cross-corpus: synth-emo -> "
                        "synth-field; dimensional: arousal/valence UAR and CCC")
    _add_common(p)
    p.add_argument("--out", type=Path, required=True, help="folder for results.json/.md")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="seeds (each also picks a test fold; default: 0 1 2)")
    p.add_argument("--models", nargs="+", choices=MODEL_VARIANTS, default=None,
                   help="model variants to compare (default: the experiment's own)")
    p.add_argument("--fractions", type=float, nargs="+", default=None,
                   help="label fractions (ablation only; default: 0.1 0.3 1.0)")
    p.add_argument("--steps", type=int, default=None, help="override the preset's step count")


def _run_experiment(args: argparse.Namespace) -> int:
    from .experiments import run_experiment, to_markdown
    from .train import resolve_device

    kwargs = {"preset": args.preset, "seeds": args.seeds,
              "device": str(resolve_device(args.device)), "progress": not args.quiet}
    if args.models:
        kwargs["variants"] = args.models
    if args.fractions:
        if args.name != "ablation":
            raise ValueError("--fractions applies to the ablation experiment only")
        kwargs["fractions"] = args.fractions
    if args.steps is not None:
        kwargs["train__steps"] = args.steps
    results = run_experiment(args.name, out_dir=args.out, **kwargs)
    print(to_markdown(results))
    print(f"wrote {args.out}/results.json and results.md")
    return 0


# ------------------------------------------------------------------------------------- corpora
def _add_corpora(p: argparse.ArgumentParser) -> None:
    pass


def _run_corpora(args: argparse.Namespace) -> int:
    from .data.corpora import list_corpora

    for name, description in list_corpora().items():
        print(f"{name:14s} {description}")
    return 0


# ----------------------------------------------------------------------------------- tutorials
def _add_tutorials(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="list the tutorial notebooks with their titles",
                   description="List the tutorial notebooks with their titles.")
    sub.add_parser("path", help="print the folder holding the notebooks",
                   description="Print the folder holding the notebooks (open it with "
                               "jupyter lab).")
    ex = sub.add_parser("export", help="execute the notebooks and write static HTML pages",
                        description="Execute the notebooks in fresh kernels (widget state "
                                    "stored) and write one HTML page each plus index.html. "
                                    "Figures are embedded and the ipywidgets HTML manager "
                                    "is copied to DIR/_static, so the pages read offline.")
    ex.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="folder for the HTML pages")
    ex.add_argument("--fast", action="store_true",
                    help="run with SERTUTOR_FAST=1 (the quick version the tests run)")
    ex.add_argument("--notebook", action="append", metavar="NAME",
                    help="only this notebook: a file name or its number, e.g. 00 "
                         "(repeatable; default: all)")
    ex.add_argument("--timeout", type=int, default=600,
                    help="seconds allowed per cell (default: 600)")


def _run_tutorials(args: argparse.Namespace) -> int:
    from . import tutorials

    if args.action is None:
        print("sertutor tutorials: choose an action: list, path or export", file=sys.stderr)
        return 2
    if args.action == "path":
        print(tutorials.tutorials_dir())
        return 0
    if args.action == "list":
        return tutorials.main_list()
    notebooks = tutorials.list_notebooks()
    if args.notebook:
        chosen = []
        for name in args.notebook:
            hits = [p for p in notebooks if p.name == name or p.stem == name
                    or p.name.startswith(f"{name}_")]
            if not hits:
                raise ValueError(f"no tutorial notebook {name!r}; choose from "
                                 f"{[p.stem for p in notebooks]}")
            chosen += [p for p in hits if p not in chosen]
        notebooks = chosen
    results = tutorials.export(args.out, fast=args.fast, notebooks=notebooks,
                               timeout=args.timeout)
    failed = [r.notebook for r in results if not r.ok]
    print(f"wrote {len(results)} page(s) and index.html to {args.out}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


# ------------------------------------------------------------------------------ registration
#: name -> (help, add-arguments function, run function)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "synth": ("generate the embedded synthetic corpora (WAV + manifest.csv) into the data dir",
              _add_synth, _run_synth),
    "train": ("train a model (default: the full multi-task AAE on the classroom corpora) and "
              "write metrics.json, checkpoint.pt and report.html", _add_train, _run_train),
    "evaluate": ("score a saved checkpoint on a corpus (UAR, WA, confusion, CCC)",
                 _add_evaluate, _run_evaluate),
    "experiment": ("run the paper's ablation, cross-corpus or dimensional study as tables",
                   _add_experiment, _run_experiment),
    "corpora": ("list the corpus specs that --emotion-corpus, --corpus, ... accept",
                _add_corpora, _run_corpora),
    "tutorials": ("list, locate or export (execute to static HTML) the tutorial notebooks",
                  _add_tutorials, _run_tutorials),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``sertutor`` argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="sertutor",
        description="Speech emotion recognition with a multi-task semi-supervised adversarial "
                    "autoencoder (Latif et al., 2022), for learning and teaching.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"sertutor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add, _) in COMMANDS.items():
        add(sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:]
                           + "."))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sertutor`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(COMMANDS[args.command][2](args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError) as exc:
        print(f"sertutor {args.command}: error: {exc}", file=sys.stderr)
        return 1
