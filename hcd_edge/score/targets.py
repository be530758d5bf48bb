"""What a scoring run will write, checked before anything is read: nothing it was not asked to
create is ever overwritten.

The files a run writes (--out, FILE.errors.csv for kaggle, --summary, and FILE.partial /
FILE.lock beside --out) must each be distinct and must not be, by path, hard link or symbolic
link, any input patch, input list, or file of the engine folder / starter model. An --out that
is a stream (/dev/null, /dev/stdout, a FIFO) is written straight: no FILE.partial beside it, so
no --resume, and no kaggle (its FILE.errors.csv would go beside a device).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hcd_edge.atomic import TargetKind, target_kind
from hcd_edge.errors import DataError, UsageError
from hcd_edge.output_lock import lock_path
from hcd_edge.score.output import OutputFormat, check_output_path, errors_path
from hcd_edge.score.partial import partial_path
from hcd_edge.score.sources import FolderPaths


@dataclass(frozen=True)
class RunTargets:
    """The checked outputs of a run."""

    out: Path
    stream: bool  # --out is a device or FIFO: written straight, no partial file, lock or resume
    summary: Path | None


def check_targets(out: Path, fmt: OutputFormat, summary: Path | None, resume: bool,
                  protected: Iterable[Path], patches: Iterable[str] = ()) -> RunTargets:
    """RunTargets after the checks above; UsageError (exit 2) or DataError (exit 1) otherwise."""
    stream = not out.is_dir() and target_kind(out) is TargetKind.STREAM
    if not stream:  # a device's folder (/dev) need not be writable
        check_output_path(out)
    if stream and fmt is OutputFormat.KAGGLE:
        raise UsageError(f"--out {out} is a device or FIFO, but --format kaggle also writes "
                         f"{errors_path(out).name} beside it; give a file name")
    if stream and resume:
        raise UsageError(f"--out {out} is a device or FIFO: nothing is kept to resume from")
    if summary is not None:
        _check_summary(summary)
    named = [("--out", out)]
    if fmt is OutputFormat.KAGGLE:
        named.append(("--out's errors file", errors_path(out)))
    if summary is not None:
        named.append(("--summary", summary))
    if not stream:
        named += [("--out's partial file", partial_path(out)), ("--out's lock file", lock_path(out))]
    _check_distinct(named)
    check_not_inputs(named, protected, patches)
    return RunTargets(out=out, stream=stream, summary=summary)


def check_partial_slot(partial: Path) -> None:
    """DataError when FILE.partial exists but is not a regular file (a folder, a dangling link)."""
    if not os.path.lexists(partial):
        return
    if partial.is_symlink() or not partial.is_file():
        what = "a symbolic link" if partial.is_symlink() else "not a regular file"
        raise DataError(f"{partial} is {what}, so it cannot hold this run's saved rows; "
                        "move it away and run again")


def _check_summary(summary: Path) -> None:
    if summary.is_dir():
        raise DataError(f"--summary {summary} is a folder; give a file name, e.g. {summary / 'summary.json'}")
    folder = summary.parent if str(summary.parent) else Path(".")
    if not folder.is_dir():
        raise DataError(f"--summary {summary}: the folder {folder} does not exist; create it first")
    if target_kind(summary) is TargetKind.FILE and not os.access(folder, os.W_OK):
        raise DataError(f"--summary {summary}: the folder {folder} is not writable")


class _Identity:
    """How two paths are compared: the same file (device, inode), or the same resolved path."""

    def __init__(self) -> None:
        self.inodes: dict[tuple[int, int], str] = {}
        self.paths: dict[str, str] = {}

    def add(self, path: Path, label: str) -> None:
        try:
            st = os.stat(path)
            self.inodes.setdefault((st.st_dev, st.st_ino), label)
        except OSError:  # missing or a dangling link: compare where it points
            self.paths.setdefault(os.path.realpath(path), label)

    def find(self, path: Path) -> str | None:
        try:
            st = os.stat(path)
        except OSError:
            return self.paths.get(os.path.realpath(path))
        return self.inodes.get((st.st_dev, st.st_ino)) or self.paths.get(os.path.realpath(path))


def _check_distinct(named: list[tuple[str, Path]]) -> None:
    seen = _Identity()
    for label, path in named:
        if target_kind(path) is TargetKind.STREAM:
            continue  # e.g. --out /dev/null --summary /dev/null: both written straight
        clash = seen.find(path)
        if clash is not None:
            raise UsageError(f"{label} {path} is the same file as {clash}; give each its own name")
        seen.add(path, f"{label} {path}")
        seen.paths.setdefault(os.path.realpath(path), f"{label} {path}")


def check_not_inputs(named: list[tuple[str, Path]], protected: Iterable[Path],
                     patches: Iterable[str] = ()) -> None:
    """UsageError when a (label, path) to be written is, by path or link, one of `protected`
    (a few files, each compared by device and inode) or of `patches` (the inputs, any number).

    The patches are compared by resolved path, with the resolved folders cached: no stat per
    patch, so an existing --out costs milliseconds on 300,000 inputs, not seconds. A patch that
    is a symbolic link to an output is not caught that way; it is not a patch but a link to a
    file the user asked to overwrite. An output with other hard links is compared by inode
    with every patch.
    """
    existing = [(label, path) for label, path in named if os.path.lexists(path)]
    if not existing:
        return  # nothing to be written exists yet, so no input can be it (not even by a link)
    inputs = _Identity()
    for path in protected:
        inputs.add(path, str(path))
    if any(_hard_linked(path) for _, path in existing):
        for patch in patches:
            inputs.add(Path(patch), patch)
        patches = ()
    for label, path in existing:
        clash = inputs.find(path)
        if clash is not None:
            raise UsageError(f"{label} {path} is the input {clash}: it would be overwritten; "
                             "write the output somewhere else")
    _check_patches({os.path.realpath(path): label for label, path in existing}, patches)


def _hard_linked(path: Path) -> bool:
    try:
        return os.stat(path).st_nlink > 1
    except OSError:
        return False


def _check_patches(targets: dict[str, str], patches: Iterable[str]) -> None:
    folders: dict[str, str] = {}  # folder as given -> resolved
    names = {os.path.basename(t) for t in targets}
    if isinstance(patches, FolderPaths):  # one folder: only the targets' names can clash
        patches = [patches.prefix + n for n in sorted(names.intersection(patches.names))]
    for patch in patches:
        folder, _, name = patch.rpartition("/")
        if name not in names:
            continue  # cheaper than resolving: an output can only be a patch of the same name
        if folder not in folders:
            folders[folder] = os.path.realpath(folder or ".")
        resolved = os.path.join(folders[folder], name)
        if resolved in targets:
            label = targets[resolved]
            raise UsageError(f"{label} {resolved} is the input {patch}: it would be "
                             "overwritten; write the output somewhere else")
