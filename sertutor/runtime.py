"""The machine sertutor runs on: CPU budget, thread count and memory.

PyTorch sizes its CPU thread pool from the host's cores. Two things go wrong with that on the
machines a class uses:

1. **Containers with a CPU quota** (Binder, Docker ``--cpus``, Kubernetes limits): the kernel
   lets the container run for ``quota / period`` CPUs' worth of time, however many cores the
   host has. A pool sized from the host's cores is throttled, and its threads wait for each
   other at every parallel region (a *convoy*).
2. **A shared laptop**: with two threads on two cores and one other busy process (a second
   kernel, a sweep, the browser), each parallel region waits for the thread the scheduler has
   parked. Measured here on 2 cores, the classroom model's training step went from 163 ms to
   965 ms with torch's default of two threads, and from 194 ms to 222 ms with one.

So sertutor chooses the thread count itself (:func:`choose_num_threads`):

- the **CPU budget** is what the process can really use: the CPUs in its affinity mask, capped
  by the cgroup quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us / cpu.cfs_period_us``), rounded
  down, at least 1 (:func:`cpu_budget`);
- from that budget it takes away the cores **other processes keep busy** (measured from
  ``/proc/stat``, or from the cgroup's own usage where a quota applies, minus this process's
  own CPU time), because a thread that has to share its core with a busy process stalls the
  whole team;
- a small model gains nothing from a second thread (see ``benchmarks/threads.py``), so the
  caller may cap the count with ``useful``.

An explicit choice always wins: ``train.num_threads`` in the config, or the ``OMP_NUM_THREADS``
/ ``MKL_NUM_THREADS`` environment variables, or a ``torch.set_num_threads`` call made after
sertutor chose. :class:`ThreadGovernor` re-checks the load while a model trains and moves
between thread counts when another process starts or stops.

Everything here reads plain files under ``/proc`` and ``/sys/fs/cgroup``; on a system without
them (macOS, Windows) the budget is the affinity mask or ``os.cpu_count()``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CpuBudget",
    "cpu_budget",
    "parse_cgroup_v2_cpu_max",
    "parse_cgroup_v1_quota",
    "explicit_thread_request",
    "choose_num_threads",
    "apply_num_threads",
    "choose_num_workers",
    "ThreadGovernor",
    "memory_available_bytes",
    "rss_bytes",
    "release_memory",
    "forget",
    "reset_peak_rss",
]

#: Where the cgroup file systems are mounted (a module variable so tests can point elsewhere).
CGROUP_ROOT = Path("/sys/fs/cgroup")

#: Environment variables that, when set, fix the thread count (the user's explicit choice).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------------------- CPU budget
def parse_cgroup_v2_cpu_max(text: str) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` file, or ``None`` for no limit.

    The file holds ``"QUOTA PERIOD"`` in microseconds, or ``"max PERIOD"`` without a quota
    (e.g. ``"150000 100000"`` is 1.5 CPUs).
    """
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = float(parts[0])
        period = float(parts[1]) if len(parts) > 1 else 100000.0
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def parse_cgroup_v1_quota(quota_text: str, period_text: str) -> float | None:
    """CPUs allowed by cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; ``None``: no limit.

    A quota of ``-1`` means no limit.
    """
    try:
        quota, period = float(quota_text.strip()), float(period_text.strip())
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _own_cgroup_paths(root: Path) -> list[Path]:
    """The cgroup folders of this process (v2 first, then v1's ``cpu`` controller)."""
    paths: list[Path] = []
    text = _read(Path("/proc/self/cgroup")) or ""
    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, rel = fields
        rel = rel.lstrip("/")
        if controllers == "":  # v2 unified hierarchy
            paths += [root / rel, root / "unified" / rel]
        elif "cpu" in controllers.split(","):
            for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                paths.append(root / name / rel)
    paths += [root, root / "cpu"]  # a container sees its own cgroup as the root
    seen, out = set(), []
    for p in paths:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def cgroup_cpu_limit(root: Path | None = None) -> tuple[float | None, str]:
    """The cgroup CPU quota in CPUs (``None``: none found) and the file it came from."""
    root = CGROUP_ROOT if root is None else Path(root)
    for folder in _own_cgroup_paths(root):
        text = _read(folder / "cpu.max")
        if text is not None:
            limit = parse_cgroup_v2_cpu_max(text)
            if limit is not None:
                return limit, str(folder / "cpu.max")
        quota = _read(folder / "cpu.cfs_quota_us")
        period = _read(folder / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            limit = parse_cgroup_v1_quota(quota, period)
            if limit is not None:
                return limit, str(folder / "cpu.cfs_quota_us")
    return None, ""


@dataclass(frozen=True)
class CpuBudget:
    """How many CPUs this process can really use, and why."""

    cpus: int  # usable CPUs: min(affinity, floor(quota)), at least 1
    affinity: int  # CPUs in the scheduler affinity mask (os.cpu_count() where unknown)
    quota: float | None  # cgroup quota in CPUs (None: no quota)
    quota_source: str  # the cgroup file the quota came from ("" if none)
    host_cpus: int  # os.cpu_count(): what torch sizes its pool from

    def describe(self) -> str:
        """One line for ``sertutor doctor``."""
        quota = "no quota" if self.quota is None else f"quota {self.quota:g} CPUs"
        return (f"{self.cpus} usable (affinity {self.affinity} of {self.host_cpus} cores, "
                f"{quota})")


def cpu_budget(*, cgroup_root: Path | None = None) -> CpuBudget:
    """The CPUs this process can use: affinity mask and cgroup quota (floored, at least 1)."""
    host = os.cpu_count() or 1
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = host
    quota, source = cgroup_cpu_limit(cgroup_root)
    cpus = affinity if quota is None else min(affinity, int(math.floor(quota)))
    return CpuBudget(cpus=max(1, cpus), affinity=affinity, quota=quota,
                     quota_source=source, host_cpus=host)


# --------------------------------------------------------------------- others' CPU usage
def _machine_busy_seconds() -> float | None:
    """CPU seconds spent busy by the whole machine (``/proc/stat``), or ``None``."""
    text = _read(Path("/proc/stat"))
    if not text or not text.startswith("cpu "):
        return None
    fields = [float(v) for v in text.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (sum(fields[:8]) - idle) / ticks


def _cgroup_busy_seconds(root: Path | None = None) -> float | None:
    """CPU seconds used by this process's cgroup (v2 ``cpu.stat`` or v1 ``cpuacct.usage``)."""
    root = CGROUP_ROOT if root is None else Path(root)
    for folder in _own_cgroup_paths(root):
        text = _read(folder / "cpu.stat")
        if text:
            for line in text.splitlines():
                if line.startswith("usage_usec "):
                    return float(line.split()[1]) / 1e6
        text = _read(folder / "cpuacct.usage")
        if text and text.strip().isdigit():
            return float(text) / 1e9
    return None


class LoadSampler:
    """Cores kept busy by *other* processes between two readings.

    Where a cgroup quota applies, the competition that matters is inside the cgroup (other
    kernels in the same Binder container), so its usage counter is read; elsewhere the whole
    machine's ``/proc/stat``. This process's own CPU time is subtracted.
    """

    def __init__(self, *, use_cgroup: bool):
        self.use_cgroup = use_cgroup
        self._last = self._read()

    def _read(self) -> tuple[float, float | None, float]:
        total = _cgroup_busy_seconds() if self.use_cgroup else _machine_busy_seconds()
        return time.monotonic(), total, time.process_time()

    def others_busy(self) -> float | None:
        """Average number of cores other processes used since the last call (None: unknown)."""
        now = self._read()
        (t0, busy0, own0), (t1, busy1, own1) = self._last, now
        self._last = now
        if busy0 is None or busy1 is None or t1 - t0 < 0.05:
            return None
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))


