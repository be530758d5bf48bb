"""Fixtures for evaluate tests: a Kaggle-layout labelled folder and the tiny engine that fits it."""

from __future__ import annotations

import pytest

from tests.builders.patchgen import write_patch_fixture
from tests.score.helpers import make_tiny_engine


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def labelled(tmp_path_factory):
    """120 patches in the Kaggle layout, 10% of the labels flipped (AUC below 1)."""
    return write_patch_fixture(tmp_path_factory.mktemp("evaluate") / "data", n=120, flip=0.1)


@pytest.fixture(scope="session")
def engine(tmp_path_factory, labelled):
    """The fixture's tiny model as an FP32 ONNX Runtime engine, thresholded between the classes."""
    return make_tiny_engine(tmp_path_factory.mktemp("evaluate-engine") / "tiny",
                            threshold=labelled.threshold)
