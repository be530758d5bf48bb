"""The real Kaggle patches in ../shared/data, for tests marked real_data (skipped when absent)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_patch_dir() -> Path:
    """The unpacked real patch folder (Kaggle layout); skips the test when the data is absent."""
    unpack = SHARED_DATA / "unpack.sh"
    if not unpack.is_file():
        pytest.skip(f"real patches not available: {SHARED_DATA.resolve()} is absent")
    done = subprocess.run(["bash", str(unpack)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{unpack} failed: {done.stderr.strip()}")
    return Path(done.stdout.strip().splitlines()[-1])
