"""``sertutor doctor``: is this machine ready for a class?

A teacher runs it on the lab machines, on a JupyterHub image or on Binder before students
arrive. It prints a short table, one row per check, and exits non-zero when something is wrong,
with a line saying what to do:

========== =======================================================================
python     version (3.10 or newer)
torch      torch and torchaudio versions, and whether they load together
packages   numpy, librosa, soundfile, scipy, scikit-learn, pandas, plotly, umap-learn
device     CPU or CUDA
threads    CPU threads sertutor will use, and the CPU budget it found (cores,
           affinity, container quota)
memory     memory available to this process (and its container)
data dir   where corpora, caches and runs go, and whether it is writable
corpora    which embedded classroom corpora and their feature (and prosody) caches are ready
pretrained the shipped model loads and re-scores to its recorded UAR
jupyter    JupyterLab, ipywidgets and its front end (jupyterlab_widgets) match
========== =======================================================================

Each check is a small function returning a :class:`Check`; :data:`CHECKS` lists them in order,
so a test (or a teacher's own script) can run one, or replace one.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

from .deps import fix_command, installed_version, pinned_versions, torch_pair_problem
from .runtime import apply_num_threads, cpu_budget, memory_available_bytes
from .storage import data_dir

__all__ = ["Check", "CHECKS", "run_checks", "format_table", "main"]

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass
class Check:
    """One row of the doctor's table."""

    name: str  # short name of what was checked
    status: str  # "ok", "warn" (works, but worth knowing) or "FAIL" (fix before class)
    detail: str  # what was found
    fix: str = ""  # what to do (for warn and FAIL)


# --------------------------------------------------------------------------------- checks
def check_python() -> Check:
    v = sys.version_info
    text = f"{platform.python_implementation()} {v.major}.{v.minor}.{v.micro}"
    if v < (3, 10):
        return Check("python", FAIL, text, "install Python 3.10 or newer")
    return Check("python", OK, text)


def check_torch() -> Check:
    pins = pinned_versions()
    torch_v, audio_v = installed_version("torch"), installed_version("torchaudio")
    text = f"torch {torch_v}, torchaudio {audio_v}"
    problem = torch_pair_problem()
    if problem is not None:
        return Check("torch", FAIL, text + ": do not load together", problem.split("; fix: ")[-1]
                     if "; fix: " in problem else fix_command())
    base = (torch_v or "").split("+")[0], (audio_v or "").split("+")[0]
    if base != (pins["torch"], pins["torchaudio"]):
        return Check("torch", WARN, text + " load together, but sertutor is tested with "
                     f"torch {pins['torch']} + torchaudio {pins['torchaudio']}", fix_command())
    return Check("torch", OK, text + " (load together)")


#: (distribution, import name) of the other packages the notebooks need.
PACKAGES = [("numpy", "numpy"), ("scipy", "scipy"), ("librosa", "librosa"),
            ("soundfile", "soundfile"), ("scikit-learn", "sklearn"), ("pandas", "pandas"),
            ("plotly", "plotly"), ("umap-learn", "umap"), ("anywidget", "anywidget"),
            ("tqdm", "tqdm")]


def check_packages() -> Check:
    import importlib

    found, broken = [], []
    for dist, module in PACKAGES:
        version = installed_version(dist)
        if version is None:
            broken.append(f"{dist} (not installed)")
            continue
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken install can raise anything on import
            broken.append(f"{dist} {version} ({type(exc).__name__}: {str(exc)[:80]})")
            continue
        found.append(f"{dist} {version}")
    if broken:
        return Check("packages", FAIL, "cannot import " + ", ".join(broken),
                     'reinstall sertutor: pip install -e . (or pip install sertutor)')
    return Check("packages", OK, ", ".join(found))


def check_device() -> Check:
    import torch

    if torch.cuda.is_available():
        return Check("device", OK, f"CUDA: {torch.cuda.get_device_name(0)} "
                     f"({torch.cuda.device_count()} device(s))")
    return Check("device", OK, "CPU (no CUDA device; the classroom preset is sized for a CPU)")


