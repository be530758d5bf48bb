"""The watch's memory: a SQLite database in the output folder, one record per file path.

A record holds the version scored last (size, mtime) and its status, so a restart, a crash or
a reboot neither rescores nor skips a file, and a replaced file (new size or mtime) is scored
again. The database also holds how many bytes of results.csv are committed: rows are appended
to the CSV (and flushed) first and recorded here second, in one transaction, so after a kill -9
between the two the CSV is cut back to the committed length and those files are scored again:
every version ends up with exactly one row. After a power cut the CSV may instead have lost
its newest rows (no fsync per batch: it would cost more than scoring on a slow disk); each
record keeps the CSV length its row ends at, so the records past what survived are dropped
and those files are scored again too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hcd_edge.errors import DataError
from hcd_edge.watch.settle import FileVersion

STATE_FILE = "watch-state.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL,          -- 'scored' | 'failed' (an error row was written)
    row_status INTEGER NOT NULL,   -- the row's status code (0 = scored)
    scored_at TEXT NOT NULL,
    csv_end INTEGER NOT NULL       -- results.csv length once the row's batch was appended
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_CSV_BYTES = "results_csv_bytes"


@dataclass(frozen=True)
class Outcome:
    """What was recorded for one file version."""

    version: FileVersion
    row_status: int  # 0 = scored, else the error row's status
    scored_at: str  # ISO 8601 UTC


class StateDb:
    """The state database of one output folder; use from one thread, close() when done."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives a process crash; after a power cut the newest commits may
            # roll back, which only means those files are scored again (the CSV is cut back too).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"cannot open the watch state database {self.path}: {exc}; move it away to start "
                "over (files already in results.csv would then be scored again)"
            ) from exc

    def close(self) -> None:
        """Close the database; idempotent."""
        self._db.close()

    def is_recorded(self, version: FileVersion) -> bool:
        """True when this exact version (path, size, mtime) already has its row."""
        row = self._db.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (str(version.path),)
        ).fetchone()
        return row is not None and (row[0], row[1]) == (version.size, version.mtime_ns)

    def recorded_among(self, versions: Sequence[FileVersion]) -> set[FileVersion]:
        """The versions that already have their row (one query per 500, not one per file)."""
        found: set[FileVersion] = set()
        for start in range(0, len(versions), 500):
            chunk = {str(v.path): v for v in versions[start : start + 500]}
            marks = ",".join("?" * len(chunk))
            query = f"SELECT path, size, mtime_ns FROM files WHERE path IN ({marks})"
            for path, size, mtime_ns in self._db.execute(query, list(chunk)):
                version = chunk[path]
                if (version.size, version.mtime_ns) == (size, mtime_ns):
                    found.add(version)
        return found

    def csv_bytes(self) -> int | None:
        """Committed length of results.csv in bytes; None before the first commit."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_CSV_BYTES,)).fetchone()
        return None if row is None else int(row[0])

    def set_csv_bytes(self, size: int) -> None:
        """Record the committed length of results.csv (e.g. after writing its header)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CSV_BYTES, size))

    def record(self, outcomes: Sequence[Outcome], csv_bytes: int) -> None:
        """Record scored versions and the CSV length that holds their rows, atomically."""
        rows = [
            (str(o.version.path), o.version.size, o.version.mtime_ns,
             "scored" if o.row_status == 0 else "failed", o.row_status, o.scored_at, csv_bytes)
            for o in outcomes
        ]
        with self._db:  # one transaction: BEGIN ... COMMIT (ROLLBACK on error)
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CSV_BYTES, csv_bytes))

    def forget_rows_past(self, size: int, header_bytes: int) -> int:
        """results.csv holds only `size` bytes: drop the records whose rows lay past it.

        Returns the CSV length to cut back to (the end of the last batch still recorded, at
        least the header), which becomes the committed length.
        """
        row = self._db.execute("SELECT MAX(csv_end) FROM files WHERE csv_end <= ?", (size,)).fetchone()
        keep = max(row[0] or 0, header_bytes)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM files WHERE csv_end > ?", (keep,))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CSV_BYTES, keep))
        return keep

    def counts(self) -> dict[str, int]:
        """Recorded files per status, e.g. {'scored': 10, 'failed': 1}."""
        return dict(self._db.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall())
