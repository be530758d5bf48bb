"""Shared fixtures for build tests: a Kaggle-like patch folder, a tiny model, built engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hcd_edge.builders import BuildRequest, build_engine
from hcd_edge.spec import Precision


@pytest.fixture(scope="session")
def int8_engine(tmp_path_factory, patches) -> Path:
    """An ONNX Runtime INT8 engine folder built once (copy it before changing it)."""
    out = tmp_path_factory.mktemp("built") / "tiny-int8"
    request = BuildRequest(
        onnx=patches.model,
        precision=Precision.INT8,
        out=out,
        backend="onnxruntime",
        calib=patches.root,
        calib_n=32,
        activation_form="uint8",
    )
    return build_engine(request).engine_dir


@pytest.fixture()
def int8_copy(int8_engine, tmp_path) -> Path:
    """A private copy of the INT8 engine folder."""
    return Path(shutil.copytree(int8_engine, tmp_path / int8_engine.name))
