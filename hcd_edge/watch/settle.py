"""Deciding when a dropped file is complete: renamed into place, or unchanged for --settle seconds.

A writer that is still copying changes the file's size or modification time; a file whose
(size, mtime) has not changed for `settle` seconds of our own observation is taken. A file
renamed into place (the usual "write to a temporary name, then rename") is complete at once.
Checks are scheduled per file on a heap, so a burst of ten thousand files costs one stat per
file per settle period, not a rescan.
"""

from __future__ import annotations

import heapq
import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileVersion:
    """One version of a file: a replaced file (new size or mtime) is a new version."""

    path: Path
    size: int  # bytes
    mtime_ns: int  # modification time, ns since the epoch


_UNKNOWN = -1  # size / mtime not looked at yet (the file changed under a file event)


@dataclass
class _Pending:
    size: int  # bytes at the last look, or _UNKNOWN
    mtime_ns: int
    since: float  # monotonic seconds when (size, mtime_ns) was first seen unchanged
    due: float  # monotonic seconds of the next check


class SettleTracker:
    """Files seen but not yet complete; pop_ready() hands over those that are."""

    def __init__(self, settle: float):
        if settle < 0:
            raise ValueError(f"settle must be >= 0 seconds, got {settle}")
        self.settle = settle
        self._pending: dict[Path, _Pending] = {}
        self._heap: list[tuple[float, str, Path]] = []  # (due, str(path), path); stale entries skipped
        self._renamed: list[Path] = []

    def __len__(self) -> int:
        return len(self._pending) + len(self._renamed)

    def offer(self, path: Path, now: float, *, changed: bool = False) -> None:
        """A file was seen by a scan (changed=False) or changed under a file event (changed=True).

        A scanned file is taken once a later look finds its size and mtime unchanged after
        `settle` seconds. A changed file is taken `settle` seconds after its last event: a
        writer still writing keeps sending events (inotify one per write, the polling observer
        one per poll, which is shorter than any sensible settle), so no stat is needed per event.
        """
        entry = self._pending.get(path)
        if entry is not None and not changed:
            return
        if changed:
            size = mtime_ns = _UNKNOWN
        else:
            version = _stat(path)
            if version is None:
                self.forget(path)
                return
            size, mtime_ns = version.size, version.mtime_ns
        due = now + self.settle
        self._pending[path] = _Pending(size, mtime_ns, now, due)
        heapq.heappush(self._heap, (due, str(path), path))

    def renamed(self, path: Path) -> None:
        """A file was renamed into place: complete at the next pop_ready()."""
        self._pending.pop(path, None)
        self._renamed.append(path)

    def forget(self, path: Path) -> None:
        """The file went away (deleted, or renamed to another name)."""
        self._pending.pop(path, None)

    def next_due(self) -> float | None:
        """Monotonic seconds of the earliest check, None when nothing waits."""
        if self._renamed:
            return 0.0
        return self._heap[0][0] if self._heap else None

    def pop_ready(self, now: float) -> list[FileVersion]:
        """Versions of the files that are complete now (renamed, or unchanged for settle seconds)."""
        ready = [v for v in map(_stat, self._renamed) if v is not None]
        self._renamed.clear()
        while self._heap and self._heap[0][0] <= now:
            due, _, path = heapq.heappop(self._heap)
            entry = self._pending.get(path)
            if entry is None or entry.due != due:
                continue  # forgotten, or re-offered with a later due time
            version = self._check(path, entry, now)
            if version is not None:
                ready.append(version)
        return ready

    def _check(self, path: Path, entry: _Pending, now: float) -> FileVersion | None:
        version = _stat(path)
        if version is None:
            del self._pending[path]
            return None
        if entry.size == _UNKNOWN:  # changed under an event, none since: settled
            del self._pending[path]
            return version
        if (version.size, version.mtime_ns) != (entry.size, entry.mtime_ns):
            entry.size, entry.mtime_ns, entry.since = version.size, version.mtime_ns, now
        if now - entry.since >= self.settle:
            del self._pending[path]
            return version
        entry.due = entry.since + self.settle
        heapq.heappush(self._heap, (entry.due, str(path), path))
        return None


def _stat(path: Path) -> FileVersion | None:
    """The version of a regular file (links followed), None when it is gone or not a file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileVersion(path, st.st_size, st.st_mtime_ns)


def file_version(path: Path) -> FileVersion | None:
    """The current version of a regular file, None when it is gone or not a regular file."""
    return _stat(path)
