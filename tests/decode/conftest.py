"""Fixtures for decode tests: the corpora (built once) and a switch to the tifffile-only road."""

from __future__ import annotations

import os

import pytest

from hcd_edge import decode
from tests.decode import corpus


@pytest.fixture(scope="session")
def valid_cases() -> list[corpus.Case]:
    return corpus.valid_variants()


@pytest.fixture(scope="session")
def fallback_cases() -> list[corpus.Case]:
    return corpus.fallback_variants()


@pytest.fixture(scope="session")
def malformed() -> list[corpus.Case]:
    return corpus.malformed_cases()


@pytest.fixture(params=["native", "tifffile-only"])
def road(request, monkeypatch) -> str:
    """Run a test through the native road and again with the extension switched off."""
    if request.param == "native":
        require_native()
    else:
        monkeypatch.setattr(decode, "_native", None)
    return request.param


def require_native() -> None:
    """Skip (with the reason) only when the extension was deliberately not built."""
    if decode.native_available():
        return
    if os.environ.get("HCD_EDGE_SKIP_NATIVE") == "1":
        pytest.skip("HCD_EDGE_SKIP_NATIVE=1: the native extension was not built")
    pytest.fail(decode.native_unavailable_reason() or "native decoder missing")
