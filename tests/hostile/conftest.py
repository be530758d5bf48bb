"""Fixtures for the hostile-input suite: a tiny engine, a few patches, a private cwd and cache."""

from __future__ import annotations

import pytest

from tests.score.helpers import make_tiny_engine, write_patch_folder

N_PATCHES = 12


@pytest.fixture(autouse=True)
def one_batch_per_log_line(monkeypatch):
    """Hand every batch to the log writer alone, as a slow engine does: these tests count the
    partial file's lines as batches (grouped hand-offs: tests/score/test_handoff.py)."""
    from hcd_edge.score import run as score_run

    monkeypatch.setattr(score_run, "HANDOFF_SECONDS", 0.0)


@pytest.fixture(autouse=True)
def _private_cwd(tmp_path, monkeypatch):
    """Each test runs in its own folder with its own cache and no starter-model override."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HCD_EDGE_STARTER_MODEL", raising=False)


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """An FP32 ORT engine folder of the tiny CNN (threshold 0.2); tests must not change it."""
    return make_tiny_engine(tmp_path_factory.mktemp("hostile-engine") / "tiny", threshold=0.2)


@pytest.fixture()
def patches(tmp_path):
    """A fresh folder of N_PATCHES readable patches (tests may add hostile files to it)."""
    folder = tmp_path / "patches"
    write_patch_folder(folder, N_PATCHES)
    return folder


@pytest.fixture()
def own_engine(tmp_path, engine):
    """A private copy of the engine, for tests that tamper with it."""
    import shutil

    return shutil.copytree(engine, tmp_path / "engine-copy")
