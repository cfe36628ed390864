"""``sertutor doctor`` passes on a working install and fails clearly on each broken case;
a torch / torchaudio pair that does not load gives one line, not a linker traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from sertutor import deps, doctor
from sertutor.cli import main


@pytest.fixture()
def data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _rows(checks, **kw):
    return {r.name: r for r in doctor.run_checks(checks, **kw)}


def test_doctor_passes_on_this_install(data_env):
    out = io.StringIO()
    code = doctor.main(rescore=False, out=out)
    text = out.getvalue()
    assert code == 0, text
    for name in ("python", "torch", "packages", "device", "threads", "memory", "data dir",
                 "corpora", "pretrained", "jupyter"):
        assert f"  {name}" in text, name
    assert "torch 2." in text and "load together" in text
    assert "usable (affinity" in text  # the CPU budget it found
    assert "not generated" in text  # a fresh data dir: the corpora are not ready yet
    assert "sertutor synth --preset classroom --features" in text  # ... and what to do


def test_doctor_rescores_the_shipped_model():
    # the repo's data dir holds the classroom corpora (other tests generate them)
    row = doctor.check_pretrained(rescore=True)
    assert row.status in (doctor.OK, doctor.WARN)
    if row.status == doctor.OK:
        assert "re-scores to its recorded UAR" in row.detail


def test_broken_torchaudio_is_one_failing_row_with_the_fix(monkeypatch):
    monkeypatch.setattr(doctor, "torch_pair_problem", lambda: (
        "torchaudio 2.11.1 cannot be loaded with torch 2.11.0 (undefined symbol: x); fix: "
        + deps.fix_command()))
    rows = doctor.run_checks([doctor.check_python, doctor.check_torch, doctor.check_device])
    assert [r.name for r in rows] == ["python", "torch"]  # stops: later checks need torch
    assert rows[1].status == doctor.FAIL and rows[1].fix == deps.fix_command()
    out = io.StringIO()
    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_torch])
    assert doctor.main(out=out) == 1
    assert 'pip install "torch==' in out.getvalue() and "fix them before class" in out.getvalue()


def test_unpinned_versions_warn(monkeypatch):
    monkeypatch.setattr(doctor, "installed_version",
                        lambda name: {"torch": "2.99.0", "torchaudio": "2.11.1"}.get(name))
    row = doctor.check_torch()
    assert row.status == doctor.WARN and "tested with" in row.detail


def test_missing_package_fails(monkeypatch):
    monkeypatch.setattr(doctor, "PACKAGES", doctor.PACKAGES + [("no-such-dist", "nosuchmod")])
    row = doctor.check_packages()
    assert row.status == doctor.FAIL and "no-such-dist (not installed)" in row.detail


def test_low_memory_fails_and_tight_memory_warns(monkeypatch):
    monkeypatch.setattr(doctor, "memory_available_bytes", lambda: (300 * 2**20, "cgroup x"))
    row = doctor.check_memory()
    assert row.status == doctor.FAIL and "Shut Down Kernel" in row.fix
    monkeypatch.setattr(doctor, "memory_available_bytes", lambda: (1000 * 2**20, "cgroup x"))
    assert doctor.check_memory().status == doctor.WARN


def test_data_dir_that_is_a_file_fails(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(blocker / "data"))
    row = doctor.check_data_dir()
    assert row.status == doctor.FAIL and "SERTUTOR_DATA_DIR" in row.fix


def test_mismatched_widget_front_end_fails(monkeypatch):
    versions = {"jupyterlab": "4.2.0", "ipywidgets": "8.1.5", "jupyterlab_widgets": "1.1.0"}
    monkeypatch.setattr(doctor, "installed_version", versions.get)
    row = doctor.check_jupyter()
    assert row.status == doctor.FAIL and "do not match" in row.detail
    versions["jupyterlab_widgets"] = "3.0.13"
    assert doctor.check_jupyter().status == doctor.OK
    del versions["ipywidgets"]
    assert doctor.check_jupyter().status == doctor.FAIL


def test_pretrained_that_rescores_differently_fails(monkeypatch):
    from sertutor import pretrained

    monkeypatch.setattr(doctor, "corpus_status", lambda: {"synth-emo": (True, True)})
    monkeypatch.setattr(pretrained, "rescore", lambda name: 0.25)
    row = doctor.check_pretrained(rescore=True)
    assert row.status == doctor.FAIL and "re-scores to UAR 0.250" in row.detail


def test_a_check_that_crashes_is_a_failed_row():
    def check_boom():
        raise RuntimeError("boom")

    row = doctor.run_checks([check_boom])[0]
    assert row.name == "boom" and row.status == doctor.FAIL and "boom" in row.detail


def test_cli_doctor_exit_status(data_env, capsys, monkeypatch):
    assert main(["doctor", "--no-rescore"]) == 0
    assert "ready" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "CHECKS", [lambda: doctor.Check("memory", doctor.FAIL, "low",
                                                                "close kernels")])
    assert main(["doctor"]) == 1
    assert "close kernels" in capsys.readouterr().out


# --------------------------------------------------------- torch / torchaudio that do not load
BROKEN_TORCHAUDIO = textwrap.dedent('''
    raise OSError("/venv/lib/torchaudio/lib/libtorchaudio.so: undefined symbol: "
                  "torch_exception_get_what_without_backtrace")
''')


@pytest.fixture()
def broken_torchaudio(tmp_path):
    pkg = tmp_path / "shadow" / "torchaudio"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(BROKEN_TORCHAUDIO)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "shadow"),
               SERTUTOR_DATA_DIR=str(tmp_path / "data"))
    return env


def test_command_stops_with_one_line_naming_both_versions(broken_torchaudio):
    proc = subprocess.run([sys.executable, "-m", "sertutor", "train", "--preset", "tiny"],
                          env=broken_torchaudio, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert "torchaudio" in line and "torch " in line and "undefined symbol" in line
    assert f'pip install "torch=={deps.pinned_versions()["torch"]}"' in line
    assert "Traceback" not in proc.stderr


def test_first_feature_call_raises_a_short_dependency_error(broken_torchaudio):
    code = ("import numpy as np\nfrom sertutor.features import log_mel\n"
            "log_mel(np.zeros(16000, dtype=np.float32))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=broken_torchaudio,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "sertutor.deps.DependencyError: torchaudio" in proc.stderr
    assert "pip install" in proc.stderr
    assert "During handling" not in proc.stderr  # the linker's traceback is not chained on


def test_doctor_reports_the_broken_pair(broken_torchaudio):
    proc = subprocess.run([sys.executable, "-m", "sertutor", "doctor", "--no-rescore"],
                          env=broken_torchaudio, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "do not load together" in proc.stdout and "pip install" in proc.stdout
