"""DIR/results.csv: score's CSV columns plus the file's path and the time it was scored.

Rows are appended per batch and flushed before the state database records them (see state.py);
on opening, anything past the committed length (rows of a batch the database never recorded,
or half a line from a crash) is cut off.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from hcd_edge.errors import DataError
from hcd_edge.score.output import CSV_HEADER
from hcd_edge.watch.rows import Row
from hcd_edge.watch.state import StateDb

RESULTS_FILE = "results.csv"
RESULTS_HEADER = (*CSV_HEADER, "path", "scored_at")

log = logging.getLogger("hcd_edge.watch")


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. 2026-12-02T09:01:02.123Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ResultsCsv:
    """results.csv opened for appending, cut back to what the state database recorded."""

    def __init__(self, path: Path, state: StateDb):
        self.path = Path(path)
        self.dropped_bytes = 0  # bytes cut off on opening (rows the database never recorded)
        try:
            self._fh = self._open(state)
        except OSError as exc:
            raise DataError(f"cannot open {self.path} for appending: {exc}") from exc
        state.set_csv_bytes(self.size)

    def _open(self, state: StateDb):
        committed = state.csv_bytes()
        size = self.path.stat().st_size if self.path.exists() else 0
        if size:
            _check_header(self.path)
        fh = open(self.path, "r+b" if size else "wb")  # noqa: SIM115 - closed by close()
        if size == 0:
            fh.write(HEADER_BYTES)
            size = len(HEADER_BYTES)
        if committed is None:
            if size > len(HEADER_BYTES):
                log.warning("%s exists but the state database is new: appending to it (files "
                            "already in it are scored again)", self.path)
        elif size < committed:
            log.warning("%s holds %d bytes, the state database recorded %d (a power cut, or an "
                        "edit): the files whose rows are missing are scored again",
                        self.path, size, committed)
            committed = state.forget_rows_past(size, len(HEADER_BYTES))
        if committed is not None and size > committed:
            self.dropped_bytes = size - committed
            log.warning("%s: cutting %d bytes of rows the state database never recorded (an "
                        "interrupted batch; those files are scored again)", self.path, size - committed)
            fh.truncate(committed)
        fh.seek(0, os.SEEK_END)
        fh.flush()
        return fh

    @property
    def size(self) -> int:
        """Bytes written so far (the length to commit)."""
        return self._fh.tell()

    def append(self, rows: Sequence[Row], scored_at: str) -> int:
        """Append rows with their path and time and flush; returns the new length in bytes."""
        records = [(r.id, r.probability, r.label, r.status, r.message, r.path, scored_at) for r in rows]
        self._fh.write(_encode(records))
        self._fh.flush()
        return self._fh.tell()

    def close(self) -> None:
        """fsync and close the file; idempotent."""
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


def _encode(records) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(records)
    return text.getvalue().encode("utf-8")


HEADER_BYTES = _encode([RESULTS_HEADER])


def _check_header(path: Path) -> None:
    """Refuse to append to a CSV that is not a watch's results file (e.g. a `score` output)."""
    with open(path, "rb") as fh:
        first = fh.readline()
    if first != HEADER_BYTES:
        raise DataError(
            f"{path} is not a results file of hcd-edge watch (its first line is {first[:80]!r}); "
            "give --out another folder, or move the file away"
        )
