"""The `hcd-edge` entry point ends a finished `score` without the interpreter's teardown, and
nothing is lost by it: every row, the summary and the printed lines arrive, the exit status is
the run's; anything that must work at exit (Ray, coverage, a profiler, HCD_EDGE_FULL_EXIT=1)
gets the full teardown."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hcd_edge.__main__ import FULL_EXIT_ENV, quick_exit_allowed
from tests.score.helpers import BAD_INPUTS, make_tiny_engine, write_bad_inputs, write_patch_folder

ROOT = Path(__file__).resolve().parents[2]
# The real entry point with an exit handler that says whether the teardown ran.
ENTRY = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('TEARDOWN RAN\\n'))\n"
    "sys.argv = ['hcd-edge', *sys.argv[1:]]\n"
    "from hcd_edge.__main__ import run\n"
    "run()\n"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return make_tiny_engine(tmp_path_factory.mktemp("engine") / "tiny")


def _score(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != FULL_EXIT_ENV}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", ENTRY, "score", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_score_ends_without_teardown_and_loses_nothing(engine, tmp_path):
    patches = write_patch_folder(tmp_path / "p", 150)
    out, summary = tmp_path / "scores.csv", tmp_path / "summary.json"
    done = _score([tmp_path / "p", "--engine", engine, "--out", out, "--summary", summary])
    assert done.returncode == 0, done.stderr
    assert "TEARDOWN RAN" not in done.stderr
    assert f"wrote {out}" in done.stdout + done.stderr  # printed lines reach a pipe: flushed
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(patches) and all(r["status"] == "0" for r in rows)
    assert json.loads(summary.read_text())["counts"]["scored"] == len(patches)


def test_a_run_with_failed_inputs_writes_what_the_full_teardown_writes(engine, tmp_path):
    write_patch_folder(tmp_path / "p", 8)
    write_bad_inputs(tmp_path / "p")
    quick = _score([tmp_path / "p", "--engine", engine, "--out", tmp_path / "quick.csv"])
    full = _score([tmp_path / "p", "--engine", engine, "--out", tmp_path / "full.csv"], {FULL_EXIT_ENV: "1"})
    assert quick.returncode == full.returncode == 3, quick.stderr
    assert "TEARDOWN RAN" not in quick.stderr and "TEARDOWN RAN" in full.stderr
    rows = (tmp_path / "quick.csv").read_text()
    assert rows == (tmp_path / "full.csv").read_text()
    failed = {r["id"] for r in csv.DictReader(rows.splitlines()) if r["status"] != "0"}
    assert failed == {Path(name).stem for name in BAD_INPUTS if "/" not in name}  # sub/ is not listed


def test_full_exit_env_keeps_the_teardown(engine, tmp_path):
    write_patch_folder(tmp_path / "p", 4)
    done = _score([tmp_path / "p", "--engine", engine, "--out", tmp_path / "s.csv"], {FULL_EXIT_ENV: "1"})
    assert done.returncode == 0 and "TEARDOWN RAN" in done.stderr


def test_other_commands_and_usage_errors_keep_the_teardown(engine, tmp_path):
    done = subprocess.run([sys.executable, "-c", ENTRY, "inspect", str(engine)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "TEARDOWN RAN" in done.stderr


@pytest.mark.parametrize(
    "command,modules,environ,code,allowed",
    [
        (["score"], {}, {}, 0, True),
        (["score"], {}, {}, None, True),
        (["score"], {}, {}, 3, True),
        (["score"], {}, {FULL_EXIT_ENV: "0"}, 0, True),
        (["score"], {}, {FULL_EXIT_ENV: "1"}, 0, False),
        (["score"], {"ray": object()}, {}, 0, False),
        (["score"], {"coverage": object()}, {}, 0, False),
        (["score"], {"multiprocessing": object()}, {}, 0, False),
        (["score"], {}, {}, "a message", False),
        (["train"], {}, {}, 0, False),
        (["--help"], {}, {}, 0, False),
        ([], {}, {}, 0, False),
    ],
)
def test_quick_exit_rule(command, modules, environ, code, allowed):
    assert quick_exit_allowed(command, modules, environ, code, [], traced=False) is allowed


def test_a_live_non_daemon_thread_or_a_tracer_keeps_the_teardown():
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    daemon = threading.Thread(target=release.wait, daemon=True)
    worker.start()
    daemon.start()
    try:
        assert not quick_exit_allowed(["score"], {}, {}, 0, [worker, daemon], traced=False)
        assert quick_exit_allowed(["score"], {}, {}, 0, [daemon], traced=False)
    finally:
        release.set()
        worker.join()
        daemon.join()
    assert not quick_exit_allowed(["score"], {}, {}, 0, [], traced=True)
