"""A real browser: JupyterLab headless on localhost, a tutorial run in Debian's Chromium.

Starts ``jupyter lab`` (random free port, a token, no browser) on a temporary copy of
``tutorials/``, opens ``00_welcome_and_data.ipynb`` in ``/usr/bin/chromium`` driven by
Playwright, runs all cells from the Run menu, and checks that an ipywidgets control (the
VoiceLab's sliders) and plotly figures are visible and that no "Error displaying widget"
appears. A screenshot goes to ``$SERTUTOR_ARTIFACTS`` (default ``tests/artifacts/``, which
ignores itself in git).

Needs ``apt-get install chromium`` and ``pip install playwright`` (never ``playwright
install``: the test uses Debian's Chromium). Without them the test is skipped, or fails when
the environment variable ``CI`` is set. Run it with
``python -m pytest -q tests/test_browser.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "00_welcome_and_data.ipynb"
RUN_TIMEOUT_S = 240  # all cells of the notebook, FAST, in the browser


def _missing() -> str:
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append(f"Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install playwright; do not run "
                       "'playwright install', the test uses /usr/bin/chromium)")
    return "; ".join(missing)


def _require_browser() -> None:
    missing = _missing()
    if missing:
        message = f"browser test needs {missing}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is a failure, not a skip)",
                        pytrace=False)
        pytest.skip(message)


def _launch(playwright):
    """Debian's Chromium, headless, with the flags the issue names."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _artifacts() -> Path:
    folder = Path(os.environ.get("SERTUTOR_ARTIFACTS", ROOT / "tests" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return folder


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on a copy of tutorials/; yields (base_url, token)."""
    _require_browser()  # before starting anything
    root = tmp_path / "lab"
    shutil.copytree(ROOT / "tutorials", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = tmp_path / "settings"
    # render every cell (no windowing) and no news / update pop-ups
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none",
                                                   "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
    }.items():
        package, _, name = plugin.rpartition("/")
        target = settings / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, SERTUTOR_FAST="1", OMP_NUM_THREADS="1",
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError("jupyter lab exited: "
                                   + (tmp_path / "jupyterlab.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not answer within 90 s: "
                                       + (tmp_path / "jupyterlab.log").read_text()[-3000:]
                                       ) from None
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_tutorial_runs_in_jupyterlab_in_chromium(jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    shot = _artifacts() / "browser_00_welcome.png"
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text)
                    if m.type == "error" else None)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            page.wait_for_timeout(1500)
            select = page.locator(".jp-Dialog button", has_text="Select")
            if select.count():  # "Select Kernel" dialog of an older JupyterLab
                select.first.click()
            # the kernel is up when the toolbar's kernel status says idle
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator"
                                   "[data-status='idle']", timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

            n_code = page.locator(".jp-CodeCell .jp-InputPrompt").count()
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while True:  # until every code cell has an execution number
                prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
                done = [t for t in prompts if any(ch.isdigit() for ch in t)]
                if len(done) == n_code and not any("*" in t for t in prompts):
                    break
                if page.locator(".jp-OutputArea-output[data-mime-type="
                                "'application/vnd.jupyter.stderr'] >> text=Traceback").count():
                    break  # a cell failed: the assertions below say so
                if time.monotonic() > deadline:
                    page.screenshot(path=str(shot), full_page=True)
                    pytest.fail(f"not all {n_code} cells ran within {RUN_TIMEOUT_S} s "
                                f"(prompts: {prompts}); screenshot {shot}", pytrace=False)
                page.wait_for_timeout(500)

            errors = page.locator(".jp-OutputArea-output", has_text="Traceback")
            assert errors.count() == 0, f"a cell failed: {errors.first.inner_text()[:2000]}"
            slider = page.locator(".jp-OutputArea-output .widget-slider").first
            slider.wait_for(state="visible", timeout=60_000)
            plot = page.locator(".jp-OutputArea-output .js-plotly-plot").first
            plot.wait_for(state="visible", timeout=60_000)
            widget_plot = page.locator(".jupyter-widgets .js-plotly-plot").first
            widget_plot.wait_for(state="visible", timeout=60_000)  # a FigureWidget inside
            n_plots = page.locator(".js-plotly-plot").count()
            body = page.locator("body").inner_text()
            slider.scroll_into_view_if_needed()  # the VoiceLab's controls and its figure
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    assert "Error displaying widget" not in body
    assert n_plots >= 3, f"expected 2 plotly figures and the VoiceLab's, found {n_plots}"
    assert "Not answered yet" in body  # the exercises' pending boxes rendered as HTML
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_static_export_draws_widgets_and_figures_offline(tmp_path):
    """``sertutor tutorials export`` pages, opened from disk with every network request
    refused: the stored widget controls and the figures still draw."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    from sertutor.cli import main

    site = tmp_path / "site"
    assert main(["tutorials", "export", "--out", str(site), "--fast", "--notebook", "00"]) == 0
    refused: list[str] = []

    def offline(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", offline)
            page.goto((site / NOTEBOOK.replace(".ipynb", ".html")).as_uri())
            page.locator(".widget-slider").first.wait_for(state="visible", timeout=60_000)
            n_sliders = page.locator(".widget-slider").count()
            n_plots = page.locator(".js-plotly-plot").count()
            body = page.locator("body").inner_text()
            page.screenshot(path=str(_artifacts() / "export_00_offline.png"))
        finally:
            browser.close()
    assert n_sliders >= 3 and n_plots >= 3, (n_sliders, n_plots)
    assert "Error displaying widget" not in body
    assert all("mathjax" in url.lower() for url in refused), refused  # only math wants a CDN


def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium.*CI is set"):
        _require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install -y chromium"):
        _require_browser()
