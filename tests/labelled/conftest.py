"""Fixtures for labelled-set and split tests."""

from __future__ import annotations

import pytest

from tests.builders.patchgen import write_patch_fixture


@pytest.fixture(scope="session")
def labelled(tmp_path_factory):
    """60 patches in the Kaggle layout."""
    return write_patch_fixture(tmp_path_factory.mktemp("labelled") / "data", n=60, flip=0.0)
