"""The shorter tracks of tutorials/README.md name sections that exist, and the sections the
notebooks mark *(optional)* are exactly the README's list (and are left out of the 3-hour
track)."""

from __future__ import annotations

import json
import re
from pathlib import Path

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
README = (TUTORIALS / "README.md").read_text(encoding="utf-8")
OPTIONAL_MARK = " *(optional)*"


def _headings(stem: str) -> dict[int, str]:
    """Section number -> its heading title (without the optional mark) and whether marked."""
    nb = json.loads((TUTORIALS / f"{stem}.ipynb").read_text(encoding="utf-8"))
    out = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            m = re.match(r"^## (\d+) · (.+)$", line)
            if m:
                out[int(m.group(1))] = m.group(2)
    return out


def _track(title: str) -> dict[str, str]:
    """Notebook stem -> the 'read' column of the track table under the heading ``title``."""
    part = README.split(f"### {title}", 1)[1].split("\n### ", 1)[0].split("**Optional", 1)[0]
    rows = re.findall(r"^\| `(\d\d_\w+)` \| (.+?) \| .+? \|$", part, re.M)
    assert rows, f"no table under '### {title}'"
    return dict(rows)


def _sections(read: str, headings: dict[int, str]) -> set[int]:
    if read.strip() == "all":
        return set(headings)
    out = set()
    for a, b in re.findall(r"§(\d+)(?:–§(\d+))?", read):
        out |= set(range(int(a), int(b or a) + 1))
    return out


def test_both_tracks_exist_and_fit_their_time():
    for title, minutes in (("90 minutes", 90), ("3 hours", 180)):
        part = README.split(f"### {title}", 1)[1].split("\n### ", 1)[0]
        times = [int(t) for t in re.findall(r"\| (\d+) min \|$", part, re.M)]
        assert times and sum(times) <= minutes, (title, times)


def test_track_sections_exist_with_their_titles():
    for title in ("90 minutes", "3 hours"):
        for stem, read in _track(title).items():
            assert (TUTORIALS / f"{stem}.ipynb").is_file(), stem
            headings = _headings(stem)
            for n in _sections(read, headings):
                assert n in headings, f"{title}: {stem} has no section {n}"
            for n, name in re.findall(r"§(\d+) · ([^,(]+?)(?= \(|,|$)", read):
                heading = headings[int(n)].replace(OPTIONAL_MARK, "")
                assert heading.startswith(name.strip()), (stem, n, name, heading)


def test_optional_marks_match_the_readme_and_the_3_hour_track():
    listed = set(re.findall(r"^- `(\d\d_\w+)` §(\d+) · (.+)$", README, re.M))
    marked = set()
    for path in sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb")):
        for n, heading in _headings(path.stem).items():
            if heading.endswith(OPTIONAL_MARK):
                marked.add((path.stem, str(n), heading[:-len(OPTIONAL_MARK)]))
    assert marked and marked == listed
    three_hours = _track("3 hours")
    for stem, n, _ in marked:
        if stem in three_hours:
            assert int(n) not in _sections(three_hours[stem], _headings(stem)), \
                f"the 3-hour track reads {stem} §{n}, which is marked optional"
    for path in sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb")):  # each notebook points to the tracks
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        assert "tutorials/README.md" in first, path.name
