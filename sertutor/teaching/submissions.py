"""The layout of a folder of submitted notebooks, shared by grading and the class experiment.

Submissions are laid out one folder per student (``SUBMISSIONS/<student>/03_autoencoder.ipynb``,
as nbgrader collects them); a notebook directly in ``SUBMISSIONS`` is graded with its file name
(without ``.ipynb``) as the student. Other files are listed as not graded.
"""

from __future__ import annotations

from pathlib import Path


def _submissions(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """``(student, notebook)`` pairs, and the files that are not notebooks."""
    found, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.startswith("__"):
            continue
        if entry.is_dir():
            for f in sorted(entry.rglob("*")):
                rel = f.relative_to(folder)
                if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                    continue
                if f.suffix == ".ipynb":
                    found.append((entry.name, f))
                else:
                    skipped.append(str(rel))
        elif entry.suffix == ".ipynb":
            found.append((entry.stem, entry))
        elif entry.is_file():
            skipped.append(entry.name)
    return found, skipped

