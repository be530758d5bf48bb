"""Staging: nothing half-written at the output path, existing engines refused without force."""

from __future__ import annotations

import pytest

from hcd_edge.builders.staging import Staging, failed_report_path
from hcd_edge.errors import EngineError


def test_commit_moves_finished_folder_into_place(tmp_path):
    staging = Staging(tmp_path / "eng", force=False)
    with staging as work:
        (work / "manifest.json").write_text("{}")
        staging.commit()
    assert (tmp_path / "eng" / "manifest.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["eng"]


def test_error_inside_removes_the_temporary_folder(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), Staging(tmp_path / "eng", force=False) as work:
        (work / "half.plan").write_bytes(b"12")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force_and_must_be_an_engine(tmp_path):
    out = tmp_path / "eng"
    out.mkdir()
    with pytest.raises(EngineError, match="--force"), Staging(out, force=False):
        pass
    with pytest.raises(EngineError, match="not an engine folder"), Staging(out, force=True):
        pass
    assert out.is_dir()


def test_force_replaces_an_engine_and_clears_a_stale_failure_report(tmp_path):
    out = tmp_path / "eng"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    failed_report_path(out).write_text("{}")
    staging = Staging(out, force=True)
    with staging as work:
        (work / "manifest.json").write_text("new")
        staging.commit()
    assert (out / "manifest.json").read_text() == "new" and not failed_report_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eng"]
