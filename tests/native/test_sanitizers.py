"""The C core built with AddressSanitizer + UndefinedBehaviorSanitizer, driven over the corpora.

Any sanitizer report fails the test. The driver (driver.c) decodes every corpus file from an
exact-size heap copy, many prefixes and seeded mutations of each, then all files as a batch;
it also normalizes each file's bytes as an in-memory patch and a threaded batch of contiguous,
region-view and bottom-up patches (normalize-from-memory). The malformed corpus holds the
exact-length strip cases (Deflate bombs and missing Adler-32, LZW without clear or end code or
past a full table, PackBits trailing runs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.decode import corpus

ROOT = Path(__file__).resolve().parents[2]
# Every C file of the core (the Cython binding is generated under build/, not here).
CORE = sorted(p.name for p in (ROOT / "csrc").glob("*.c"))
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the sanitizer build needs it")
    exe = tmp_path_factory.mktemp("asan") / "driver"
    sources = [str(ROOT / "csrc" / name) for name in CORE] + [str(Path(__file__).with_name("driver.c"))]
    cmd = [gcc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-pthread", *SANITIZE,
           "-I", str(ROOT / "csrc"), *sources, "-o", str(exe), "-lz"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return exe


def sanitizer_env(leaks: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = f"detect_leaks={int(leaks)}:halt_on_error=1:abort_on_error=0:exitcode=86"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=87"
    return env


def run_driver(driver: Path, files: list[Path], mutations: int) -> subprocess.CompletedProcess:
    cmd = [str(driver), str(mutations), *map(str, files)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=sanitizer_env(True), check=False)
    if "LeakSanitizer has encountered a fatal error" in done.stderr:
        # LSan needs ptrace, which some sandboxes forbid; address and UB checks still run.
        done = subprocess.run(cmd, capture_output=True, text=True, env=sanitizer_env(False),
                              check=False)
    return done


def assert_clean(done: subprocess.CompletedProcess) -> None:
    report = done.stderr[-4000:]
    assert done.returncode == 0, report
    assert "runtime error" not in done.stderr and "Sanitizer" not in done.stderr, report
    assert done.stdout.startswith("files "), done.stdout


def test_malformed_corpus_runs_clean_under_asan_and_ubsan(driver, tmp_path):
    files = corpus.write_cases(tmp_path, corpus.malformed_cases())
    done = run_driver(driver, files, mutations=10)
    assert_clean(done)


def test_valid_variants_and_their_mutations_run_clean_under_asan_and_ubsan(driver, tmp_path):
    cases = corpus.valid_variants()[::3] + corpus.fallback_variants()
    files = corpus.write_cases(tmp_path, cases)
    done = run_driver(driver, files, mutations=60)
    assert_clean(done)
    ok = int(done.stdout.splitlines()[0].split()[-1])
    assert ok >= 3 * len(corpus.valid_variants()[::3]), done.stdout  # each file, each output kind
    # normalize-from-memory: 12 patches (contiguous, region views, bottom-up) x 3 output kinds
    assert "from-memory ok 36" in done.stdout, done.stdout
