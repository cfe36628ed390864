"""The static export's index page says what works offline: figures and the widgets' stored
state, not the widget controls (without a kernel they are inert)."""

from __future__ import annotations

from sertutor.tutorials import ExportResult, write_index


def test_index_says_controls_need_a_kernel(tmp_path):
    results = [ExportResult("00_welcome_and_data.ipynb", tmp_path / "00_welcome_and_data.html",
                            1.0),
               ExportResult("01_features.ipynb", tmp_path / "01_features.html", 1.0, "boom")]
    page = write_index(tmp_path, results).read_text(encoding="utf-8")
    assert '<a href="00_welcome_and_data.html">' in page and "<b>failed</b>" in page
    text = page.lower()
    assert "figures work offline" in text
    assert "state they had when the notebook ran" in text
    assert "controls need a running kernel" in text
    assert "widget controls too" not in text


def test_index_links_pages_in_sub_folders_and_names_the_copy(tmp_path):
    results = [ExportResult("05_semi_supervised.ipynb", tmp_path / "05_semi_supervised.html", 1.0),
               ExportResult("05_semi_supervised.ipynb",
                            tmp_path / "student" / "05_semi_supervised.html", 1.0,
                            extra={"copy": "student"})]
    page = write_index(tmp_path, results).read_text(encoding="utf-8")
    assert '<a href="05_semi_supervised.html">05_semi_supervised.ipynb</a></li>' in page
    assert ('<a href="student/05_semi_supervised.html">05_semi_supervised.ipynb</a> '
            "(student copy)") in page
