"""The one way hcd-edge writes a file it was asked to create: whole or not at all.

A regular target (or a new one) is written under a unique temporary name in its own folder,
fsynced, given the mode the umask allows, renamed onto the target and the folder fsynced, so a
crash leaves the old file or the new one, never half of one. A target that is a stream (a
character device such as /dev/null or /dev/full, a FIFO, a link under /dev such as /dev/stdout,
anything under /proc) is written straight, in append mode (a shell's `>>` file keeps its lines),
since renaming over it would replace the device node with a plain file.
Directories, sockets and block devices are refused. A symbolic link to a regular file keeps
the link: its target is replaced.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import BinaryIO, TextIO

from hcd_edge.errors import DataError


class TargetKind(str, Enum):
    """How a path may be written."""

    FILE = "file"  # absent or a regular file: temporary name + rename
    STREAM = "stream"  # a character device or FIFO: written straight, no temporary file


def target_kind(target: Path) -> TargetKind:
    """FILE or STREAM for `target`; DataError for a directory, socket or block device."""
    path = os.path.abspath(target)
    if path.startswith("/proc/") or (path.startswith("/dev/") and os.path.islink(path)):
        return TargetKind.STREAM  # /dev/stdout, /dev/fd/N, /proc/self/fd/N: never renamed over
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return TargetKind.FILE  # new file (or a dangling link: its target is created)
    except OSError as exc:
        raise DataError(f"cannot write {target}: {exc.strerror}") from exc
    if stat.S_ISREG(mode):
        return TargetKind.FILE
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return TargetKind.STREAM
    raise DataError(f"{target} is {_describe(mode)}, not a file; give a file name to write")


def replace_path(target: Path) -> Path:
    """The path a FILE target's rename lands on: a symbolic link's final target, else target."""
    target = Path(target)
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def remove_leftover_temporaries(target: Path) -> int:
    """Delete the temporary files that killed writers of `target` left beside it; how many.

    Call it only while holding the target's lock (hcd_edge.output_lock): no live writer then
    owns one. The names are those atomic_path makes: '.NAME.' + mkstemp's 8 characters + '.tmp'.
    """
    final = replace_path(target)
    folder = final.parent if str(final.parent) else Path(".")
    removed = 0
    for path in folder.glob(f".{glob.escape(final.name)}.{'?' * 8}.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside `target` for tools that write by name (torch.save, export).

    When the block succeeds the file is fsynced, given the umask's mode and renamed onto the
    target; when it fails the temporary file is removed and the target is untouched.
    """
    if target_kind(target) is TargetKind.STREAM:
        raise DataError(f"{target} is a device or FIFO; give a regular file name")
    final = replace_path(target)
    folder = final.parent if str(final.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_text(target: Path) -> Iterator[TextIO]:
    """A UTF-8 text file (newline='') whose content becomes `target` when the block succeeds;
    a stream (device, FIFO) is opened and written straight instead."""
    if target_kind(target) is TargetKind.STREAM:
        with open(target, "a", encoding="utf-8", newline="") as fh:
            yield fh
        return
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        yield fh


@contextlib.contextmanager
def atomic_binary(target: Path) -> Iterator[BinaryIO]:
    """A binary file whose content becomes `target` when the block succeeds (streams: straight)."""
    if target_kind(target) is TargetKind.STREAM:
        with open(target, "ab") as fh:
            yield fh
        return
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        yield fh


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write bytes to target whole or not at all (see the module docstring)."""
    with atomic_binary(target) as fh:
        fh.write(data)


def write_text_atomic(target: Path, text: str) -> None:
    """Write UTF-8 text to target whole or not at all (see the module docstring)."""
    write_bytes_atomic(target, text.encode("utf-8"))


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: set and restore (not thread-safe, only on other OSes)
    os.umask(mask)
    return mask


def _publish(tmp: Path, final: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fchmod(fh.fileno(), 0o666 & ~current_umask())
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    _fsync_folder(final.parent if str(final.parent) else Path("."))


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"
