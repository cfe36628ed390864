"""The ``sertutor`` command as a user runs it: help, train, evaluate, experiment, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from sertutor.cli import COMMANDS, main


@pytest.fixture()
def data_env(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.getbasetemp() / "cli-data"
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(path))
    return path


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert f"sertutor {name}" in out and "options:" in out
    assert main([]) == 2  # no command: print help, exit 2
    assert "synth" in capsys.readouterr().out


def test_console_script_runs():
    exe = shutil.which("sertutor")
    assert exe, "the sertutor console script is not installed (pip install -e .)"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "train" in out.stdout and "experiment" in out.stdout


def test_train_writes_metrics_checkpoint_report_then_evaluate(data_env, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--steps", "20", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("uar", "wa", "macro_f1", "per_class_recall", "confusion", "labels",
                "cross_corpus", "train", "data", "config"):
        assert key in metrics, key
    assert metrics["train"]["steps"] == 20 and metrics["model"]["variant"] == "full"
    assert "synth-field" in metrics["cross_corpus"]
    page = (out / "report.html").read_text()
    assert "Plotly" in page and "<script src=\"http" not in page  # plotly.js embedded: offline
    assert "UMAP" in page and "Confusion matrix" in page
    assert (out / "checkpoint.pt").is_file()
    capsys.readouterr()

    assert main(["evaluate", str(out / "checkpoint.pt"), "--corpus", "synth-field",
                 "--quiet", "--out", str(tmp_path / "eval.json")]) == 0
    scored = json.loads((tmp_path / "eval.json").read_text())
    assert scored["corpus"] == "synth-field" and 0.0 <= scored["uar"] <= 1.0
    assert scored["normalisation"] == "the corpus's own statistics"


def test_bad_input_gives_a_message_not_a_traceback(data_env, tmp_path, capsys):
    assert main(["train", "--preset", "tiny", "--out", str(tmp_path / "none"), "--resume",
                 "--quiet"]) == 1
    assert "no checkpoint.pt" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.pt"), "--corpus", "synth-emo"]) == 1
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["train", "--preset", "tiny", "--emotion-corpus", "nosuch:/x",
                 "--out", str(tmp_path / "x"), "--quiet"]) == 1
    assert "nosuch" in capsys.readouterr().err


def test_experiment_writes_tables(data_env, tmp_path, capsys):
    out = tmp_path / "abl"
    assert main(["experiment", "ablation", "--preset", "tiny", "--seeds", "0", "1",
                 "--models", "baseline", "full", "--fractions", "0.5", "--steps", "10",
                 "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert len(results["rows"]) == 4  # 2 models x 1 fraction x 2 seeds
    assert {r["variant"] for r in results["summary"]} == {"baseline", "full"}
    table = (out / "results.md").read_text()
    assert "| baseline | 0.5 | 2 |" in table and "±" in table


def test_set_changes_config_fields_and_resume_holds_them(data_env, tmp_path, capsys):
    out = tmp_path / "set"
    args = ["train", "--preset", "tiny", "--steps", "4", "--out", str(out), "--quiet",
            "--device", "cpu", "--no-report", "--set", "train.w_speaker=0",
            "--set", "model.z_dim=3", "--set", "features.normalise=corpus"]
    assert main(args) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["train"]["w_speaker"] == 0.0 and config["model"]["z_dim"] == 3
    assert config["features"]["normalise"] == "corpus"
    capsys.readouterr()
    # resuming with another value of a --set field is another run: refused, nothing lost
    other = [a if a != "model.z_dim=3" else "model.z_dim=4" for a in args] + ["--resume"]
    assert main(other) == 1
    assert "different run" in capsys.readouterr().err
    assert (out / "checkpoint.pt").is_file()
    # a bad override names the field and what it takes; a field with its own option is refused
    for bad, said in ((["--set", "train.steps=ten"], "train.steps takes an integer"),
                      (["--set", "train.w_speker=1"], "train has no field 'w_speker'"),
                      (["--set", "train.w_speaker=-1"], "train.w_speaker must be a number >= 0"),
                      (["--set", "train.seed=2"], "its own option, --seed"),
                      (["--set", "w_speaker=1"], "expected section.field=value")):
        assert main(["train", "--preset", "tiny", "--out", str(tmp_path / "bad"), "--quiet",
                     *bad]) == 1
        assert said in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert main(["experiment", "ablation", "--preset", "tiny", "--out", str(tmp_path / "e"),
                 "--set", "train.label_fraction=0.5"]) == 1
    assert "its own option, --fractions" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_ddp_on_cpu_with_gloo(data_env, tmp_path):
    torchrun = shutil.which("torchrun")
    assert torchrun, "torchrun not found next to torch"
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "sertutor", "train",
         "--preset", "tiny", "--steps", "12", "--device", "cpu", "--out", str(out),
         "--no-report", "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train"]["world_size"] == 2 and metrics["train"]["steps"] == 12
