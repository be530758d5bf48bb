"""`hcd-edge score`: help, exit codes, stderr summary, default engine, and resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.score.partial import partial_path
from tests.builders.patchgen import write_patch_fixture
from tests.score.helpers import make_tiny_engine, write_bad_inputs, write_patch_folder

ROOT = Path(__file__).resolve().parents[2]

# Runs `hcd-edge score ...` with every saved batch followed by a pause, so a test can signal the
# process while it is in the middle of a run.
SLOW_SCORE = """
import sys, time
from hcd_edge.score import partial as score_partial
append = score_partial.PartialLog.append
def slow(self, rows):
    append(self, rows)
    time.sleep(0.25)
score_partial.PartialLog.append = slow
from hcd_edge.score import run as score_run
score_run.HANDOFF_SECONDS = 0.0  # one batch per log line, as the waits count
from hcd_edge.cli import main
main(["score", *sys.argv[1:]])
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return make_tiny_engine(tmp_path_factory.mktemp("cli-engine") / "tiny", threshold=0.2)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-good") / "patches"
    write_patch_folder(folder, 45)
    return folder


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-messy") / "patches"
    write_patch_folder(folder, 6)
    write_bad_inputs(folder)
    return folder


@pytest.fixture()
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HCD_EDGE_STARTER_MODEL", raising=False)

    def invoke(*args):
        return CliRunner().invoke(main, ["score", *map(str, args)])

    return invoke


def test_help_lists_every_option_and_the_exit_codes():
    result = CliRunner().invoke(main, ["score", "--help"])
    assert result.exit_code == 0
    for option in ("--engine", "--out", "--format", "--batch", "--threads", "--threshold", "--tta",
                   "--recursive", "--resume", "--summary", "HCD_EDGE_STARTER_MODEL", "130"):
        assert option in result.output


def test_all_scored_exits_0_with_a_summary_on_stderr(run, good, engine, tmp_path):
    result = run(good, "--engine", engine, "--threads", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "scores.csv").is_file()
    assert "scored 45 of 45 patches (0 failed" in result.stderr
    assert "wrote scores.csv" in result.stderr and result.stdout == ""


def test_some_failed_exits_3_with_every_row_written(run, messy, engine, tmp_path):
    result = run(messy, "--engine", engine, "--recursive", "--format", "jsonl", "--threads", "1")
    assert result.exit_code == 3, result.output
    lines = (tmp_path / "scores.jsonl").read_text().splitlines()
    assert len(lines) == 6 + 7 and "7 failed" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--engine", "nowhere"], "no such engine folder: nowhere"),
    (["missing-folder"], "does not exist"),
])
def test_configuration_errors_exit_1_with_the_reason(run, good, engine, args, message):
    inputs = [] if args[0] == "missing-folder" else [good]
    extra = [] if "--engine" in args else ["--engine", engine]
    result = run(*inputs, *args, *extra)
    assert result.exit_code == 1 and message in result.stderr


@pytest.mark.parametrize("args", [["--batch", "0"], ["--format", "xml"], ["--tta", "rot"],
                                  ["--threshold", "1.5"], []])
def test_usage_errors_exit_2(run, good, args):
    inputs = [good] if args else []
    assert run(*inputs, *args).exit_code == 2


def test_without_engine_or_starter_model_exit_1_saying_how_to_build(run, good, tmp_path, monkeypatch):
    monkeypatch.setenv("HCD_EDGE_STARTER_MODEL", str(tmp_path / "no-starter.onnx"))
    result = run(good)
    assert result.exit_code == 1
    assert "no --engine given" in result.stderr and "hcd-edge build-engine" in result.stderr


def test_starter_model_from_the_environment_is_built_once_and_cached(run, tmp_path, monkeypatch):
    fixture = write_patch_fixture(tmp_path / "fx", n=40)
    monkeypatch.setenv("HCD_EDGE_STARTER_MODEL", str(fixture.model))
    first = run(fixture.root / "train", "--threads", "1")
    second = run(fixture.root / "train", "--threads", "1", "--out", "again.csv")
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert "building the FP32 starter engine" in first.stderr and str(tmp_path / "cache") in first.stderr
    assert "using the cached starter engine" in second.stderr
    assert (tmp_path / "scores.csv").read_bytes() == (tmp_path / "again.csv").read_bytes()


def slow_score(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HCD_EDGE_CACHE_DIR=str(cwd / "cache"))
    return subprocess.Popen([sys.executable, "-c", SLOW_SCORE, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_batches(partial: Path, batches: int, process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if partial.exists() and partial.read_text().count("\n") >= 1 + batches:
            return
        time.sleep(0.02)
    raise AssertionError(f"the run did not save {batches} batches: {process.communicate()}")


@pytest.mark.slow
def test_resume_after_a_kill_writes_the_same_file_as_an_uninterrupted_run(good, engine, tmp_path):
    args = [good, "--engine", engine, "--batch", "4", "--threads", "1"]
    whole = subprocess.run([sys.executable, "-m", "hcd_edge", "score", *map(str, args), "--out",
                            "whole.csv"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           check=False)
    assert whole.returncode == 0, whole.stderr
    process = slow_score([*args, "--out", "killed.csv"], tmp_path)
    wait_for_batches(partial_path(tmp_path / "killed.csv"), 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not (tmp_path / "killed.csv").exists() and partial_path(tmp_path / "killed.csv").exists()
    resumed = subprocess.run([sys.executable, "-m", "hcd_edge", "score", *map(str, args), "--out",
                              "killed.csv", "--resume"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "taken from the interrupted run" in resumed.stderr
    assert (tmp_path / "killed.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert not partial_path(tmp_path / "killed.csv").exists()


@pytest.mark.slow
def test_ctrl_c_exits_130_and_says_how_to_resume(good, engine, tmp_path):
    process = slow_score([good, "--engine", engine, "--batch", "4", "--threads", "1"], tmp_path)
    wait_for_batches(partial_path(tmp_path / "scores.csv"), 2, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted:" in stderr and "--resume" in stderr and "scores.csv.partial" in stderr


def test_score_help_imports_no_inference_stack():
    code = ("import sys\nfrom hcd_edge.cli import main\ntry:\n    main(['score', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('onnxruntime', 'torch', 'tensorrt', 'pycuda', 'numpy') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith("[]"), done.stdout + done.stderr


def test_scoring_with_an_engine_off_a_terminal_imports_only_what_the_run_needs(good, engine, tmp_path):
    code = ("import sys\nfrom hcd_edge.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('rich', 'csv', 'hcd_edge.score.default_engine', 'torch', "
            "'tifffile', 'socket', 'difflib') if m in sys.modules))")
    args = ["score", str(good / "p00000.tif"), "--engine", str(engine), "--out", str(tmp_path / "s.csv")]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith("[]"), done.stdout + done.stderr
    assert (tmp_path / "s.csv").is_file()
