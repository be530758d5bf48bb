"""Which files are taken, network shares, and the lazy watchdog import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hcd_edge.watch.events import EventSource, WatchdogMissing, is_network_share, mount_type
from hcd_edge.watch.selection import FileKind, Selection, parse_patterns, scan_files


def test_patterns_pick_patches_and_slides_case_insensitively():
    selection = Selection()
    assert selection.kind(Path("/in/a.TIF")) is FileKind.PATCH
    assert selection.kind(Path("/in/a.tiff")) is FileKind.PATCH
    assert selection.kind(Path("/in/case.SVS")) is FileKind.SLIDE
    assert selection.kind(Path("/in/case.ndpi")) is FileKind.SLIDE
    assert selection.kind(Path("/in/notes.txt")) is None
    assert selection.kind(Path("/in/a.tif.part")) is None
    assert selection.kind(Path("/in/.a.tif")) is None  # temporary names are hidden


def test_path_patterns_route_pyramidal_tiffs_to_the_slide_code():
    selection = Selection(slide_patterns=("*.svs", "*/slides/*.tiff"))
    assert selection.kind(Path("/in/slides/case.tiff")) is FileKind.SLIDE
    assert selection.kind(Path("/in/patches/p.tiff")) is FileKind.PATCH


def test_parse_patterns_splits_and_refuses_empty():
    assert parse_patterns(" *.tif, *.svs ,") == ("*.tif", "*.svs")
    with pytest.raises(ValueError, match="names no file pattern"):
        parse_patterns(" , ")


def test_scan_skips_hidden_folders_and_the_excluded_one(tmp_path):
    for name in ("a.tif", "sub/b.tif", ".staging/c.tif", "out/d.tif", "e.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = list(scan_files(tmp_path, Selection(), exclude=(tmp_path / "out").resolve()))
    assert found == [tmp_path / "a.tif", tmp_path / "sub" / "b.tif"]


def test_mount_type_takes_the_longest_mount_point(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda / ext4 rw 0 0\n"
                      "server:/scans /mnt/scans nfs4 rw 0 0\n"
                      "//nas/share /mnt/scans\\040smb cifs rw 0 0\n")
    assert mount_type(Path("/mnt/scans/today"), mounts) == "nfs4"
    assert mount_type(Path("/mnt/scans smb/x"), mounts) == "cifs"
    assert mount_type(Path("/mnt/scansX"), mounts) == "ext4"
    assert mount_type(Path("/x"), tmp_path / "missing") is None


def test_a_local_folder_is_not_a_network_share(tmp_path):
    assert not is_network_share(tmp_path)


def test_without_watchdog_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "watchdog", None)
    monkeypatch.setitem(sys.modules, "watchdog.events", None)
    monkeypatch.setitem(sys.modules, "watchdog.observers", None)
    source = EventSource(tmp_path, lambda path: True)
    with pytest.raises(WatchdogMissing, match=r"pip install 'hcd-edge\[watch\]'"):
        source.start()


def test_the_watch_package_imports_without_watchdog():
    import subprocess

    code = ("import sys; sys.modules['watchdog'] = None; import hcd_edge.watch, hcd_edge.cli.watch; "
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
