"""Fixtures for pipeline tests: a tiny ONNX Runtime engine and a folder of generated patches."""

from __future__ import annotations

import pytest

from tests.score.helpers import make_tiny_engine, write_patch_folder


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory):
    """An FP32 ORT engine folder of the tiny CNN (max batch 256)."""
    return make_tiny_engine(tmp_path_factory.mktemp("engine") / "tiny-fp32")


@pytest.fixture(scope="session")
def patch_paths(tmp_path_factory):
    """37 generated patches (an odd count, so batches come out partial)."""
    return write_patch_folder(tmp_path_factory.mktemp("patches"), 37)
