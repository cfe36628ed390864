"""``tutorials/TEACHING.md`` (issue 16, part 6) covers every notebook and exercise."""

from __future__ import annotations

from pathlib import Path

from sertutor.exercises import list_exercises
from sertutor.tutorials import list_notebooks

TEACHING = Path(__file__).resolve().parent.parent / "tutorials" / "TEACHING.md"


def test_every_notebook_has_a_lab_plan_naming_its_exercises():
    text = TEACHING.read_text(encoding="utf-8")
    sections = text.split("\n### ")[1:]
    for path in list_notebooks():
        plan = [s for s in sections if s.startswith(f"{path.name[:2]} · ")]
        assert len(plan) == 1, f"no lab plan for {path.name}"
        for part in ("**Demo", "**Exercises.**", "**Misconceptions", "**Discuss.**",
                     "**If Binder is slow.**"):
            assert part in plan[0], (path.name, part)
        for name, _ in list_exercises(path.name[:2] + "."):
            assert f"`{name}`" in plan[0], (path.name, name)


def test_teaching_names_the_commands_and_the_three_settings():
    text = TEACHING.read_text(encoding="utf-8")
    for command in ("sertutor doctor", "sertutor synth --preset classroom --features",
                    "sertutor tutorials prepare", "sertutor tutorials student --out",
                    "sertutor tutorials grade", "progress()"):
        assert command in text, command
    for setting in ("### Binder", "### A JupyterHub", "### Offline lab machines"):
        assert setting in text, setting