def sample_others_busy(seconds: float = 0.2) -> float | None:
    """Cores kept busy by other processes over the next ``seconds`` (a short sleep)."""
    sampler = LoadSampler(use_cgroup=cpu_budget().quota is not None)
    time.sleep(seconds)
    return sampler.others_busy()


# ------------------------------------------------------------------------ choosing threads
def explicit_thread_request(config_threads: int = 0) -> tuple[int, str] | None:
    """The user's own thread count and where it came from, or ``None`` if they gave none.

    ``config_threads`` (``train.num_threads``) wins, then ``OMP_NUM_THREADS`` and
    ``MKL_NUM_THREADS``.
    """
    if config_threads:
        return int(config_threads), "train.num_threads"
    for name in THREAD_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), name
    return None


def choose_num_threads(*, budget: int, others_busy: float | None = 0.0,
                       useful: int | None = None, current: int | None = None) -> int:
    """The thread count for a CPU budget, the load of other processes and the model's size.

    Parameters
    ----------
    budget : int
        CPUs this process can use (:func:`cpu_budget`).
    others_busy : float or None
        Cores other processes keep busy (``None``: unknown, taken as 0).
    useful : int, optional
        Most threads the model gains from (``None``: no cap).
    current : int, optional
        The count in use now; adds hysteresis so the count does not flap: a core is given back
        when others use more than 0.5 of it, and taken again when they use less than 0.25.

    Returns
    -------
    int
        At least 1, at most ``budget`` (and ``useful``).
    """
    busy = 0.0 if others_busy is None else max(0.0, float(others_busy))
    free = budget - busy
    n = int(math.floor(free + 0.5))  # others using > half a core take that core
    if current is not None and n > current and free < current + 0.75:
        n = current  # come back up only when the other process has clearly stopped
    if useful is not None:
        n = min(n, useful)
    return max(1, min(budget, n))


