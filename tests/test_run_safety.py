"""Run folders are never overwritten or mixed, a resumed run is the same run, and routine
failures of the command line are one line naming the path or option (issue #15: 1, 4, 5, 10)."""

from __future__ import annotations

import errno
import json

import pytest
import torch

import sertutor.jobs as jobs
import sertutor.pipeline as pipeline
from sertutor.cli import _one_line, main
from sertutor.config import get_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("run-safety-data")


@pytest.fixture()
def env(data_dir, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(data_dir))
    return data_dir


TRAIN = ["train", "--preset", "tiny", "--steps", "20", "--quiet", "--no-report"]


@pytest.fixture(scope="module")
def finished_run(data_dir, tmp_path_factory):
    """One short tiny run, trained once for the module."""
    out = tmp_path_factory.mktemp("runs") / "done"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SERTUTOR_DATA_DIR", str(data_dir))
        assert main(TRAIN + ["--out", str(out), "--test-corpus", "synth-field"]) == 0
    return out


def test_a_folder_holding_a_run_is_refused_then_overwritten(env, finished_run, tmp_path,
                                                             capsys):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.pt", "metrics.json"):
        (out / name).write_bytes((finished_run / name).read_bytes())
    (out / "report.html").write_text("<html>an old report of another model</html>")
    before = (out / "metrics.json").read_bytes()
    assert main(TRAIN + ["--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err and "--resume" in err
    assert (out / "metrics.json").read_bytes() == before  # nothing touched
    assert main(TRAIN + ["--out", str(out), "--overwrite", "--seed", "1"]) == 0
    assert not (out / "report.html").exists()  # --no-report: the old report did not stay
    assert json.loads((out / "metrics.json").read_text())["config"]["train"]["seed"] == 1


def test_resume_refuses_another_run_before_preparing_data(env, finished_run, tmp_path,
                                                          monkeypatch, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((finished_run / "checkpoint.pt").read_bytes())

    def no_data(*a, **k):
        raise AssertionError("data must not be prepared for a refused resume")

    monkeypatch.setattr(jobs, "prepare_data", no_data)
    assert main(TRAIN + ["--out", str(out), "--resume", "--seed", "3",
                         "--label-fraction", "0.1"]) == 1
    err = capsys.readouterr().err
    assert "belongs to a different run" in err
    assert "train.seed is 0 there, 3 here" in err
    assert "train.label_fraction is 1.0 there, 0.1 here" in err
    assert "run.fold is 0 there, 3 here" in err
    assert main(TRAIN[:-1] + ["--steps", "30", "--out", str(out), "--resume"]) == 1
    assert "train.steps is 20 there, 30 here" in capsys.readouterr().err


def test_resume_of_the_same_run_is_accepted(finished_run):
    cfg = get_config("tiny", train__steps=20, train__num_threads=2)  # threads do not matter
    jobs.check_resumable(finished_run / "checkpoint.pt", cfg,
                             {"emotion_corpus": "synth-emo", "aux_corpus": "synth-aux",
                              "fold": 0})
    with pytest.raises(ValueError, match="run.aux_corpus is 'synth-aux' there, '' here"):
        jobs.check_resumable(finished_run / "checkpoint.pt", cfg,
                                 {"emotion_corpus": "synth-emo", "aux_corpus": "", "fold": 0})


def test_out_that_is_a_file_and_bad_device_fail_before_training(env, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.setattr(jobs, "prepare_data", lambda *a, **k: pytest.fail("no work"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(TRAIN + ["--out", str(blocker)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"sertutor train: error: --out {blocker} is a file; expected a folder for " \
                  "the run's outputs"
    assert main(TRAIN + ["--out", str(tmp_path / "x"), "--device", "foo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sertutor train: error: --device 'foo': expected auto, cpu, cuda or cuda:N"]
    assert main(TRAIN + ["--out", str(tmp_path / "y"), "--resume", "--overwrite"]) == 1
    assert "exclude each other" in capsys.readouterr().err


def test_debug_shows_the_traceback(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        main(["--debug"] + TRAIN + ["--out", str(blocker)])


def test_os_errors_are_one_line_with_what_to_do():
    line = _one_line(OSError(errno.ENOSPC, "No space left on device", "/data/run/checkpoint.pt"))
    assert line == ("No space left on device: /data/run/checkpoint.pt (the disk is full: free "
                    "some space or set SERTUTOR_DATA_DIR / --out to another disk)")
    assert "permission denied" in _one_line(PermissionError(errno.EACCES, "Permission denied",
                                                            "/x"))
    assert "\n" not in _one_line(ValueError("two\nlines"))


def test_checkpoints_without_meta_or_with_wrong_shapes_are_reported(finished_run, tmp_path,
                                                                    capsys):
    state = torch.load(finished_run / "checkpoint.pt", weights_only=True)
    no_meta = {k: v for k, v in state.items() if k != "meta"}
    torch.save(no_meta, tmp_path / "no_meta.pt")
    with pytest.raises(ValueError, match="has no 'meta'"):
        pipeline.load_trained(tmp_path / "no_meta.pt")
    cfg = json.loads(state["config"])
    cfg["model"]["hidden_dim"] = 48  # the weights no longer fit
    torch.save({**state, "config": json.dumps(cfg)}, tmp_path / "shapes.pt")
    with pytest.raises(ValueError, match="weights do not fit"):
        pipeline.load_trained(tmp_path / "shapes.pt")
    assert main(["evaluate", str(tmp_path / "shapes.pt"), "--corpus", "synth-emo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "weights do not fit" in err[0]


def test_scoring_the_training_corpus_is_flagged(env, finished_run):
    emo = jobs.evaluate_checkpoint(finished_run / "checkpoint.pt", corpus="synth-emo@tiny",
                                       progress=False)
    assert emo["includes_training_speakers"] is True and "optimistic" in emo["note"]
    field = jobs.evaluate_checkpoint(finished_run / "checkpoint.pt",
                                         corpus="synth-field@tiny", progress=False)
    assert field["includes_training_speakers"] is False and "note" not in field


def test_mtl_without_auxiliary_data_says_so(env, tmp_path, capsys):
    out = tmp_path / "mtl"
    assert main(TRAIN + ["--out", str(out), "--model", "mtl", "--aux-corpus", "none",
                         "--test-corpus", "synth-field"]) == 0
    notes = json.loads((out / "metrics.json").read_text())["notes"]
    assert notes and "no auxiliary corpus" in notes[0]
    assert "note: no auxiliary corpus" in capsys.readouterr().out


def test_moved_job_names_still_import_from_pipeline():
    from sertutor.pipeline import evaluate_checkpoint, run

    assert run is jobs.run and evaluate_checkpoint is jobs.evaluate_checkpoint
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pipeline.nope  # noqa: B018


def test_testing_on_the_training_corpus_is_flagged(env, finished_run, tmp_path, capsys):
    m = json.loads((finished_run / "metrics.json").read_text())
    assert m["cross_corpus"]["synth-field"]["includes_training_speakers"] is False
    out = tmp_path / "self"
    assert main(TRAIN + ["--out", str(out), "--test-corpus", "synth-emo"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["cross_corpus"]["synth-emo"]["includes_training_speakers"] is True
    assert any("includes the training speakers" in n for n in m["notes"])
    assert "optimistic" in capsys.readouterr().out


def test_the_same_seed_gives_a_byte_identical_checkpoint(env, finished_run, tmp_path):
    again = tmp_path / "again"
    assert main(TRAIN + ["--out", str(again), "--test-corpus", "synth-field"]) == 0
    assert (again / "checkpoint.pt").read_bytes() == \
        (finished_run / "checkpoint.pt").read_bytes()


def test_prepare_data_shows_its_stages(env, capsys):
    pipeline.prepare_data(get_config("tiny"), aux_corpus=None, test_corpora=["synth-field"],
                          progress=True)
    err = capsys.readouterr().err
    assert "preparing data" in err and "test corpus synth-field" in err


def test_a_full_disk_names_the_file_and_leaves_nothing_behind(tmp_path):
    from sertutor.storage import atomic_write

    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"the previous checkpoint")
    with pytest.raises(OSError) as info:
        with atomic_write(target) as handle:
            handle.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")  # as torch.save raises it
    assert info.value.filename == str(target)
    assert _one_line(info.value).startswith(f"No space left on device: {target} (the disk is full")
    assert target.read_bytes() == b"the previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left
