"""sertutor.runtime: CPU budget from affinity and cgroup quotas, the thread choice, memory."""

from __future__ import annotations

import os

import pytest
import torch

from sertutor import runtime
from sertutor.runtime import (ThreadGovernor, choose_num_threads, cpu_budget,
                              explicit_thread_request, parse_cgroup_v1_quota,
                              parse_cgroup_v2_cpu_max)


@pytest.mark.parametrize("text, cpus", [
    ("max 100000", None),                 # no quota
    ("max", None),
    ("200000 100000", 2.0),
    ("150000 100000", 1.5),               # a fraction
    ("50000 100000\n", 0.5),
    ("100000", 1.0),                      # period missing: the kernel's default 100 ms
    ("", None), ("garbage here", None), ("-1 100000", None),
])
def test_cgroup_v2_cpu_max(text, cpus):
    assert parse_cgroup_v2_cpu_max(text) == cpus


@pytest.mark.parametrize("quota, period, cpus", [
    ("-1", "100000", None), ("200000", "100000", 2.0), ("150000\n", "100000\n", 1.5),
    ("25000", "100000", 0.25), ("x", "100000", None), ("100000", "0", None),
])
def test_cgroup_v1_quota(quota, period, cpus):
    assert parse_cgroup_v1_quota(quota, period) == cpus


def _fake_cgroup(tmp_path, files: dict[str, str]):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_budget_is_floored_quota_capped_by_affinity(tmp_path, monkeypatch):
    affinity = len(os.sched_getaffinity(0))
    root = _fake_cgroup(tmp_path, {"cpu.max": "150000 100000"})  # 1.5 CPUs, v2
    b = cpu_budget(cgroup_root=root)
    assert b.quota == 1.5 and b.cpus == 1 and b.affinity == affinity
    assert "quota 1.5 CPUs" in b.describe()

    root = _fake_cgroup(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "800000",
                                          "cpu/cpu.cfs_period_us": "100000"})  # 8 CPUs, v1
    b = cpu_budget(cgroup_root=root)
    assert b.quota == 8.0 and b.cpus == min(affinity, 8)

    root = _fake_cgroup(tmp_path / "small", {"cpu.max": "20000 100000"})  # 0.2 CPU
    assert cpu_budget(cgroup_root=root).cpus == 1  # at least one

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    root = _fake_cgroup(tmp_path / "big", {"cpu.max": "max 100000"})
    b = cpu_budget(cgroup_root=root)
    assert b.cpus == 1 and b.quota is None  # the affinity mask limits, no quota


def test_budget_without_cgroup_files(tmp_path):
    b = cpu_budget(cgroup_root=tmp_path / "nothing-here")
    assert b.quota is None and b.cpus == b.affinity >= 1


@pytest.mark.parametrize("budget, busy, useful, current, expected", [
    (2, 0.0, None, None, 2),     # idle machine: the whole budget
    (2, 1.0, None, None, 1),     # one busy process: give it its core
    (2, 0.4, None, None, 2),     # a browser tab does not cost a core
    (2, 0.7, None, None, 1),
    (2, None, None, None, 2),    # unknown load
    (8, 3.2, None, None, 5),
    (4, 0.0, 1, None, 1),        # a small model gains nothing from more
    (1, 5.0, None, None, 1),     # never below one
    (2, 0.4, None, 1, 1),        # hysteresis: stay at 1 until others clearly stopped
    (2, 0.1, None, 1, 2),
])
def test_choose_num_threads(budget, busy, useful, current, expected):
    assert choose_num_threads(budget=budget, others_busy=busy, useful=useful,
                              current=current) == expected


def test_explicit_requests_win(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert explicit_thread_request(0) is None
    assert explicit_thread_request(3) == (3, "train.num_threads")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert explicit_thread_request(0) == (1, "OMP_NUM_THREADS")
    assert explicit_thread_request(2) == (2, "train.num_threads")  # the config beats the env
    monkeypatch.setenv("OMP_NUM_THREADS", "not-a-number")
    assert explicit_thread_request(0) is None


def test_apply_respects_config_env_and_a_later_user_call(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    try:
        assert runtime.apply_num_threads(1) == (1, "train.num_threads")
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert runtime.apply_num_threads(0) == (1, "OMP_NUM_THREADS")
        monkeypatch.delenv("OMP_NUM_THREADS")
        n, why = runtime.apply_num_threads(0, measure=False)
        assert why.startswith("auto") and n == min(cpu_budget().cpus, n) and n >= 1
        if cpu_budget().cpus > 1:  # the user's own call after ours is kept
            torch.set_num_threads(n + 1 if n < 2 else 1)
            kept = torch.get_num_threads()
            assert runtime.apply_num_threads(0, measure=False) == (kept, "torch.set_num_threads")
    finally:
        torch.set_num_threads(before)
        runtime._applied = None


def test_governor_moves_threads_with_the_load(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "cpu_budget", lambda **kw: runtime.CpuBudget(
        cpus=2, affinity=2, quota=None, quota_source="", host_cpus=2))
    loads = iter([1.2, 1.1, 0.05, 0.0])

    class Sampler:
        def __init__(self, **kw):
            pass

        def others_busy(self):
            return next(loads)

    monkeypatch.setattr(runtime, "LoadSampler", Sampler)
    try:
        runtime._set(2)
        gov = ThreadGovernor(every=10)
        gov.start()
        for step in range(1, 41):
            gov.step(step)
        assert gov.changes == [(10, 1), (30, 2)]  # down when busy, up when free again
        assert torch.get_num_threads() == 2
        assert not ThreadGovernor(config_threads=1).enabled  # an explicit count is left alone
    finally:
        torch.set_num_threads(before)
        runtime._applied = None


def test_load_sampler_reads_real_counters():
    sampler = runtime.LoadSampler(use_cgroup=False)
    x = 0
    for i in range(2_000_000):  # busy in *this* process: not counted as others' load
        x += i
    busy = sampler.others_busy()
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 0.5


def test_memory_and_rss_are_plausible():
    free, source = runtime.memory_available_bytes()
    assert free is None or (free > 0 and source)
    rss, peak = runtime.rss_bytes(), runtime.rss_bytes(peak=True)
    assert 10e6 < rss <= peak


def test_tiny_preset_fixes_one_thread_for_bit_identical_tests():
    from sertutor.config import get_config

    assert get_config("tiny").train.num_threads == 1
    assert get_config("classroom").train.num_threads == 0  # auto


def test_worker_count_follows_the_thread_rules_and_the_size_of_the_job(monkeypatch):
    """choose_num_workers: OMP_NUM_THREADS is the user's budget (a one-thread sweep stays one
    process); otherwise the free CPUs; never more workers than the job can feed."""
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runtime.choose_num_workers(tasks=1000, min_tasks_per_worker=64) == (
        3, "OMP_NUM_THREADS")
    assert runtime.choose_num_workers(tasks=130, min_tasks_per_worker=64)[0] == 2
    assert runtime.choose_num_workers(tasks=10, min_tasks_per_worker=64)[0] == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(runtime, "cpu_budget", lambda **kw: runtime.CpuBudget(
        cpus=4, affinity=4, quota=None, quota_source="", host_cpus=4))
    monkeypatch.setattr(runtime, "sample_others_busy", lambda seconds=0.2: 1.0)
    n, why = runtime.choose_num_workers(tasks=1000)
    assert n == 3 and "others busy 1.0" in why  # one core taken by another process
