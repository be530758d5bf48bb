"""Fixtures for every test: a private hcd-edge cache, and the Kaggle-like patch folder with a
tiny model that build and backend tests share."""

from __future__ import annotations

import signal

import pytest

from tests.builders.patchgen import PatchFixture, write_patch_fixture


def pytest_sessionstart(session) -> None:
    """SIGINT handled again when the suite was started in a shell's background (`cmd &`), which
    ignores it: the Ctrl-C tests' child processes inherit an ignored SIGINT, and Python then
    never raises KeyboardInterrupt in them."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Default engines and timing caches go inside the test's tmp_path, never ~/.cache."""
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def patches(tmp_path_factory) -> PatchFixture:
    """160 two-colour patches in the Kaggle layout, labels, and a tiny model thresholded between them."""
    return write_patch_fixture(tmp_path_factory.mktemp("patches"))
