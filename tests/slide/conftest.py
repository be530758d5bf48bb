"""Fixtures for slide tests: a private cache, the tiny engine, generated slides."""

from __future__ import annotations

import pytest

from tests.score.helpers import make_tiny_engine
from tests.slide.slides import blank, tissue_patches, write_pyramid

pytest.importorskip("openslide", reason="the slide extra (openslide-python, openslide-bin) is not installed")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Default engines go inside the test's tmp_path."""
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory):
    """An FP32 ORT engine folder of the tiny CNN, threshold 0.2."""
    return make_tiny_engine(tmp_path_factory.mktemp("engine") / "tiny-fp32", threshold=0.2)


@pytest.fixture(scope="session")
def tissue_slide(tmp_path_factory):
    """A 1,024 x 1,536 two-level slide at 0.972 um/px: tissue in [256, 640) x [320, 896), glass elsewhere."""
    image = blank(1024, 1536)
    patches = tissue_patches(24)
    for k, patch in enumerate(patches):
        y, x = 256 + (k // 6) * 96, 320 + (k % 6) * 96
        image[y : y + 96, x : x + 96] = patch
    path = tmp_path_factory.mktemp("slides") / "tissue.tif"
    return write_pyramid(path, image, mpp=0.972), image
