"""``progress()``: the table of exercises passed, notebook by notebook.

It joins the registry (:mod:`sertutor.exercises._core`) with what
:mod:`sertutor.exercises._progress` recorded; it sits above both, so neither imports the other
for it.
"""

from __future__ import annotations

from ._core import list_exercises
from ._progress import passed_exercises

__all__ = ["progress"]


def _notebook_names() -> dict[str, str]:
    """``{"00": "00_welcome_and_data", ...}`` when the notebooks are found, else ``{}``."""
    try:
        from ..tutorials import list_notebooks

        return {p.name[:2]: p.stem for p in list_notebooks()}
    except (OSError, ImportError):
        return {}


def progress(*, notebook: str | None = None):
    """Which exercises you have passed, notebook by notebook.

    Parameters
    ----------
    notebook : str, optional
        Only this notebook: its number (``"03"``) or file name (``"03_autoencoder"``).

    Returns
    -------
    pandas.DataFrame
        One row per exercise: ``notebook``, ``exercise``, ``title``, ``passed`` (bool) and
        ``first passed`` (when, or ``""``). ``df.attrs["summary"]`` says how many of how many;
        in Jupyter the table is shown with a line of totals per notebook above it.
    """
    if notebook is not None and (not isinstance(notebook, str) or len(notebook) < 2
                                 or not notebook[:2].isdigit()):
        raise ValueError(f"notebook must be a number like '03' or a file name like "
                         f"'03_autoencoder', got {notebook!r}")
    names = _notebook_names()
    done = passed_exercises()
    rows = []
    for name, title in list_exercises(notebook[:2] + "." if notebook else ""):
        entry = done.get(name)
        rows.append({"notebook": names.get(name[:2], name[:2]), "exercise": name,
                     "title": title, "passed": entry is not None,
                     "first passed": entry.get("first", "") if isinstance(entry, dict) else ""})
    frame = _progress_frame_class()(rows, columns=["notebook", "exercise", "title", "passed",
                                          "first passed"])
    frame.attrs["summary"] = f"{int(frame['passed'].sum())} of {len(frame)} exercises passed"
    return frame


_FRAME_CLASS: list[type] = []


def _progress_frame_class() -> type:
    """A DataFrame subclass that shows per-notebook totals above the table in Jupyter."""
    if _FRAME_CLASS:
        return _FRAME_CLASS[0]
    import html

    import pandas as pd

    class ProgressFrame(pd.DataFrame):
        @property
        def _constructor(self):
            return pd.DataFrame  # operations on it give plain DataFrames

        def _repr_html_(self) -> str:
            if self.empty:
                return "<p>No exercises.</p>"
            per = self.groupby("notebook", sort=True)["passed"].agg(["sum", "count"])
            bars = "".join(
                f"<tr><td>{html.escape(str(nb))}</td><td>{int(r['sum'])} / {int(r['count'])}"
                f"</td><td><div style='background:#e0e0e0;width:120px;height:10px'><div "
                f"style='background:#2e7d32;height:10px;width:{120 * r['sum'] / r['count']:.0f}"
                f"px'></div></div></td></tr>" for nb, r in per.iterrows())
            table = pd.DataFrame(self).assign(
                passed=self["passed"].map({True: "✔", False: ""})).to_html(index=False)
            return (f"<div class='sertutor-progress'><b>{html.escape(self.attrs['summary'])}"
                    f"</b><table>{bars}</table>{table}</div>")

    _FRAME_CLASS.append(ProgressFrame)
    return ProgressFrame
