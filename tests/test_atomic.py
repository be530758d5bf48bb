"""hcd_edge.atomic: which targets are renamed over, which are written straight, which refused."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from hcd_edge.atomic import TargetKind, atomic_binary, atomic_path, target_kind, write_text_atomic
from hcd_edge.errors import DataError


def test_regular_and_new_files_are_replaced_devices_and_fifos_are_streams(tmp_path):
    (tmp_path / "f").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    assert target_kind(tmp_path / "f") is TargetKind.FILE
    assert target_kind(tmp_path / "new") is TargetKind.FILE
    assert target_kind(tmp_path / "fifo") is TargetKind.STREAM
    assert target_kind("/dev/null") is TargetKind.STREAM
    assert target_kind("/dev/stdout") is TargetKind.STREAM
    assert target_kind("/proc/self/fd/2") is TargetKind.STREAM


def test_folders_and_sockets_are_refused(tmp_path):
    with pytest.raises(DataError, match="a folder"):
        target_kind(tmp_path)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        with pytest.raises(DataError, match="a socket"):
            target_kind(tmp_path / "s")


def test_a_stream_is_appended_to_never_replaced(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        with atomic_binary(tmp_path / "fifo") as fh:
            fh.write(b"row\n")
        assert os.read(reader, 100) == b"row\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)
    with pytest.raises(DataError, match="device or FIFO"), atomic_path(tmp_path / "fifo"):
        pass


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "model.onnx"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name != target.name
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise ValueError
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_link_keeps_pointing_at_its_replaced_target(tmp_path):
    (tmp_path / "real").write_text("old")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    write_text_atomic(tmp_path / "link", "new")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real").read_text() == "new"
