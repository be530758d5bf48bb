"""File-system events from `watchdog`: inotify on Linux, polling on network shares or on request.

The observer's thread only turns events into FileEvents on a queue; the watch's own loop drains
the queue, so all decisions (settle, state, scoring) happen in one thread. Inotify cannot see
changes another machine makes on an NFS or SMB share, so a folder on such a file system is
polled; `--polling` forces it, and polling is also the fallback when inotify cannot start.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from hcd_edge.errors import HcdEdgeError

NETWORK_FILE_SYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph",
                        "glusterfs", "fuse.glusterfs", "lustre", "davfs", "fuse.rclone"}
POLL_SECONDS = 1.0  # the polling observer's rescan interval

log = logging.getLogger("hcd_edge.watch")


class WatchdogMissing(HcdEdgeError):
    """The optional watchdog package is not installed."""


class EventKind(str, Enum):
    """What happened to a path."""

    CHANGED = "changed"  # created, modified or closed after writing
    RENAMED = "renamed"  # renamed (moved) into this path: complete
    GONE = "gone"  # deleted, or renamed away


@dataclass(frozen=True)
class FileEvent:
    """One event for the watch loop."""

    kind: EventKind
    path: Path


def _import_watchdog():
    try:
        from watchdog import events, observers
        from watchdog.observers.polling import PollingObserver
    except ImportError as exc:
        raise WatchdogMissing(
            "hcd-edge watch needs the watchdog package: pip install 'hcd-edge[watch]'"
        ) from exc
    return events, observers.Observer, PollingObserver


class EventSource:
    """Watches a folder (recursively) and queues FileEvents; start(), drain(), stop()."""

    def __init__(self, folder: Path, accept: Callable[[Path], bool], *, polling: bool = False):
        self.folder = Path(folder)
        self.accept = accept  # which file paths are worth an event (runs in the observer thread)
        self.polling = polling or is_network_share(self.folder)
        self.events: queue.SimpleQueue[FileEvent] = queue.SimpleQueue()
        self._observer = None

    @property
    def method(self) -> str:
        """'inotify' (native) or 'polling', once started."""
        return "polling" if self.polling else "native"

    def start(self) -> None:
        """Start the observer thread (falls back to polling when the native one cannot start)."""
        events, native, polling = _import_watchdog()
        handler = _handler_class(events)(self.events, self.accept)
        if not self.polling:
            try:
                self._observer = self._started(native(), handler)
                return
            except OSError as exc:  # e.g. the inotify watch limit (fs.inotify.max_user_watches)
                log.warning("native file events unavailable for %s (%s): polling every %.0f s",
                            self.folder, exc, POLL_SECONDS)
                self.polling = True
        self._observer = self._started(polling(timeout=POLL_SECONDS), handler)

    def _started(self, observer, handler):
        observer.schedule(handler, str(self.folder), recursive=True)
        observer.daemon = True
        observer.start()
        return observer

    def drain(self) -> list[FileEvent]:
        """The events queued since the last drain, in order."""
        drained = []
        while True:
            try:
                drained.append(self.events.get_nowait())
            except queue.Empty:
                return drained

    def stop(self) -> None:
        """Stop and join the observer thread; idempotent."""
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)


def _handler_class(events):
    """A watchdog FileSystemEventHandler subclass (watchdog is imported lazily)."""

    class _Handler(events.FileSystemEventHandler):
        def __init__(self, out: queue.SimpleQueue, accept: Callable[[Path], bool]):
            super().__init__()
            self.out, self.accept = out, accept

        def on_any_event(self, event) -> None:
            if event.is_directory:
                return  # watchdog reports the files of a created or moved folder one by one
            kind = event.event_type
            src = Path(os.fsdecode(event.src_path))
            if kind == "moved":
                self.put(EventKind.GONE, src)
                self.put(EventKind.RENAMED, Path(os.fsdecode(event.dest_path)))
            elif kind in ("created", "modified", "closed"):
                self.put(EventKind.CHANGED, src)
            elif kind == "deleted":
                self.put(EventKind.GONE, src)

        def put(self, kind: EventKind, path: Path) -> None:
            if self.accept(path):
                self.out.put(FileEvent(kind, path))

    return _Handler


def is_network_share(folder: Path) -> bool:
    """True when folder lies on a network file system (per /proc/self/mounts), where inotify is blind."""
    fstype = mount_type(folder)
    return fstype is not None and fstype in NETWORK_FILE_SYSTEMS


def mount_type(folder: Path, mounts: Path = Path("/proc/self/mounts")) -> str | None:
    """The file-system type of the mount holding folder; None when unknown (not Linux)."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return None
    target, best, fstype = os.path.realpath(folder), "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, fields[2]
    return fstype
