"""The partial file beside an output (FILE.partial): completed batches, kept so --resume loses nothing.

It is JSON lines, pure ASCII: a header naming what the rows depend on (engine, TTA, threshold,
batch), then one line per hand-off of finished batches (one batch, or several consecutive
whole batches when they come faster than every 20 ms: hcd_edge.score.run), appended and
flushed as it comes:
`{"path": [...], "p": [millionths or null, ...], "status": [...]}` with the exact path
strings (undecodable bytes as `\\udcNN` escapes). Duplicate-id rows are not logged: they
follow from the inputs. The outputs are formatted from this log, in input order, so an
interrupted run resumes to the same bytes as an uninterrupted one.

A kill can only tear the last line (it lacks its newline): resuming drops it (its batch is
scored again). Every other line is checked on resume, row by row; a line that is not what
hcd-edge writes (an edit, a damaged disk) makes the resume refuse, naming the line. Whole
batches are kept or dropped, so a resumed run cuts the remaining patches into the same
batches an uninterrupted run would have, and the engine sees the same inputs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.score.rows import ROW_STATUSES, RowBatch, RowStatus

PARTIAL_VERSION = 2
FSYNC_SECONDS = 2.0  # a flush reaches the OS at once (survives a kill); fsync guards power loss
_KEYS = frozenset({"path", "p", "status"})
_LINE_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps would build one per line


def partial_path(out: Path) -> Path:
    """FILE.partial beside the output FILE."""
    return out.with_name(out.name + ".partial")


@dataclass(frozen=True)
class RunKey:
    """What the rows of a partial file depend on; a resumed run must match it."""

    engine_sha256: str
    tta: str
    threshold: float
    batch: int  # patches per batch, so resumed batches line up with an uninterrupted run's

    def describe(self) -> str:
        """One line, e.g. for an error message."""
        return (f"engine {self.engine_sha256[:12]}…, --tta {self.tta}, --threshold {self.threshold}, "
                f"--batch {self.batch}")


class PartialLog:
    """An open partial file, appended one batch of rows per line."""

    def __init__(self, path: Path, fh: BinaryIO):
        self.path = path
        self._fh = fh
        self._synced = time.monotonic()
        self.rows_written = 0  # by this process

    @classmethod
    def create(cls, path: Path, key: RunKey) -> PartialLog:
        """Start a new partial file (replacing none: the caller checks one is not there)."""
        fh = open(path, "xb")  # noqa: SIM115 - owned by the log
        fh.write(json.dumps({"hcd_edge_partial": PARTIAL_VERSION, "key": asdict(key)}).encode() + b"\n")
        fh.flush()
        return cls(path, fh)

    @classmethod
    def reopen(cls, path: Path, key: RunKey) -> tuple[PartialLog, set[str]]:
        """Open an existing partial file for appending; returns it and the paths it has rows of."""
        done, end = read_partial(path, key)
        fh = open(path, "r+b")  # noqa: SIM115 - owned by the log
        fh.truncate(end)  # drop a torn last line
        fh.seek(end)
        return cls(path, fh), done

    def append(self, rows: RowBatch) -> None:
        """Add the rows of one pipeline batch (see engine_rows) and hand them to the OS."""
        if not len(rows):
            return
        self._fh.write(batch_line(rows))
        self._fh.flush()
        self.rows_written += len(rows)
        if time.monotonic() - self._synced > FSYNC_SECONDS:
            os.fsync(self._fh.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        """Flush and close; idempotent."""
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()


def batch_line(rows: RowBatch) -> bytes:
    """The log line of a batch of engine rows (ASCII JSON, newline-terminated)."""
    p = rows.millionths.tolist()
    if (rows.statuses != 0).any():
        p = [x if x >= 0 else None for x in p]
    record = {"path": rows.paths, "p": p, "status": rows.statuses.tolist()}
    return (_LINE_ENCODER.encode(record) + "\n").encode("ascii")


def read_partial(path: Path, key: RunKey | None = None) -> tuple[set[str], int]:
    """Paths of the rows in a partial file and the byte length of its intact part.

    Every complete line is checked; raises DataError naming the line when one is not what
    hcd-edge writes, or when the file is not a partial file or was made with another RunKey.
    """
    done: set[str] = set()
    with open(path, "rb") as fh:
        header = _parse_header(path, fh.readline())
        _check_key(path, header, key)
        end = fh.tell()
        for number, line in enumerate(fh, start=2):
            if not line.endswith(b"\n"):
                break  # torn by a kill: scored again
            done.update(checked_batch(line, path, number).paths)
            end += len(line)
    return done, end


def iter_partial_batches(path: Path) -> Iterator[RowBatch]:
    """The batches of a partial file this run wrote or checked, in the order they were saved."""
    with open(path, "rb") as fh:
        _parse_header(path, fh.readline())
        for line in fh:
            record = json.loads(line)
            p = record["p"]
            if None in p:
                p = [-1 if x is None else x for x in p]
            yield RowBatch(record["path"], np.array(p, dtype=np.int64),
                           np.array(record["status"], dtype=np.int32))


def checked_batch(line: bytes, path: Path, number: int) -> RowBatch:
    """The RowBatch of one log line, every row checked; DataError names the line and the fault."""
    try:
        record = json.loads(line)
    except ValueError:
        _refuse(path, number, "is not JSON")
    if not isinstance(record, dict) or set(record) != _KEYS:
        _refuse(path, number, f"has the fields {sorted(record) if isinstance(record, dict) else record!r}")
    paths, p, status = record["path"], record["p"], record["status"]
    if not all(isinstance(c, list) for c in (paths, p, status)) or not len(paths) == len(p) == len(status):
        _refuse(path, number, "has columns of different lengths")
    for i, (name, prob, code) in enumerate(zip(paths, p, status)):
        fault = _row_fault(name, prob, code)
        if fault:
            _refuse(path, number, f"row {i + 1}: {fault}")
    millionths = np.array([-1 if x is None else x for x in p], dtype=np.int64)
    return RowBatch(paths, millionths, np.array(status, dtype=np.int32))


def _row_fault(name, prob, code) -> str | None:
    if not isinstance(name, str) or not name:
        return f"path {name!r} is not a file name"
    if type(code) is not int or code not in ROW_STATUSES or code == RowStatus.DUPLICATE_ID:
        return f"status {code!r} is not a row status"
    if code == 0:
        if type(prob) is not int or not 0 <= prob <= 1_000_000:
            return f"probability {prob!r} of a scored patch is not millionths in 0..1000000"
    elif prob is not None:
        return f"a failed patch (status {code}) has the probability {prob!r}"
    return None


def _refuse(path: Path, number: int, fault: str) -> NoReturn:
    raise DataError(
        f"{path}:{number} {fault}: the partial file was edited or damaged; delete it and score "
        "again (or restore it)"
    )


def _check_key(path: Path, header: dict, key: RunKey | None) -> None:
    if key is None or header == asdict(key):
        return
    made = RunKey(**header).describe() if set(header) == set(asdict(key)) else str(header)
    raise DataError(
        f"{path} was made by a run with {made}; this run uses {key.describe()}. Resume with "
        f"the same options, or delete {path} to start over"
    )


def _parse_header(path: Path, line: bytes) -> dict:
    try:
        header = json.loads(line)
        version = header.get("hcd_edge_partial")
        if version == PARTIAL_VERSION:
            return dict(header["key"])
    except (ValueError, AttributeError, KeyError, TypeError):
        version = None
    if version is not None:
        raise DataError(f"{path} was written by another hcd-edge version (partial format {version}); "
                        "delete it to start over")
    raise DataError(f"{path} is not an hcd-edge partial file (or a torn one); delete it to start over")
