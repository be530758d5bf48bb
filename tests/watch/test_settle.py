"""SettleTracker: when a file counts as complete (times given explicitly, no sleeping)."""

from __future__ import annotations

import os

import pytest

from hcd_edge.watch.settle import SettleTracker


def test_a_scanned_file_is_ready_once_unchanged_for_settle_seconds(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x" * 10)
    tracker = SettleTracker(2.0)
    tracker.offer(path, now=100.0)
    assert tracker.pop_ready(101.9) == [] and len(tracker) == 1
    (ready,) = tracker.pop_ready(102.0)
    assert (ready.path, ready.size) == (path, 10) and len(tracker) == 0


def test_a_file_still_growing_waits_for_settle_after_its_last_change(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x" * 10)
    tracker = SettleTracker(2.0)
    tracker.offer(path, now=100.0)
    path.write_bytes(b"x" * 20)  # grew before the first check
    assert tracker.pop_ready(102.0) == []  # changed: the clock restarts at 102
    assert tracker.next_due() == pytest.approx(104.0)
    assert tracker.pop_ready(103.9) == []
    assert [v.size for v in tracker.pop_ready(104.0)] == [20]


def test_an_event_restarts_the_clock_and_the_last_event_decides(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x")
    tracker = SettleTracker(1.0)
    tracker.offer(path, now=10.0, changed=True)
    tracker.offer(path, now=10.8, changed=True)
    assert tracker.pop_ready(11.5) == []
    assert len(tracker.pop_ready(11.8)) == 1


def test_a_scan_does_not_restart_the_clock_of_a_pending_file(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x")
    tracker = SettleTracker(1.0)
    tracker.offer(path, now=10.0)
    tracker.offer(path, now=10.9)  # a rescan finds it again: same file, same clock
    assert len(tracker.pop_ready(11.0)) == 1


def test_renamed_files_are_ready_at_once_and_vanished_ones_are_dropped(tmp_path):
    kept, gone = tmp_path / "a.tif", tmp_path / "b.tif"
    kept.write_bytes(b"x")
    gone.write_bytes(b"y")
    tracker = SettleTracker(60.0)
    tracker.offer(gone, now=0.0)
    tracker.renamed(kept)
    assert tracker.next_due() == 0.0
    assert [v.path for v in tracker.pop_ready(0.0)] == [kept]
    os.remove(gone)
    assert tracker.pop_ready(61.0) == [] and len(tracker) == 0


def test_forget_and_folders_are_never_ready(tmp_path):
    path, folder = tmp_path / "a.tif", tmp_path / "dir.tif"
    path.write_bytes(b"x")
    folder.mkdir()
    tracker = SettleTracker(0.5)
    tracker.offer(path, now=0.0)
    tracker.offer(folder, now=0.0)
    tracker.forget(path)
    assert tracker.pop_ready(10.0) == [] and len(tracker) == 0


def test_negative_settle_is_refused():
    with pytest.raises(ValueError, match="settle"):
        SettleTracker(-1)