def check_threads() -> Check:
    budget = cpu_budget()
    n, why = apply_num_threads()
    detail = f"{n} torch thread(s) ({why}); CPU budget: {budget.describe()}"
    if budget.quota is not None and budget.quota < 1:
        return Check("threads", WARN, detail + f"; the container may use only {budget.quota:g}"
                     " CPU", "expect slow training; ask for at least 1 CPU")
    return Check("threads", OK, detail)


#: Memory a classroom lesson needs beside the Jupyter server: one kernel, about 0.75 GB.
MIN_MEMORY = 750 * 2**20


def check_memory() -> Check:
    free, source = memory_available_bytes()
    if free is None:
        return Check("memory", WARN, "unknown (no /proc/meminfo)", "")
    text = f"{free / 2**30:.2f} GB available ({source})"
    if free < MIN_MEMORY:
        return Check("memory", FAIL, text, "shut down other notebook kernels (Kernel > Shut "
                     "Down Kernel) or use a machine with more memory: a lesson needs ~0.75 GB")
    if free < 2 * MIN_MEMORY:
        return Check("memory", WARN, text, "room for one notebook kernel: shut each kernel "
                     "down before opening the next notebook")
    return Check("memory", OK, text)


def check_data_dir() -> Check:
    try:
        folder = data_dir()
    except OSError as exc:
        return Check("data dir", FAIL, str(exc), "set SERTUTOR_DATA_DIR to a writable folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", FAIL, f"{folder} is not writable ({exc.strerror})",
                     "set SERTUTOR_DATA_DIR to a writable folder")
    return Check("data dir", OK, f"{folder} (writable)")


#: The corpora the notebooks use, per the classroom preset.
CLASSROOM_CORPORA = ("synth-emo", "synth-aux", "synth-field")


def corpus_status(preset: str = "classroom") -> dict[str, tuple[bool, bool]]:
    """``{corpus: (generated, caches ready)}`` for the embedded corpora of a preset: the
    feature cache, and for the corpora a run trains on the prosodic descriptors too when the
    preset's decoder reads them."""
    # deferred: the doctor checks the torch pair before anything imports torch
    from .config import get_config
    from .data import load_corpus
    from .data.dataset import cache_path
    from .data.prepare import TRAINING_CORPORA, uses_prosody
    from .data.prosody import prosody_cache_path
    from .data.synth import corpus_dir

    config = get_config(preset)
    status = {}
    for name in CLASSROOM_CORPORA:
        manifest_path = corpus_dir(name, preset=preset) / "manifest.csv"
        cached = False
        if manifest_path.is_file():
            try:
                manifest = load_corpus(f"{name}@{preset}")
                cached = cache_path(manifest, config.features).is_file() and (
                    name not in TRAINING_CORPORA or not uses_prosody(config)
                    or prosody_cache_path(manifest, config.features)[0].is_file())
            except (OSError, ValueError):
                cached = False
        status[name] = (manifest_path.is_file(), cached)
    return status


def check_corpora() -> Check:
    status = corpus_status()
    missing = [n for n, (gen, _) in status.items() if not gen]
    uncached = [n for n, (gen, cached) in status.items() if gen and not cached]
    parts = [f"{n}: {'ready' if gen and c else 'caches missing' if gen else 'not generated'}"
             for n, (gen, c) in status.items()]
    if missing or uncached:
        return Check("corpora", WARN, "; ".join(parts),
                     "run 'sertutor synth --preset classroom --features' before class (the "
                     "notebooks otherwise generate them on first use, a minute or two)")
    return Check("corpora", OK, "; ".join(parts))


