"""Fixtures for watch tests: a private cache, the tiny engine, patch payloads."""

from __future__ import annotations

import pytest

from tests.score.helpers import make_tiny_engine
from tests.watch.helpers import patch_bytes


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Default engines go inside the test's tmp_path."""
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory):
    """An FP32 ORT engine folder of the tiny CNN (threshold 0.2)."""
    return make_tiny_engine(tmp_path_factory.mktemp("watch-engine") / "tiny-fp32", threshold=0.2)


@pytest.fixture(scope="session")
def payloads():
    """16 distinct patch files as bytes."""
    return patch_bytes(16)
