"""Fixtures for backend tests: a private cache and a Kaggle-like patch folder with a tiny model."""

from __future__ import annotations

import pytest

from tests.builders.patchgen import PatchFixture, write_patch_fixture


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Keep caches and default engine folders inside the test's tmp_path."""
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def patches(tmp_path_factory) -> PatchFixture:
    """160 two-colour patches in the Kaggle layout, labels, and a tiny model."""
    return write_patch_fixture(tmp_path_factory.mktemp("patches"))
