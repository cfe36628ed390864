"""Learners' progress (issue 16, part 4) and the grading log that ``check`` writes."""

from __future__ import annotations

import json

import pytest

from sertutor.exercises import check, list_exercises, progress, reset_progress
from sertutor.exercises import _progress


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "progress.json"
    monkeypatch.setenv("SERTUTOR_PROGRESS_FILE", str(path))
    monkeypatch.delenv("SERTUTOR_PROGRESS", raising=False)
    monkeypatch.delenv("SERTUTOR_GRADING_LOG", raising=False)
    return path


def test_a_passed_check_is_recorded_and_shown(progress_file):
    assert not progress_file.exists()
    assert not check("01.n_frames", 250)            # wrong: not recorded
    assert check("01.n_frames", None).pending       # pending: not recorded
    assert not progress_file.exists()
    assert check("01.n_frames", 251)
    assert check("02.chance_uar", {"wa": 0.8, "uar": 0.25})
    assert check("01.n_frames", 1 + 40000 // 160)   # twice: counted, first time kept
    data = json.loads(progress_file.read_text())
    assert set(data["passed"]) == {"01.n_frames", "02.chance_uar"}
    assert data["passed"]["01.n_frames"]["count"] == 2

    table = progress()
    assert len(table) == len(list_exercises())
    assert set(table.loc[table["passed"], "exercise"]) == {"01.n_frames", "02.chance_uar"}
    assert table.attrs["summary"] == f"2 of {len(list_exercises())} exercises passed"
    row = table.set_index("exercise").loc["01.n_frames"]
    assert row["notebook"] == "01_features" and row["first passed"]
    page = table._repr_html_()
    assert "2 of" in page and "01_features</td><td>1 / 3" in page and "✔" in page

    only = progress(notebook="02")
    assert list(only["exercise"]) == [n for n, _ in list_exercises("02.")]
    assert int(only["passed"].sum()) == 1
    with pytest.raises(ValueError, match="notebook must be"):
        progress(notebook="two")

    reset_progress()
    assert not progress_file.exists() and not progress()["passed"].any()


def test_recording_can_be_off_and_never_breaks_a_check(progress_file, monkeypatch, tmp_path):
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")
    assert check("01.n_frames", 251)
    assert not progress_file.exists()
    monkeypatch.delenv("SERTUTOR_PROGRESS")
    progress_file.parent.mkdir()
    progress_file.write_text("{not json")            # a broken file is started afresh
    assert check("01.n_frames", 251)
    assert set(json.loads(progress_file.read_text())["passed"]) == {"01.n_frames"}
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("SERTUTOR_PROGRESS_FILE", str(blocker / "progress.json"))
    assert check("01.n_frames", 251)                 # cannot write there: still passes


def test_outside_a_kernel_nothing_is_recorded_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("SERTUTOR_PROGRESS_FILE", raising=False)
    monkeypatch.delenv("SERTUTOR_PROGRESS", raising=False)
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path))
    assert not _progress._recording_enabled()  # pytest is not an IPython kernel
    assert check("01.n_frames", 251)
    assert not (tmp_path / "progress.json").exists()
    assert _progress.progress_path() == tmp_path / "progress.json"
    # a plain IPython shell (widget tests make one) is not a kernel either
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    assert not _progress._recording_enabled()
    assert check("01.n_frames", 251) and not (tmp_path / "progress.json").exists()


def test_the_grading_log_has_one_line_per_check(tmp_path, monkeypatch):
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("SERTUTOR_GRADING_LOG", str(log))
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")
    check("01.n_frames", 251)
    check("01.n_frames", 250)
    check("02.chance_uar", None)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["exercise"], x["status"]) for x in lines] == [
        ("01.n_frames", "passed"), ("01.n_frames", "failed"), ("02.chance_uar", "not answered")]
    assert "250" in lines[1]["message"]