#: The count sertutor itself set last (None: it has not set one), to tell a later
#: ``torch.set_num_threads`` by the user from our own.
_applied: int | None = None


def _cpu_count_for(config_threads: int, *, useful: int | None, measure: bool) -> tuple[int, str]:
    """The user's explicit count, or the CPU budget less other processes' load; and why."""
    explicit = explicit_thread_request(config_threads)
    if explicit is not None:
        return explicit
    budget = cpu_budget()
    busy = sample_others_busy() if measure and budget.cpus > 1 else 0.0
    n = choose_num_threads(budget=budget.cpus, others_busy=busy, useful=useful)
    return n, f"auto: {budget.cpus} usable CPU(s)" + (
        f", others busy {busy:.1f} cores" if busy else "")


def apply_num_threads(config_threads: int = 0, *, useful: int | None = None,
                      measure: bool = True) -> tuple[int, str]:
    """Set torch's intra-op thread count; return it and why it was chosen.

    An explicit request (:func:`explicit_thread_request`) is applied as given. Otherwise the
    count comes from :func:`choose_num_threads` with the CPU budget and, if ``measure``, a
    0.2 s sample of other processes' load. If the user called ``torch.set_num_threads`` since
    sertutor last set it, their value is kept.
    """
    global _applied
    import torch

    if explicit_thread_request(config_threads) is None and _applied is not None \
            and torch.get_num_threads() != _applied:
        return torch.get_num_threads(), "torch.set_num_threads"
    n, why = _cpu_count_for(config_threads, useful=useful, measure=measure)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    _applied = n
    return n, why


