"""Fixtures for the backend tests: the GPU build tests use the build tests' patch folder."""

from __future__ import annotations

import pytest

from tests.builders.patchgen import PatchFixture, write_patch_fixture


@pytest.fixture(scope="session")
def patches(tmp_path_factory) -> PatchFixture:
    """160 two-colour patches in the Kaggle layout, labels, and a tiny model thresholded between them."""
    return write_patch_fixture(tmp_path_factory.mktemp("patches"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Keep timing caches and default engine folders inside the test's tmp_path."""
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
