"""One run per output at a time: an flock on FILE.lock beside the output, naming its holder.

The lock file holds the holder's pid, host and start time (JSON), so a second run with the
same --out (or a --resume while the first run is alive) says who has it and stops. The lock
is the kernel's flock: it goes away with the process, even after kill -9, so a stale FILE.lock
never blocks a later run. The holder removes the file when done; a run that finds the file it
locked already replaced or removed (by a holder finishing at that instant) locks again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from hcd_edge.errors import DataError, OutputLocked

LOCK_ATTEMPTS = 5  # retries when the lock file is replaced between open and flock


def lock_path(out: Path) -> Path:
    """FILE.lock beside the output FILE."""
    return out.with_name(out.name + ".lock")


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold the lock on `out` for the block; OutputLocked names the live holder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (the atomic rename still keeps files whole)
        yield lock_path(out)
        return
    path = lock_path(out)
    fd = _acquire(path, fcntl)
    try:
        _write_holder(fd)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _acquire(path: Path, fcntl) -> int:
    for _ in range(LOCK_ATTEMPTS):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise DataError(f"cannot create the lock file {path}: {exc.strerror}; remove it if it "
                            "is not a file, or choose another --out") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLocked(
                f"{path.name[: -len('.lock')]} is being written by another hcd-edge run "
                f"({holder}; lock {path}); wait for it to finish, or choose another --out"
            ) from None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the holder removed the file between our open and flock: try again
    raise OutputLocked(f"could not lock {path}: it keeps being replaced by another run")


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _write_holder(fd: int) -> None:
    holder = {"pid": os.getpid(), "host": os.uname().nodename,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
        return f"pid {holder['pid']} on host {holder['host']}, started {holder['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown: it has not written its name yet"