def choose_num_workers(*, tasks: int, min_tasks_per_worker: int = 1,
                       measure: bool = True) -> tuple[int, str]:
    """How many worker processes a CPU-bound job of ``tasks`` independent pieces should use.

    The same rule as torch's thread count (:func:`apply_num_threads`): an explicit
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` is taken as the user's budget (a one-thread
    sweep stays one process); otherwise the CPU budget less the cores other processes keep
    busy. Never more workers than ``tasks // min_tasks_per_worker``, at least 1.

    Returns
    -------
    (int, str)
        The worker count and why it was chosen.
    """
    n, why = _cpu_count_for(0, useful=None, measure=measure)
    return max(1, min(n, int(tasks) // max(1, int(min_tasks_per_worker)))), why


class ThreadGovernor:
    """Keeps the thread count right while a model trains (a :class:`~sertutor.train.Callback`
    uses it): every ``every`` steps it reads the load of other processes since the last check
    (no sleeping, no probing: two counter reads) and moves the thread count down when another
    process competes for a core, and up again when it stops.

    It does nothing when the user fixed the count (:func:`explicit_thread_request`), or called
    ``torch.set_num_threads`` after sertutor chose.
    """

    def __init__(self, *, config_threads: int = 0, every: int = 25, useful: int | None = None):
        self.every = int(every)
        self.useful = useful
        self.enabled = explicit_thread_request(config_threads) is None
        self.budget = cpu_budget()
        self._sampler: LoadSampler | None = None
        self.changes: list[tuple[int, int]] = []  # (step, new thread count)

    def start(self) -> None:
        """Begin measuring (call once before the first step)."""
        if self.enabled and self.budget.cpus > 1:
            self._sampler = LoadSampler(use_cgroup=self.budget.quota is not None)

    def step(self, step: int) -> None:
        """Call after each training step; re-checks every ``self.every`` steps."""
        if self._sampler is None or step % self.every:
            return
        import torch

        current = torch.get_num_threads()
        if _applied is not None and current != _applied:
            self._sampler = None  # the user took over
            return
        n = choose_num_threads(budget=self.budget.cpus, others_busy=self._sampler.others_busy(),
                               useful=self.useful, current=current)
        if n != current:
            _set(n)
            self.changes.append((step, n))


def _set(n: int) -> None:
    global _applied
    import torch

    torch.set_num_threads(n)
    _applied = n


# --------------------------------------------------------------------------------- memory
def memory_available_bytes() -> tuple[int | None, str]:
    """Memory this process may still use: the smaller of ``MemAvailable`` and the cgroup
    limit minus its usage. Returns bytes (``None`` if unknown) and where it came from."""
    best: tuple[int | None, str] = (None, "")
    text = _read(Path("/proc/meminfo")) or ""
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            best = (int(line.split()[1]) * 1024, "/proc/meminfo MemAvailable")
    root = CGROUP_ROOT
    for folder in _own_cgroup_paths(root) + [root / "memory"]:
        for limit_name, usage_name in (("memory.max", "memory.current"),
                                       ("memory.limit_in_bytes", "memory.usage_in_bytes")):
            limit, usage = _read(folder / limit_name), _read(folder / usage_name)
            if limit is None or usage is None:
                continue
            limit, usage = limit.strip(), usage.strip()
            if not limit.isdigit() or not usage.isdigit() or int(limit) >= 1 << 60:
                continue
            free = int(limit) - int(usage)
            if best[0] is None or free < best[0]:
                best = (free, f"cgroup {folder / limit_name}")
            break
    return best


def rss_bytes(*, peak: bool = False) -> int:
    """This process's resident set now (or its peak, ``VmHWM``), in bytes."""
    key = "VmHWM:" if peak else "VmRSS:"
    for line in (_read(Path("/proc/self/status")) or "").splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    import resource  # fallback: peak only, kilobytes on Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_memory() -> bool:
    """Give memory that Python and the C allocator no longer use back to the system.

    Runs the garbage collector (cycles keep tensors and arrays alive), then asks glibc to
    return its free heap pages (``malloc_trim(0)``): without that, the resident set of a
    process that freed a few hundred MB of numpy arrays often stays where it was, and a
    notebook kernel keeps what it no longer holds. Where glibc is not the allocator (macOS,
    Windows, musl) only the garbage collector runs.

    Returns
    -------
    bool
        True when ``malloc_trim`` ran (the C allocator was asked to give memory back).
    """
    import gc

    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except OSError:  # pragma: no cover - a libc that refuses the call
        return False
    return True


def forget(namespace: dict, *names: str) -> list[str]:
    """Delete ``names`` from ``namespace`` where they are bound, then :func:`release_memory`.

    For a notebook section that no longer needs what earlier sections prepared (datasets,
    trainers, models): ``forget(globals(), "data", "trainer")`` is ``del data, trainer``
    that does not fail when a cell that bound one of them was skipped, followed by giving the
    memory back. An IPython kernel also keeps the last results in ``_``, ``__`` and
    ``___``; name them to free those too.

    Parameters
    ----------
    namespace : dict
        Where the names are bound, e.g. ``globals()``.
    *names : str
        The names to delete.

    Returns
    -------
    list of str
        The names that were bound and are now deleted.
    """
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace must be a dict such as globals(), got "
                        f"{type(namespace).__name__}")
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"names must be str, got {bad!r}")
    deleted = [n for n in names if n in namespace]
    for name in deleted:
        del namespace[name]
    release_memory()
    return deleted


def _malloc_trim():
    """glibc's ``malloc_trim`` through ctypes, or None where there is none."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other libcs have no malloc_trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set (``VmHWM``) to its current resident set.

    Writes ``5`` to ``/proc/self/clear_refs`` (Linux 4.0+), so :func:`rss_bytes` with
    ``peak=True`` then measures the peak of what runs next: what the memory benchmark uses to
    give each stage its own peak. Returns False (and changes nothing) where that file is
    missing or not writable.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True
