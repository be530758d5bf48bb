"""A patched copy of tensorrt-stubs 10.13 that mypy can read, and a mypy runner over it.

The published stubs need three fixes before mypy parses them: a parameter named `in` (a
Python keyword), a parameter without default after ones with defaults in `add_scale_nd`, and
an import of `tensorrt_libs`, a package that exists only beside real TensorRT wheels.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

STUB_PACKAGES = ("tensorrt", "tensorrt_bindings")


def stubs_installed() -> bool:
    """True when the tensorrt-stubs distribution is importable as stub files."""
    try:
        from importlib.metadata import distribution

        distribution("tensorrt-stubs")
    except ImportError:  # PackageNotFoundError is an ImportError
        return False
    return True


def _site_dir_of_stubs() -> Path:
    from importlib.metadata import distribution

    dist = distribution("tensorrt-stubs")
    return Path(str(dist.locate_file("tensorrt")))


def write_patched_stubs(dest: Path) -> Path:
    """Copy the tensorrt / tensorrt_bindings .pyi files into dest, patched; returns dest."""
    src_tensorrt = _site_dir_of_stubs()
    site = src_tensorrt.parent
    for package in STUB_PACKAGES:
        out_dir = dest / package
        out_dir.mkdir(parents=True, exist_ok=True)
        for stub in (site / package).glob("*.pyi"):
            (out_dir / stub.name).write_text(patch_stub_text(stub.read_text()))
    return dest


def patch_stub_text(text: str) -> str:
    """Apply the three fixes to one stub file's text."""
    text = re.sub(r"(?<=[(,\s])in: ", "in_: ", text)  # `in` is a keyword
    text = text.replace("power: Weights = None, channel_axis: int)", "power: Weights = None, channel_axis: int = 0)")
    text = re.sub(r"^import tensorrt_libs as tensorrt_libs\n", "", text, flags=re.MULTILINE)
    return text.replace("'tensorrt_libs', ", "")


def run_mypy(files: list[Path], stub_dir: Path) -> subprocess.CompletedProcess:
    """Run mypy over files with the patched stubs first on MYPYPATH."""
    config = stub_dir / "mypy.ini"
    # The stubs themselves have errors mypy would report (a variable named `bool`, ...);
    # only our use of them is under test.
    config.write_text(
        "[mypy]\n[mypy-tensorrt.*]\nignore_errors = True\n[mypy-tensorrt_bindings.*]\nignore_errors = True\n"
    )
    env = dict(os.environ, MYPYPATH=str(stub_dir))
    cmd = [
        sys.executable, "-m", "mypy", "--config-file", str(config),
        "--no-incremental", "--cache-dir", os.devnull,
        "--ignore-missing-imports", "--follow-imports=silent", "--check-untyped-defs",
        "--no-error-summary", *map(str, files),
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)


def mypy_available() -> bool:
    """True when mypy can be imported."""
    return importlib.util.find_spec("mypy") is not None
