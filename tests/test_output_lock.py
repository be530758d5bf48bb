"""hcd_edge.output_lock: one holder per output, named to the next comer, gone when done."""

from __future__ import annotations

import json
import os
import socket

import pytest

from hcd_edge.errors import DataError, OutputLocked
from hcd_edge.output_lock import lock_path, output_lock


def test_the_second_taker_is_told_who_holds_the_lock(tmp_path):
    out = tmp_path / "scores.csv"
    with output_lock(out) as path:
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(OutputLocked, match=f"pid {os.getpid()} on host"), output_lock(out):
            pass
    assert not lock_path(out).exists()
    with output_lock(out):  # free again
        pass


def test_a_stale_lock_file_without_a_holder_does_not_block(tmp_path):
    out = tmp_path / "scores.csv"
    lock_path(out).write_text('{"pid": 999999, "host": "gone", "started": "then"}\n')
    with output_lock(out) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_a_lock_path_that_is_a_link_is_refused(tmp_path):
    out = tmp_path / "scores.csv"
    lock_path(out).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DataError, match="lock file"), output_lock(out):
        pass
    assert not (tmp_path / "elsewhere").exists()
