"""Items 6 and 16 of issue 11, and kill -9: one run per output, Ctrl-C at any moment exits 130
with a true message, and a killed run resumes to the file an uninterrupted run writes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hcd_edge.output_lock import lock_path, output_lock
from hcd_edge.score.partial import partial_path
from tests.hostile.conftest import N_PATCHES
from tests.hostile.helpers import assert_clean, cli, spawn
from tests.score.helpers import write_patch_folder

# `hcd-edge score ...` whose saved batches each take 0.3 s, so a test can act mid-run.
SLOW_SCORE = """
import sys, time
from hcd_edge.score import partial
append = partial.PartialLog.append
def slow(self, rows):
    append(self, rows)
    time.sleep(0.3)
partial.PartialLog.append = slow
from hcd_edge.score import run as score_run
score_run.HANDOFF_SECONDS = 0.0  # one batch per log line, as the waits count
sys.argv[0] = "hcd-edge"
from hcd_edge.__main__ import run
run()
"""


def slow_score(args, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "HCD_EDGE_CACHE_DIR": str(cwd / "cache")}
    return subprocess.Popen([sys.executable, "-c", SLOW_SCORE, "score", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(partial: Path, lines: int, process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if partial.exists() and partial.read_bytes().count(b"\n") >= lines + 1:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{partial} did not get {lines} batches")


@pytest.fixture()
def many(tmp_path):
    folder = tmp_path / "many"
    write_patch_folder(folder, 40)
    return folder


# ---- item 6: a lock on the output ----

def test_a_second_run_on_a_locked_output_names_the_holder_and_exits_1(patches, engine, tmp_path):
    out = tmp_path / "scores.csv"
    with output_lock(out):
        result = cli("score", patches, "--engine", engine, "--out", out)
    assert_clean(result, 1, f"pid {os.getpid()}", f"host {socket.gethostname()}")
    assert not out.exists() and not partial_path(out).exists()


def test_resume_while_the_first_run_is_alive_is_refused_by_the_lock(many, engine, tmp_path):
    out = tmp_path / "scores.csv"
    first = slow_score([many, "--engine", engine, "--out", out, "--batch", "4", "--threads", "1"], tmp_path)
    try:
        wait_for_rows(partial_path(out), 1, first)
        for extra in ([], ["--resume"]):
            result = cli("score", many, "--engine", engine, "--out", out, "--batch", "4", *extra)
            assert_clean(result, 1, f"pid {first.pid}", "another hcd-edge run")
    finally:
        first.kill()
        first.communicate()


def test_kill_9_leaves_a_stale_lock_that_does_not_block_resume(many, engine, tmp_path):
    args = [many, "--engine", engine, "--batch", "4", "--threads", "1"]
    assert_clean(cli("score", *args, "--out", tmp_path / "whole.csv"), 0)
    out = tmp_path / "scores.csv"
    first = slow_score([*args, "--out", out], tmp_path)
    wait_for_rows(partial_path(out), 2, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert lock_path(out).exists()  # the file stays; the kernel dropped the flock with the process
    assert_clean(cli("score", *args, "--out", out), 1, "--resume")
    assert_clean(cli("score", *args, "--out", out, "--resume"), 0, "taken from the interrupted run")
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert not partial_path(out).exists() and not lock_path(out).exists()


# ---- item 16: Ctrl-C at any moment ----

@pytest.fixture(scope="module")
def python_startup() -> float:
    """Seconds the interpreter itself needs to start (site, .pth files) before hcd-edge code runs:
    a Ctrl-C inside that window meets Python's own handler, which no program can change."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - began)
    return max(times) * 1.5


@pytest.fixture(scope="module")
def long_run(tmp_path_factory) -> Path:
    """20,000 links to 4 patches: 5,000 batches of 4, seconds of work on any machine."""
    folder = tmp_path_factory.mktemp("long")
    write_patch_folder(folder / "real", 4)
    real = sorted((folder / "real").glob("*.tif"))
    (folder / "links").mkdir()
    for i in range(20_000):
        os.symlink(real[i % 4], folder / "links" / f"p{i:05d}.tif")
    return folder / "links"


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.6])
def test_ctrl_c_during_startup_exits_130_without_a_traceback(delay, long_run, engine, tmp_path,
                                                             python_startup):
    process = spawn(["score", long_run, "--engine", engine, "--batch", "4", "--threads", "1",
                     "--out", tmp_path / "s.csv"], tmp_path)
    time.sleep(python_startup + delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0, f"the run finished within {delay} s, before the signal"
    # -SIGINT: the signal arrived before Python set its handler and ended the process as the
    # default action does; a shell reports that as 130 too
    assert process.returncode in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr or process.returncode == -signal.SIGINT
    assert "rows saved in" not in stderr or partial_path(tmp_path / "s.csv").exists()


def test_ctrl_c_before_the_first_row_says_nothing_was_kept(patches, engine, tmp_path, monkeypatch):
    from hcd_edge.score import pipeline

    def interrupted(self, paths):
        raise KeyboardInterrupt
        yield  # pragma: no cover - a generator like the real run()

    monkeypatch.setattr(pipeline.ScoringPipeline, "run", interrupted)
    out = tmp_path / "s.csv"
    result = cli("score", patches, "--engine", engine, "--out", out)
    assert_clean(result, 130, "no rows were kept", "run the same command again")
    assert not partial_path(out).exists() and not lock_path(out).exists() and not out.exists()


def test_ctrl_c_mid_run_keeps_the_rows_and_names_the_partial_file(many, engine, tmp_path):
    out = tmp_path / "scores.csv"
    process = slow_score([many, "--engine", engine, "--out", out, "--batch", "4", "--threads", "1"], tmp_path)
    wait_for_rows(partial_path(out), 2, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert str(partial_path(out)) in stderr and "--resume" in stderr and partial_path(out).exists()


def test_ctrl_c_while_writing_the_output_keeps_the_rows_for_resume(patches, engine, tmp_path, monkeypatch):
    from hcd_edge.score import render

    whole = tmp_path / "whole.csv"
    assert_clean(cli("score", patches, "--engine", engine, "--out", whole), 0)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "s.csv"
    with monkeypatch.context() as patch:
        patch.setattr(render.OutputWriter, "open", interrupted)  # live, then from the log
        result = cli("score", patches, "--engine", engine, "--out", out)
    assert_clean(result, 130, f"{N_PATCHES} of {N_PATCHES} rows saved in {partial_path(out)}", "--resume")
    assert_clean(cli("score", patches, "--engine", engine, "--out", out, "--resume"), 0)
    assert out.read_bytes() == whole.read_bytes()
