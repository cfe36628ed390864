"""The ``sertutor`` command.

Each subcommand is a pair: a function that adds its arguments to an ``argparse`` parser, and a
function that runs it. Heavy imports (torch, the model) happen inside the run functions, so
``sertutor --help`` answers at once.

    sertutor synth      [--preset classroom] [--corpus synth-emo ...] [--data-dir DIR]
    sertutor train      [--preset classroom] [--model full] [--label-fraction 1.0] ...
    sertutor evaluate   CHECKPOINT --corpus SPEC
    sertutor experiment {ablation,cross-corpus,dimensional} [--preset classroom] --out DIR
    sertutor corpora    (list the corpus specs sertutor understands)
    sertutor tutorials  {list,path,export,student,nbgrader,grade,class-experiment,prepare}
                        (the notebooks; export: static HTML; student: copies without
                        solutions; nbgrader: an nbgrader course; grade: grade submissions;
                        class-experiment: pool notebook 05's pairs; prepare: ready a lab
                        machine before class)
    sertutor doctor     (is this machine ready for a class? versions, threads, memory, data)

Errors a user can meet (a bad option, a missing or unwritable path, a full disk, torch and
torchaudio that do not load together) print one line naming the path or option and what to
do; ``--debug`` (or ``SERTUTOR_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import Callable

from . import __version__
from .config import _OPTIONS, MODEL_VARIANTS, PRESETS, get_config, parse_override
from .deps import DependencyError, torch_pair_problem
from .storage import atomic_write_text, to_json

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
    p.add_argument("--features", action="store_true",
                   help="also extract and cache the log-mel features, and the prosodic "
                        "descriptors the preset's decoder reads (what a lab machine needs "
                        "before class)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_synth(args: argparse.Namespace) -> int:
    from .data.prepare import prepare_corpora

    prepare_corpora(args.preset, corpora=args.corpora, features=args.features,
                    data_dir=args.data_dir, force=args.force, progress=not args.quiet)
    return 0


# --------------------------------------------------------------------------------------- train
def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="classroom", choices=sorted(PRESETS),
                   help="sizes of corpora, model and schedule (default: classroom)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if available), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], dest="overrides",
                   metavar="SECTION.FIELD=VALUE",
                   help="change one field of the preset's config, e.g. --set "
                        "train.w_speaker=0 or --set features.normalise=corpus (repeatable; "
                        "the fields and their meaning: sertutor.config)")


#: The fields ``sertutor experiment`` sets itself, and the option that sets them.
_EXPERIMENT_OPTIONS = {"train.steps": "--steps", "train.seed": "--seeds",
                       "train.label_fraction": "--fractions", "model.variant": "--models"}


def _overrides(items: list[str], options: dict[str, str] = _OPTIONS) -> dict[str, object]:
    """``--set`` values as get_config keywords; a field with its own option is refused."""
    out: dict[str, object] = {}
    for text in items:
        key, value = parse_override(text)
        dotted = key.replace("__", ".", 1)
        if dotted in options:
            raise ValueError(f"--set {text}: {dotted} has its own option, {options[dotted]}")
        out[key] = value
    return out


def _add_train(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    _add_set(p)
    p.add_argument("--model", default="full", choices=MODEL_VARIANTS,
                   help="baseline (CNN), ae, aae (semi-supervised AAE), mtl (multi-task), "
                        "full (the paper's model; default), fixmatch (baseline + FixMatch-style "
                        "pseudo-labels, a modern comparison)")
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
                   help="continue the run whose checkpoint.pt is in --out; it must be the same "
                        "run (any other seed, label fraction, steps, corpora, preset or model "
                        "is refused)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (by default a folder holding a run "
                        "is refused, so no result is lost)")
    p.add_argument("--no-report", action="store_true", help="skip report.html")


def _run_train(args: argparse.Namespace) -> int:
    from .jobs import run
    from .train import init_distributed, resolve_device, shutdown_distributed

    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other: continue the run in "
                         "--out, or replace it")
    resolve_device(args.device)  # a bad --device is reported before any work

    overrides = {"model__variant": args.model, "train__label_fraction": args.label_fraction,
                 "train__seed": args.seed, **_overrides(args.overrides)}
    if args.steps is not None:
        overrides["train__steps"] = args.steps
    config = get_config(args.preset, **overrides)
    _apply_threads(config.train.num_threads)
    device = init_distributed(args.device)
    tests = args.test_corpus
    if tests is None:
        tests = ["synth-field"] if args.emotion_corpus.split("@")[0] == "synth-emo" else []
    aux = None if args.aux_corpus.lower() == "none" else args.aux_corpus
    try:
        metrics = run(config, emotion_corpus=args.emotion_corpus, aux_corpus=aux,
                      test_corpora=tests, out_dir=args.out, device=device,
                      resume=args.resume, overwrite=args.overwrite, fold=args.seed,
                      report=not args.no_report,
                      progress=not args.quiet)
    except BaseException:
        shutdown_distributed(wait=False)
        raise
    shutdown_distributed()
    if metrics and "uar" in metrics:
        summary = {k: metrics[k] for k in ("uar", "wa", "macro_f1")}
        summary["cross_corpus_uar"] = {k: v["uar"] for k, v in metrics["cross_corpus"].items()}
        print(to_json(summary, indent=2))
        for note in metrics.get("notes", []):
            print(f"note: {note}")
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
    from .jobs import evaluate_checkpoint

    metrics = evaluate_checkpoint(args.checkpoint, corpus=args.corpus, device=args.device,
                                  progress=not args.quiet)
    text = to_json(metrics, indent=2)
    print(text)
    if metrics.get("note"):
        print(f"note: {metrics['note']}", file=sys.stderr)
    if args.out is not None:
        atomic_write_text(args.out, text)
    return 0


# ---------------------------------------------------------------------------------- experiment
def _add_experiment(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", choices=["ablation", "cross-corpus", "dimensional"],
                   help="ablation: models x label fractions; cross-corpus: synth-emo -> "
                        "synth-field; dimensional: arousal/valence UAR and CCC")
    _add_common(p)
    _add_set(p)
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

    _apply_threads(0)
    kwargs = {"preset": args.preset, "seeds": args.seeds,
              "device": str(resolve_device(args.device)), "progress": not args.quiet,
              **_overrides(args.overrides, _EXPERIMENT_OPTIONS)}
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
    ex.add_argument("--student-copy", action="append", metavar="NN",
                    help="also export the student copy (no solutions, exercises unanswered) "
                         "of this notebook to DIR/student/ (repeatable; default: 05, the lab "
                         "notebook)")
    ex.add_argument("--no-student-copies", action="store_true",
                    help="export the teacher copies only")
    st = sub.add_parser("student", help="write student copies of the notebooks (no solutions)",
                        description="Write the notebooks without their Solution blocks, "
                                    "outputs cleared, every check kept (the teacher copy is "
                                    "the tutorials folder itself). Same input, same bytes.")
    st.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="folder for the student notebooks (and README.md)")
    nb = sub.add_parser("nbgrader", help="write an nbgrader course made from the notebooks",
                        description="Write nbgrader source notebooks (COURSE_DIR/source/"
                                    "<notebook>/<notebook>.ipynb, one assignment per notebook) "
                                    "and a minimal COURSE_DIR/nbgrader_config.py: each exercise "
                                    "becomes an nbgrader solution cell (### BEGIN SOLUTION ... "
                                    "### END SOLUTION) and an autograded test cell calling "
                                    "check; the Solution blocks are cut out. Then, in "
                                    "COURSE_DIR: nbgrader generate_assignment NN_name. Needs "
                                    "nbgrader only to run nbgrader (pip install "
                                    "'sertutor[teach]').")
    nb.add_argument("--out", type=Path, required=True, metavar="COURSE_DIR",
                    help="the nbgrader course folder (nbgrader_config.py is kept if it exists)")
    nb.add_argument("--points", type=float, default=1,
                    help="points per exercise (default: 1)")
    nb.add_argument("--visible-tests", action="store_true",
                    help="show each test cell's assert in the students' release (default: an "
                         "nbgrader hidden test, so Run All goes past an unanswered exercise)")
    nb.add_argument("--no-grading-mode", action="store_true",
                    help="leave out the cell that sets SERTUTOR_GRADING=1 (grading mode: "
                         "answers must be the student's own implementation)")
    gr = sub.add_parser("grade", help="grade a folder of submitted notebooks",
                        description="Execute every submitted notebook (SUBMISSIONS/<student>/"
                                    "NN_name.ipynb) in its own kernel with a time and memory "
                                    "limit, on a copy, and write a CSV (student, notebook, "
                                    "exercise, status, message) and an HTML summary.")
    gr.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                    help="one folder per student holding their notebooks")
    gr.add_argument("--out", type=Path, required=True, metavar="CSV", help="the grades CSV")
    gr.add_argument("--html", type=Path, metavar="FILE",
                    help="the HTML summary (default: the CSV's name with .html)")
    gr.add_argument("--timeout", type=float, default=600,
                    help="seconds one notebook may run in all (default: 600)")
    gr.add_argument("--cell-timeout", type=float, default=120,
                    help="seconds one cell may run before it is interrupted (default: 120)")
    gr.add_argument("--memory-mb", type=int, default=8192,
                    help="address-space limit per notebook in MiB (default: 8192; torch alone "
                         "reserves about 3500)")
    gr.add_argument("--fast", action="store_true", help="run with SERTUTOR_FAST=1")
    ce = sub.add_parser("class-experiment",
                        help="pool the class's recorded pairs of runs (notebook 05)",
                        description="Read the pairs of baseline and full runs that students "
                                    "recorded in notebook 05 from their saved notebooks "
                                    "(nothing is executed; nbgrader's submitted/ folder works) "
                                    "and write the pooled paired gain, its standard error and "
                                    "wins (CSV) and the pairs (class_pairs.csv beside it). "
                                    "sertutor tutorials grade does the same next to its CSV.")
    ce.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                    help="one folder per student holding their notebooks")
    ce.add_argument("--out", type=Path, required=True, metavar="CSV",
                    help="the pooled table (e.g. class_experiment.csv)")
    pr = sub.add_parser("prepare", help="prepare this machine for a lab: corpora, feature "
                                        "caches, the model, numba's cache; then doctor",
                        description="Build everything a lab machine or a JupyterHub image "
                                    "needs before students arrive (the classroom corpora and "
                                    "their feature caches, the pretrained model, numba's UMAP "
                                    "cache), then run sertutor doctor.")
    pr.add_argument("--no-umap", action="store_true", help="skip warming numba's UMAP cache")
    pr.add_argument("--no-rescore", action="store_true",
                    help="doctor: load the shipped model but do not re-score it")


def _run_tutorials(args: argparse.Namespace) -> int:
    from . import teaching, tutorials

    if args.action is None:
        print("sertutor tutorials: choose an action: list, path, export, student, nbgrader, "
              "grade, class-experiment or prepare", file=sys.stderr)
        return 2
    if args.action == "path":
        print(tutorials.tutorials_dir())
        return 0
    if args.action == "list":
        return tutorials.main_list()
    if args.action in ("student", "nbgrader", "grade", "class-experiment", "prepare"):
        if args.action == "student":
            written = teaching.write_student_copies(args.out)
            n = sum(p.suffix == ".ipynb" for p in written)
            print(f"wrote {n} student notebook(s) to {args.out}")
            return 0
        if args.action == "nbgrader":
            written = teaching.write_nbgrader_course(
                args.out, points=args.points, hidden_asserts=not args.visible_tests,
                grading_mode=not args.no_grading_mode)
            n = sum(p.suffix == ".ipynb" for p in written)
            print(f"wrote {n} nbgrader source notebook(s) to {args.out / 'source'}"
                  + ("" if any(p.name == "nbgrader_config.py" for p in written)
                     else " (kept the existing nbgrader_config.py)")
                  + f"; next: cd {args.out} && nbgrader generate_assignment NN_name")
            return 0
        if args.action == "class-experiment":
            pooled = teaching.class_experiment(teaching.collect_pairs(args.submissions))
            if not pooled["pairs"]:
                print(f"no recorded pair of runs in {args.submissions}", file=sys.stderr)
                return 1
            table, pairs = teaching.write_class_experiment(pooled, args.out)
            for r in pooled["summary"]:
                print(f"{r['variant']} - {r['reference']} at fraction {r['fraction']:g}, "
                      f"{r['steps']} steps"
                      + ("" if r["ema_decay"] is None else f", weight average {r['ema_decay']:g}")
                      + ("" if r["w_speaker"] is None else f", speaker weight {r['w_speaker']:g}")
                      + ("" if r["speaker_grad"] is None
                         else f", speaker gradient {r['speaker_grad']:g}")
                      + ("" if r["decoder_prosody"] is None
                         else f", prosody target {'on' if r['decoder_prosody'] else 'off'}")
                      + f": gain {r['gain']:+.3f} (se {r['gain_se']:.3f}), "
                      f"{r['wins']} wins of {r['pairs']} pair(s), {r['students']} student(s)")
            print(f"-> {table}, {pairs}")
            return 0
        if args.action == "prepare":
            return teaching.prepare(umap=not args.no_umap, rescore=not args.no_rescore)
        report = teaching.grade(args.submissions, out=args.out, html_out=args.html,
                                timeout=args.timeout, cell_timeout=args.cell_timeout,
                                memory_mb=args.memory_mb, fast=args.fast)
        print(f"graded {len({(r.student, r.notebook) for r in report.rows})} notebook(s) of "
              f"{len(report.totals())} student(s) -> {report.csv}, {report.html}"
              + (f"; not graded: {', '.join(report.not_graded)}" if report.not_graded else ""))
        if report.class_csv is not None:
            n_pairs = len(report.class_experiment["pairs"])
            print(f"class experiment: {n_pairs} recorded pair(s) -> {report.class_csv}, "
                  f"{report.class_pairs_csv}")
        return 0
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
    student = () if args.no_student_copies else \
        (args.student_copy or teaching.EXPORT_STUDENT_COPIES)
    for number in args.student_copy or ():  # asked for by name: a typo must not pass silently
        if not any(p.name[:2] == str(number).zfill(2) for p in notebooks):
            raise ValueError(f"--student-copy {number}: no notebook numbered "
                             f"{str(number).zfill(2)} is exported; choose from "
                             f"{sorted({p.name[:2] for p in notebooks})}")
    results = teaching.export_with_student_copies(args.out, fast=args.fast, notebooks=notebooks,
                                                  student=student, timeout=args.timeout)
    failed = [r.notebook for r in results if not r.ok]
    print(f"wrote {len(results)} page(s) and index.html to {args.out}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


# -------------------------------------------------------------------------------------- doctor
def _add_doctor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-rescore", action="store_true",
                   help="load the shipped model but do not re-score it (saves ~10 s)")


def _run_doctor(args: argparse.Namespace) -> int:
    from .doctor import main as doctor_main

    return doctor_main(rescore=not args.no_rescore)


# ------------------------------------------------------------------------------------- helpers
def _apply_threads(config_threads: int) -> None:
    """Choose torch's CPU thread count (see :mod:`sertutor.runtime`); say so if not quiet."""
    from .runtime import apply_num_threads

    apply_num_threads(config_threads)


