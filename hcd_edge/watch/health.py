"""DIR/health.json: what a monitor needs to know, rewritten atomically every few seconds."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from hcd_edge.atomic import write_text_atomic
from hcd_edge.watch.results import utc_now

HEALTH_FILE = "health.json"
HEALTH_SECONDS = 2.0  # how often health.json is rewritten
RATE_WINDOW = 60.0  # seconds over which the scoring rate is averaged


@dataclass
class Health:
    """Counters of one watch session; write() renders them to DIR/health.json."""

    path: Path
    engine: str
    events: str  # how file events arrive: native (inotify) or polling
    started_at: str = field(default_factory=utc_now)
    scored: int = 0  # rows with a probability, this session
    errors: int = 0  # error rows, this session
    skipped: int = 0  # files already recorded in the state database (not rescored)
    last_file: str | None = None
    last_scored_at: str | None = None
    _recent: deque = field(default_factory=deque)  # (monotonic seconds, rows)
    _written: float = float("-inf")
    _began: float = field(default_factory=time.monotonic)

    def add(self, rows: int, errors: int, last_file: str, scored_at: str) -> None:
        """Count a committed batch of rows, errors among them."""
        self.scored += rows - errors
        self.errors += errors
        self.last_file, self.last_scored_at = last_file, scored_at
        self._recent.append((time.monotonic(), rows))

    def rate(self, now: float | None = None) -> float:
        """Rows per second over the last RATE_WINDOW seconds (or since the start, when shorter)."""
        now = time.monotonic() if now is None else now
        while self._recent and self._recent[0][0] < now - RATE_WINDOW:
            self._recent.popleft()
        return sum(n for _, n in self._recent) / max(min(RATE_WINDOW, now - self._began), 1.0)

    def maybe_write(self, queue: int, state: str = "running") -> None:
        """Rewrite health.json when HEALTH_SECONDS have passed since the last write."""
        if time.monotonic() - self._written >= HEALTH_SECONDS:
            self.write(queue, state)

    def write(self, queue: int, state: str = "running") -> None:
        """Rewrite health.json now (atomically: a reader never sees half a file)."""
        self._written = time.monotonic()
        record = {
            "state": state, "pid": os.getpid(), "started_at": self.started_at,
            "updated_at": utc_now(), "engine": self.engine, "events": self.events,
            "last_file": self.last_file, "last_scored_at": self.last_scored_at,
            "queue": queue, "rate_per_second": round(self.rate(), 2),
            "scored": self.scored, "errors": self.errors, "skipped": self.skipped,
        }
        write_text_atomic(self.path, json.dumps(record, indent=2) + "\n")
