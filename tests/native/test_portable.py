"""The C core built for aarch64 (Jetson), portable and NEON kernels, decodes byte-identically
to the x86-64 build.

Runs under qemu-user when a cross compiler is installed
(apt install gcc-aarch64-linux-gnu qemu-user zlib1g-dev:arm64); skipped, with that reason,
where it is not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.decode import corpus

ROOT = Path(__file__).resolve().parents[2]
CROSS_GCC = "aarch64-linux-gnu-gcc"
SYSROOT = Path("/usr/aarch64-linux-gnu")


def build(compiler: str, exe: Path) -> None:
    sources = [str(p) for p in sorted((ROOT / "csrc").glob("*.c"))]
    cmd = [compiler, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
           "-I", str(ROOT / "csrc"), *sources, str(Path(__file__).with_name("dump.c")),
           "-o", str(exe), "-lz"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_aarch64_build_decodes_the_corpus_byte_identically(tmp_path):
    missing = [t for t in (CROSS_GCC, "qemu-aarch64", "gcc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"cross-architecture check needs {', '.join(missing)} "
                    "(apt install gcc-aarch64-linux-gnu qemu-user zlib1g-dev:arm64)")
    files = []
    for i, case in enumerate(corpus.valid_variants()[::3] + corpus.malformed_cases()[::4]):
        files.append(tmp_path / f"{i:04d}.tif")
        files[-1].write_bytes(case.data)
    build("gcc", tmp_path / "dump-x86")
    try:
        build(CROSS_GCC, tmp_path / "dump-arm64")
    except AssertionError as exc:
        if "zlib.h" in str(exc) or "-lz" in str(exc):
            pytest.skip("no aarch64 zlib: apt install zlib1g-dev:arm64")
        raise
    names = [str(f) for f in files]
    native = subprocess.run([str(tmp_path / "dump-x86"), *names], capture_output=True, check=True)
    assert len(native.stdout) > 1_000_000
    for mode in ([], ["-best"]):  # the portable kernels, then the NEON one aarch64 picks
        arm = subprocess.run(["qemu-aarch64", "-L", str(SYSROOT), str(tmp_path / "dump-arm64"),
                              *mode, *names], capture_output=True, check=True, timeout=300)
        assert arm.stdout == native.stdout, mode
