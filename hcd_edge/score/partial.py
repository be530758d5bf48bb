"""The partial file beside an output (FILE.partial): completed rows, kept so --resume loses nothing.

It is JSON lines: a header naming what the rows depend on (engine, TTA, threshold), then one
line per completed batch, appended and flushed as batches finish; rows are saved in input
order (duplicate-id rows inside the batch line where they belong), so the final outputs
stream from it without holding the rows in memory. A kill can only tear the last line; resuming drops a torn line (its batch is scored again) and appends after the rest.
Whole batches are kept or dropped, so a resumed run cuts the remaining patches into the same
batches an uninterrupted run would have, and the engine sees the same inputs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from hcd_edge.errors import DataError
from hcd_edge.score.rows import Row

PARTIAL_VERSION = 1
FSYNC_SECONDS = 2.0  # a flush reaches the OS at once (survives a kill); fsync guards power loss


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

    def __init__(self, path: Path, fh: TextIO):
        self.path = path
        self._fh = fh
        self._synced = time.monotonic()
        self.rows_written = 0  # by this process

    @classmethod
    def create(cls, path: Path, key: RunKey) -> PartialLog:
        """Start a new partial file (replacing none: the caller checks one is not there)."""
        fh = open(path, "x", encoding="utf-8", newline="\n")  # noqa: SIM115 - owned by the log
        fh.write(json.dumps({"hcd_edge_partial": PARTIAL_VERSION, "key": asdict(key)}) + "\n")
        fh.flush()
        return cls(path, fh)

    @classmethod
    def reopen(cls, path: Path, key: RunKey) -> tuple[PartialLog, set[str]]:
        """Open an existing partial file for appending; returns it and the paths it has rows of."""
        done, end = read_partial(path, key)
        fh = open(path, "r+", encoding="utf-8", newline="\n")  # noqa: SIM115 - owned by the log
        fh.truncate(end)  # drop a torn last line
        fh.seek(end)
        return cls(path, fh), done

    def append(self, rows: list[Row]) -> None:
        """Add one batch of rows and hand it to the OS."""
        if not rows:
            return
        self._fh.write(json.dumps({"rows": [r.to_list() for r in rows]}, ensure_ascii=False) + "\n")
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


def read_partial(path: Path, key: RunKey | None = None) -> tuple[set[str], int]:
    """Paths of the rows in a partial file and the byte length of its intact part.

    Raises DataError when the file is not a partial file or was made with another RunKey.
    """
    done: set[str] = set()
    with open(path, "rb") as fh:
        header = _parse_header(path, fh.readline())
        _check_key(path, header, key)
        end = fh.tell()
        for line in fh:
            batch = _parse_batch(line) if line.endswith(b"\n") else None  # no newline: torn
            if batch is None:
                break
            done.update(r.path for r in batch)
            end += len(line)
    return done, end


def iter_partial_rows(path: Path) -> Iterator[Row]:
    """The rows of an intact partial file, in the order they were saved."""
    with open(path, "rb") as fh:
        _parse_header(path, fh.readline())
        for line in fh:
            batch = _parse_batch(line)
            if batch is None:
                raise DataError(f"{path} has a damaged line; delete it and score again")
            yield from batch


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
        if header.get("hcd_edge_partial") == PARTIAL_VERSION:
            return dict(header["key"])
    except (ValueError, AttributeError, KeyError, TypeError):
        pass
    raise DataError(f"{path} is not an hcd-edge partial file (or a torn one); delete it to start over")


def _parse_batch(line: bytes) -> list[Row] | None:
    try:
        return [Row.from_list(fields) for fields in json.loads(line)["rows"]]
    except (ValueError, KeyError, TypeError):
        return None
