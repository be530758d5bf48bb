"""The train extra's torch floor covers every torch API train/ uses."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def train_extra_torch_floor() -> Version:
    text = (ROOT / "pyproject.toml").read_text()
    line = re.search(r"^train = \[(.*)\]$", text, flags=re.MULTILINE).group(1)
    torch = next(Requirement(r.strip().strip('"')) for r in line.split(",") if '"torch' in r)
    return min(Version(s.version) for s in torch.specifier if s.operator == ">=")


def test_torch_amp_grad_scaler_is_covered_by_the_train_extra():
    uses_amp_scaler = "torch.amp.GradScaler" in (ROOT / "train" / "loop.py").read_text()
    assert uses_amp_scaler and train_extra_torch_floor() >= Version("2.3")  # added in torch 2.3