def _one_line(exc: BaseException) -> str:
    """What went wrong, in one line that names the path or option."""
    if isinstance(exc, OSError) and not isinstance(exc, DependencyError):
        where = exc.filename if exc.filename is not None else ""
        what = exc.strerror or str(exc)
        hint = {errno.ENOSPC: "the disk is full: free some space or set SERTUTOR_DATA_DIR / "
                              "--out to another disk",
                errno.EACCES: "permission denied: choose a folder you can write to",
                errno.EROFS: "read-only file system: choose a folder you can write to",
                errno.ENOTDIR: "a path component is a file, not a folder",
                errno.EISDIR: "expected a file, found a folder"}.get(exc.errno, "")
        text = f"{what}: {where}" if where else what
        return text + (f" ({hint})" if hint else "")
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())  # one line


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
    "tutorials": ("the tutorial notebooks: list, path, export (static HTML), student (copies "
                  "without solutions), nbgrader (an nbgrader course), grade (grade submitted "
                  "notebooks), class-experiment (pool notebook 05's pairs), prepare (ready a "
                  "lab machine)",
                  _add_tutorials, _run_tutorials),
    "doctor": ("check this machine before class: versions that load together, CPU threads, "
               "memory, data folder, corpora, the shipped model, JupyterLab widgets",
               _add_doctor, _run_doctor),
}

#: Commands that run without torch (the others first check that torch and torchaudio load).
_NO_TORCH = {"corpora", "tutorials", "doctor"}


def build_parser() -> argparse.ArgumentParser:
    """The ``sertutor`` argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="sertutor",
        description="Speech emotion recognition with a multi-task semi-supervised adversarial "
                    "autoencoder (Latif et al., 2022), for learning and teaching.")
    parser.add_argument("--version", action="version", version=f"sertutor {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also: SERTUTOR_DEBUG=1)")
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
    debug = args.debug or os.environ.get("SERTUTOR_DEBUG", "") not in ("", "0")
    try:
        if args.command not in _NO_TORCH:
            problem = torch_pair_problem()
            if problem is not None:
                raise DependencyError(problem)
        return int(COMMANDS[args.command][2](args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        kind = "" if isinstance(exc, (ValueError, OSError, DependencyError)) else \
            f"{type(exc).__name__}: "
        print(f"sertutor {args.command}: error: {kind}{_one_line(exc)}", file=sys.stderr)
        if kind:  # not a known user error: maybe a bug, so say how to see more
            print("(run with --debug for the traceback)", file=sys.stderr)
        return 1
