"""Fixtures for score tests: a private cache, a tiny engine, clean and messy patch folders."""

from __future__ import annotations

import pytest

from tests.score.helpers import make_tiny_engine, write_bad_inputs, write_patch_folder


@pytest.fixture(autouse=True)
def one_batch_per_log_line(monkeypatch):
    """Hand every batch to the log writer alone, as a slow engine does: these tests count the
    partial file's lines as batches (grouped hand-offs: tests/score/test_handoff.py)."""
    from hcd_edge.score import run as score_run

    monkeypatch.setattr(score_run, "HANDOFF_SECONDS", 0.0)


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory):
    """An FP32 ORT engine folder of the tiny CNN, threshold 0.2."""
    return make_tiny_engine(tmp_path_factory.mktemp("engine") / "tiny-fp32", threshold=0.2)


@pytest.fixture(scope="session")
def good_folder(tmp_path_factory):
    """45 readable generated patches."""
    folder = tmp_path_factory.mktemp("good") / "patches"
    write_patch_folder(folder, 45)
    return folder


@pytest.fixture(scope="session")
def messy_folder(tmp_path_factory):
    """10 good patches plus one of every kind of bad input (see write_bad_inputs)."""
    folder = tmp_path_factory.mktemp("messy") / "patches"
    write_patch_folder(folder, 10)
    write_bad_inputs(folder)
    return folder
