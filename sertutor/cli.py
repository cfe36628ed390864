"""The ``sertutor`` command.

Each subcommand is a pair: a function that adds its arguments to an ``argparse`` parser, and a
function that runs it. Heavy imports (torch, the model) happen inside the run functions, so
``sertutor --help`` answers at once.

    sertutor synth   [--preset classroom] [--corpus synth-emo ...] [--data-dir DIR]
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


# ------------------------------------------------------------------------------ registration
#: name -> (help, add-arguments function, run function)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "synth": ("generate the embedded synthetic corpora (WAV + manifest.csv) into the data dir",
              _add_synth, _run_synth),
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
