"""Dropping patches into a watched folder, running a watch in a thread or a process, reading rows."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tifffile

from hcd_edge.watch import WatchReport, WatchRequest, watch
from tests.builders.patchgen import make_patches

REPO = Path(__file__).resolve().parents[2]


def patch_bytes(n: int, seed: int = 3) -> list[bytes]:
    """n distinct 96x96 RGB TIFF patch files, as bytes (27,935 each)."""
    pixels, _ = make_patches(n, seed)
    files = []
    for img in pixels:
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, img, photometric="rgb")
        files.append(buffer.getvalue())
    return files


def drop(folder: Path, names: list[str], payloads: list[bytes]) -> list[Path]:
    """Write names[i] with payloads[i % len(payloads)] directly (not renamed into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        path.write_bytes(payloads[i % len(payloads)])
        paths.append(path)
    return paths


def read_rows(out: Path) -> list[dict]:
    """The rows of OUT/results.csv as dicts (header checked)."""
    path = out / "results.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["id", "probability", "label", "status", "message", "path",
                                     "scored_at"]
        return list(reader)


def rows_per_path(out: Path) -> Counter:
    """How many rows each path has in OUT/results.csv."""
    return Counter(row["path"] for row in read_rows(out))


def wait_until(condition, timeout: float, what: str, poll: float = 0.05) -> None:
    """Poll condition() until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def count_rows(out: Path) -> int:
    """Rows in OUT/results.csv (header excluded), counted cheaply."""
    path = out / "results.csv"
    return max(path.read_bytes().count(b"\n") - 1, 0) if path.exists() else 0


@dataclass
class RunningWatch:
    """A watch running in a thread of this process (see running_watch)."""

    stop: threading.Event
    thread: threading.Thread
    outcome: dict = field(default_factory=dict)

    @property
    def report(self) -> WatchReport:
        """The WatchReport (after the block), re-raising the watch's exception if it failed."""
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["report"]


@contextlib.contextmanager
def running_watch(request: WatchRequest, start_timeout: float = 30) -> Iterator[RunningWatch]:
    """Run watch(request) in a thread until the block ends (then stop it and join)."""
    stop = threading.Event()
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["report"] = watch(request, stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised by RunningWatch.report
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-watch", daemon=True)
    thread.start()
    running = RunningWatch(stop, thread, outcome)
    wait_until(lambda: (request.out / "health.json").exists() or not thread.is_alive(),
               start_timeout, "the watch to start")
    try:
        yield running
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the watch did not stop"
    running.report  # noqa: B018 - raises the watch's exception, if any


def watch_process(incoming: Path, out: Path, engine: Path, *extra: str) -> subprocess.Popen:
    """`python -m hcd_edge watch INCOMING --out OUT --engine ENGINE ...` as a child process."""
    args = [sys.executable, "-m", "hcd_edge", "watch", str(incoming), "--out", str(out),
            "--engine", str(engine), "--threads", "1", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