def check_pretrained(*, rescore: bool = True) -> Check:
    # deferred: the doctor checks the torch pair before anything imports torch
    from . import pretrained

    try:
        pretrained.load("classroom")
    except Exception as exc:  # a damaged install can fail in many ways; report, do not crash
        return Check("pretrained", FAIL, f"the shipped model does not load ({exc})",
                     "reinstall sertutor: pip install -e .")
    recorded = pretrained.recorded_metrics("classroom")["uar"]
    if not rescore:
        return Check("pretrained", OK, f"loads (recorded UAR {recorded:.3f}; not re-scored)")
    if not all(gen for gen, _ in corpus_status().values()):
        return Check("pretrained", WARN, f"loads; not re-scored: corpora not generated "
                     f"(recorded UAR {recorded:.3f})", "run 'sertutor synth --preset classroom'")
    uar = pretrained.rescore("classroom")
    if abs(uar - recorded) > 1e-3:
        return Check("pretrained", FAIL, f"re-scores to UAR {uar:.3f}, recorded {recorded:.3f}",
                     f"the installed packages compute different features or predictions; "
                     f"install the tested pair: {fix_command()}")
    return Check("pretrained", OK, f"loads and re-scores to its recorded UAR {uar:.3f}")


#: ipywidgets major version -> the jupyterlab_widgets major version of its front end.
WIDGET_FRONTENDS = {"8": "3", "7": "1"}


def check_jupyter() -> Check:
    lab = installed_version("jupyterlab")
    widgets = installed_version("ipywidgets")
    frontend = installed_version("jupyterlab_widgets")
    text = f"jupyterlab {lab}, ipywidgets {widgets}, jupyterlab_widgets {frontend}"
    if lab is None or widgets is None or frontend is None:
        return Check("jupyter", FAIL, text, 'pip install "jupyterlab>=4" "ipywidgets==8.1.*" '
                     '"jupyterlab_widgets==3.0.*"')
    want = WIDGET_FRONTENDS.get(widgets.split(".")[0])
    if want is None or frontend.split(".")[0] != want or lab.split(".")[0] != "4":
        return Check("jupyter", FAIL, text + ": widget kernel side and front end do not match "
                     "(widgets would show 'Error displaying widget')",
                     'pip install "jupyterlab>=4" "ipywidgets==8.1.*" "jupyterlab_widgets==3.0.*"')
    return Check("jupyter", OK, text + " (match)")


#: The checks, in the order the table shows them.
CHECKS: list[Callable[[], Check]] = [check_python, check_torch, check_packages, check_device,
                                     check_threads, check_memory, check_data_dir, check_corpora,
                                     check_pretrained, check_jupyter]


def run_checks(checks: list[Callable[[], Check]] | None = None, *,
               rescore: bool = True) -> list[Check]:
    """Run the checks; a check that raises becomes a FAIL row, never a crash."""
    rows = []
    for check in CHECKS if checks is None else checks:
        try:
            row = check(rescore=rescore) if check is check_pretrained else check()
        except Exception as exc:  # the doctor reports; it must not die of what it diagnoses
            name = check.__name__.removeprefix("check_").replace("_", " ")
            row = Check(name, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}",
                        "run 'sertutor doctor --debug' and report the traceback")
        rows.append(row)
        # torch failing to load makes every later torch check meaningless
        if row.name == "torch" and row.status == FAIL:
            break
    return rows


def format_table(rows: list[Check]) -> str:
    """The table ``sertutor doctor`` prints."""
    width = max(len(r.name) for r in rows)
    lines = [f"{r.status:4s}  {r.name:{width}s}  {r.detail}" for r in rows]
    for r in rows:
        if r.status != OK and r.fix:
            lines.append(f"{'':4s}  {'':{width}s}  -> {r.fix}")
    return "\n".join(lines)


def main(*, rescore: bool = True, out=None) -> int:
    """Print the table; return 1 if any check failed (with what to do), else 0."""
    out = sys.stdout if out is None else out
    rows = run_checks(rescore=rescore)
    print(format_table(rows), file=out)
    failed = [r for r in rows if r.status == FAIL]
    if failed:
        print(f"\n{len(failed)} problem(s): fix them before class. First: {failed[0].name}: "
              f"{failed[0].fix or failed[0].detail}", file=out)
        return 1
    warned = [r.name for r in rows if r.status == WARN]
    print("\nready" + (f" (worth a look: {', '.join(warned)})" if warned else ""), file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
