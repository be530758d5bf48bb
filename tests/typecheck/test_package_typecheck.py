"""The runtime package and the training code type-check with mypy (the config in pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .test_tensorrt_typecheck import needs_mypy

ROOT = Path(__file__).resolve().parents[2]


@needs_mypy
def test_hcd_edge_package_and_train_have_no_mypy_errors():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, "hcd_edge", "train"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
