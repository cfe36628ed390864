"""``sertutor tutorials prepare`` (issue 16, part 7), with the heavy steps replaced."""

from __future__ import annotations

import pytest

from sertutor import doctor, pretrained, teaching
from sertutor.teaching import preparation
from sertutor.cli import main


@pytest.fixture
def steps(monkeypatch):
    calls = []
    def synth(preset, *, features=False, corpora=None, **kw):
        calls.append(("synth", preset, features, corpora))
        return {"synth-emo": "manifest.csv"}

    monkeypatch.setattr(preparation, "prepare_corpora", synth)
    monkeypatch.setattr(pretrained, "load", lambda name: calls.append(("load", name)) or object())
    monkeypatch.setattr(preparation, "_warm_umap", lambda: calls.append(("umap",)))
    monkeypatch.setattr(doctor, "main", lambda rescore: calls.append(("doctor", rescore)) or 0)
    return calls


def test_prepare_runs_the_synth_command_the_model_umap_then_doctor(steps, capsys):
    assert main(["tutorials", "prepare"]) == 0
    # what `sertutor synth --preset classroom --features` runs, all three corpora
    assert steps == [("synth", "classroom", True, None), ("load", "classroom"), ("umap",),
                     ("doctor", True)]
    out = capsys.readouterr().out
    assert "sertutor synth --preset classroom --features" in out and "FAILED" not in out


def test_prepare_reports_a_failed_step_and_still_runs_doctor(steps, monkeypatch, capsys):
    def broken(name):
        raise FileNotFoundError("no shipped checkpoint classroom.pt")

    monkeypatch.setattr(pretrained, "load", broken)
    assert main(["tutorials", "prepare", "--no-umap", "--no-rescore"]) == 1
    assert ("umap",) not in steps and steps[-1] == ("doctor", False)
    out = capsys.readouterr().out
    assert "FAILED: FileNotFoundError: no shipped checkpoint classroom.pt" in out
    assert "1 step(s) failed: the pretrained model loads" in out


def test_prepare_fails_when_doctor_does(steps, monkeypatch):
    monkeypatch.setattr(doctor, "main", lambda rescore: 1)
    assert teaching.prepare(umap=False, log=lambda line: None) == 1
