"""benchmarks/thread_cpu.py: each thread's CPU seconds, by the role its name gives."""

from __future__ import annotations

import threading
import time

import pytest

from benchmarks.thread_cpu import ThreadCpu, role_of, supported

pytestmark = pytest.mark.skipif(not supported(), reason="no pthread_getcpuclockid on this platform")


def _spin(seconds: float) -> None:
    """Use about `seconds` of this thread's CPU."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_roles_follow_the_names_hcd_edge_gives_its_threads():
    assert [role_of(n) for n in ("hcd-edge-decode-1", "hcd-edge-log", "hcd-edge-render",
                                 "MainThread", "Thread-7")] == ["decode", "log writer", "render",
                                                                "main", "other"]


def test_a_worker_that_ends_inside_the_block_keeps_its_cpu_and_idle_threads_count_nothing():
    idle = threading.Event()
    sleeper = threading.Thread(target=idle.wait, name="hcd-edge-log")
    with ThreadCpu() as cpu:
        sleeper.start()
        worker = threading.Thread(target=_spin, args=(0.3,), name="hcd-edge-decode-0")
        worker.start()
        worker.join()  # ended before the block does
        _spin(0.1)
        idle.set()
        sleeper.join()
    roles = cpu.by_role()
    assert 0.25 <= roles["decode"] <= 0.4
    assert 0.08 <= roles["main"] <= 0.3  # its CPU since the block began, not since the process did
    assert roles.get("log writer", 0.0) < 0.05
    assert set(roles) <= {"decode", "main", "log writer", "other"}  # the poller is not reported
