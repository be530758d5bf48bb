"""`hcd-edge watch`: score files as they land in a folder, forever (or once), surviving restarts.

    events (watchdog thread) ─► FileEvent queue ─┐
    scan at start + every --rescan seconds ──────┼─► SettleTracker ─► complete FileVersions
                                                 │      └─ already in the state db? skip
    patches: batched by count (--batch) or age (--batch-window) ─► ScoringPipeline (one engine,
             its slot ring kept open) ─► results.csv (append, fsync) ─► state db (commit)
    slides:  one at a time through the slide code ─► DIR/<slide>/ + one row

Everything but the observer runs in the calling thread, which owns the executor. `stop` (set by
the CLI's SIGTERM handler) ends the loop after the batch in progress is committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.errors import DataError
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.score.sources import patch_ref
from hcd_edge.watch.events import EventKind, EventSource, FileEvent
from hcd_edge.watch.health import HEALTH_FILE, Health
from hcd_edge.watch.results import RESULTS_FILE, ResultsCsv, utc_now
from hcd_edge.watch.rows import Row, batch_rows
from hcd_edge.watch.selection import FileKind, Selection, is_below, scan_files
from hcd_edge.watch.settle import FileVersion, SettleTracker, file_version
from hcd_edge.watch.slides import SlideJob, score_slide_file
from hcd_edge.watch.state import STATE_FILE, Outcome, StateDb

LOCK_FILE = "watch.lock"
GROUP_BATCHES = 32  # batches per pipeline run: enough to overlap decode and inference in a burst
CALIBRATION_FILES = 1024  # patches found at start handed to the default engine's INT8 calibration
_MAX_WAIT = 0.05  # seconds the loop sleeps at most between looks at the event queue

log = logging.getLogger("hcd_edge.watch")


@dataclass(frozen=True)
class WatchRequest:
    """One `hcd-edge watch` service (see the CLI's --help for each option)."""

    incoming: Path
    out: Path
    engine: Path | None = None  # None: the starter model's default engine
    selection: Selection = field(default_factory=Selection)
    settle: float = 2.0  # seconds a file's size and mtime must stay unchanged
    batch_window: float = 0.5  # seconds the first waiting patch waits for a fuller batch
    once: bool = False  # score what is there (once settled) and return
    batch: int | None = None  # patches per batch; None: the engine's optimal batch (manifest)
    threads: int | None = None
    threshold: float | None = None  # None: the engine manifest's threshold
    polling: bool = False  # force the polling observer (network shares are detected anyway)
    rescan: float = 300.0  # seconds between full rescans (catches events the kernel dropped); 0: never
    starter_model: Path | None = None


@dataclass
class WatchReport:
    """What a watch session did."""

    scored: int  # rows with a probability
    errors: int  # error rows
    skipped: int  # files found at start that already had their row
    out: Path


def watch(request: WatchRequest, stop: threading.Event | None = None) -> WatchReport:
    """Score files landing in request.incoming into request.out until `stop` is set (or once)."""
    stop = stop or threading.Event()
    incoming, out = _check_folders(request)
    with _exclusive(out), contextlib.ExitStack() as stack:
        state = StateDb(out / STATE_FILE)
        stack.callback(state.close)
        results = ResultsCsv(out / RESULTS_FILE, state)
        stack.callback(results.close)
        engine = EngineFolder.open(_resolve_engine(request, incoming, out))
        engine_dir, manifest = engine.path, engine.manifest
        threshold = request.threshold if request.threshold is not None else manifest.threshold
        executor = stack.enter_context(engine.executor(threads=request.threads))
        config = PipelineConfig(batch=manifest.batch.chosen(request.batch),
                                decode_threads=request.threads, keep_slots=True)
        pipeline = ScoringPipeline(executor, config)
        stack.callback(pipeline.close)
        log.info("watching %s -> %s with %s (%s %s, threshold %.4f, batch %d)", incoming, out,
                 engine_dir, manifest.precision.value, manifest.backend, threshold, config.batch)
        slides = SlideJob(executor, threshold, dataclasses.replace(config, keep_slots=False), {
            "folder": str(engine_dir), "name": manifest.name, "backend": executor.backend,
            "precision": manifest.precision.value})
        loop = _WatchLoop(request, incoming, out, slides, pipeline, state, results, stop)
        return loop.run()


def _check_folders(request: WatchRequest) -> tuple[Path, Path]:
    incoming = Path(request.incoming)
    if not incoming.is_dir():
        raise DataError(f"INCOMING {incoming} is not a folder")
    out = Path(request.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"--out {out}: cannot create the folder: {exc}") from exc
    if not os.access(out, os.W_OK):
        raise DataError(f"--out {out} is not writable")
    return incoming.resolve(), out.resolve()


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold DIR/watch.lock: two watches writing one results.csv would corrupt it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(out / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise DataError(f"another hcd-edge watch is writing to {out} (it holds "
                            f"{out / LOCK_FILE}); stop it first") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _resolve_engine(request: WatchRequest, incoming: Path, out: Path) -> Path:
    if request.engine is not None:
        return Path(request.engine)
    from itertools import islice

    from hcd_edge.score.default_engine import default_engine

    patches = (p for p in scan_files(incoming, request.selection, exclude=out)
               if request.selection.kind(p) is FileKind.PATCH)
    refs = [patch_ref(p) for p in islice(patches, CALIBRATION_FILES)]
    return default_engine(refs, model=request.starter_model, threads=request.threads).engine_dir


class _WatchLoop:
    """The watch's main loop; owns the tracker, the queues and the counters."""

    def __init__(self, request: WatchRequest, incoming: Path, out: Path, slides: SlideJob,
                 pipeline: ScoringPipeline, state: StateDb, results: ResultsCsv,
                 stop: threading.Event):
        self.request, self.incoming, self.out = request, incoming, out
        self.slide_job, self.threshold, self.pipeline = slides, slides.threshold, pipeline
        self.state, self.results, self.stop = state, results, stop
        self.tracker = SettleTracker(request.settle)
        self.patches: deque[FileVersion] = deque()
        self.slides: deque[FileVersion] = deque()
        self.taken: dict[Path, FileVersion] = {}  # queued or being scored, not yet committed
        self.first_waiting = 0.0  # monotonic seconds the oldest queued patch became ready
        self.source = None if request.once else EventSource(
            incoming, lambda path: self._wanted(path) is not None, polling=request.polling)
        events = "none (--once)" if self.source is None else "pending"
        self.health = Health(out / HEALTH_FILE, engine=slides.engine["folder"], events=events)
        self.last_scan = 0.0

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> WatchReport:
        """Loop until stopped (or, with --once, until everything found at start is scored)."""
        if self.source is not None:
            self.source.start()  # before the scan: a file landing in between is not missed
            self.health.events = self.source.method
        self.health.skipped = self._scan(time.monotonic())
        log.info("%d files waiting at start, %d already scored", len(self.tracker), self.health.skipped)
        try:
            while not self.stop.is_set():
                self._step(time.monotonic())
                if self.request.once and self._queue_length() == 0:
                    break
                self.stop.wait(self._wait_seconds(time.monotonic()))
        finally:
            if self.source is not None:
                self.source.stop()
            self.health.write(self._queue_length(), state="stopped")
        log.info("stopped: %d scored, %d errors this session", self.health.scored, self.health.errors)
        return WatchReport(self.health.scored, self.health.errors, self.health.skipped, self.out)

    def _step(self, now: float) -> None:
        if self.source is not None:
            for event in self.source.drain():
                self._on_event(event, now)
        if self.request.rescan > 0 and now - self.last_scan >= self.request.rescan:
            self._scan(now)
        ready = self.tracker.pop_ready(now)
        recorded = self.state.recorded_among(ready) if ready else set()
        for version in ready:
            if version not in recorded:
                self._take(version, now)
        if self._patches_due(now):
            self._score_patches()
        elif self.slides:
            self._score_slide(self.slides.popleft())
        self.health.maybe_write(self._queue_length())

    def _patches_due(self, now: float) -> bool:
        if not self.patches:
            return False
        if len(self.patches) >= self.pipeline.patches_per_batch:
            return True
        if self.request.once and len(self.tracker) == 0:
            return True
        return now - self.first_waiting >= self.request.batch_window

    def _wait_seconds(self, now: float) -> float:
        wait = _MAX_WAIT
        due = self.tracker.next_due()
        if due is not None:
            wait = min(wait, due - now)
        if self.patches:
            wait = min(wait, self.first_waiting + self.request.batch_window - now)
        return max(wait, 0.001)

    def _queue_length(self) -> int:
        return len(self.tracker) + len(self.patches) + len(self.slides)

    # -- finding files ----------------------------------------------------------------------

    def _wanted(self, path: Path) -> FileKind | None:
        kind = self.request.selection.kind(path)
        if kind is None or is_below(path, self.out) or _in_hidden_folder(path, self.incoming):
            return None
        return kind

    def _on_event(self, event: FileEvent, now: float) -> None:
        # A folder created or moved in needs no scan here: watchdog reports the files in it
        # (created / moved events of their own), and --rescan catches anything it missed.
        if event.kind is EventKind.GONE:
            self.tracker.forget(event.path)
        elif event.kind is EventKind.RENAMED:  # (the observer passes only wanted paths)
            self.tracker.renamed(event.path)
        elif event.kind is EventKind.CHANGED:
            self.tracker.offer(event.path, now, changed=True)

    def _scan(self, now: float) -> int:
        """Offer every taken file not yet recorded; returns how many were already recorded."""
        self.last_scan, recorded = now, 0
        for path in scan_files(self.incoming, self.request.selection, exclude=self.out):
            version = file_version(path)
            if version is None or self.taken.get(path) == version:
                continue
            if self.state.is_recorded(version):
                recorded += 1
            else:
                self.tracker.offer(path, now)
        return recorded

    def _take(self, version: FileVersion, now: float) -> None:
        kind = self.request.selection.kind(version.path)  # wanted: events and scans filter
        if kind is None or self.taken.get(version.path) == version:
            return  # (recorded versions were dropped by the caller)
        self.taken[version.path] = version  # supersedes an older version still waiting
        if kind is FileKind.SLIDE:
            self.slides.append(version)
            return
        if not self.patches:
            self.first_waiting = now
        self.patches.append(version)

    # -- scoring ----------------------------------------------------------------------------

    def _score_patches(self) -> None:
        count = min(len(self.patches), self.pipeline.patches_per_batch * GROUP_BATCHES)
        popped = [self.patches.popleft() for _ in range(count)]
        # a file replaced while it waited is scored once, as its newest version
        group = [v for v in popped if self.taken.get(v.path) == v]
        if self.patches:
            self.first_waiting = time.monotonic()
        done = 0
        try:
            for result in self.pipeline.run(v.path for v in group):
                versions = group[result.start : result.start + len(result)]
                rows = batch_rows(result, [patch_ref(v.path) for v in versions], self.threshold)
                self._commit(rows, versions)
                done = result.start + len(result)
                self.health.maybe_write(self._queue_length() + len(group) - done)
                if self.stop.is_set():
                    break  # SIGTERM: this batch is committed; the rest are scored after a restart
        finally:
            for version in group[done:]:
                self.taken.pop(version.path, None)

    def _score_slide(self, version: FileVersion) -> None:
        if self.taken.get(version.path) != version:
            return  # replaced while it waited: its newest version is queued too
        log.info("slide %s: scoring into %s", version.path, self.out)
        try:
            row = score_slide_file(version.path, self.out, self.slide_job)
        finally:
            self.taken.pop(version.path, None)
        self._commit([row], [version])

    def _commit(self, rows: list[Row], versions: list[FileVersion]) -> None:
        scored_at = utc_now()
        size = self.results.append(rows, scored_at)
        self.state.record([Outcome(v, r.status, scored_at) for r, v in zip(rows, versions)], size)
        errors = [r for r in rows if not r.ok]
        self.health.add(len(rows), len(errors), rows[-1].path, scored_at)
        for version in versions:
            self.taken.pop(version.path, None)
        for row in errors[:5]:
            log.warning("not scored (status %d): %s", row.status, row.message)
        log.info("%d rows (%d errors), last %s", len(rows), len(errors), rows[-1].path)


def _in_hidden_folder(path: Path, incoming: Path) -> bool:
    """True when a folder between incoming and path is hidden (.staging/ and the like)."""
    text, prefix = str(path), str(incoming).rstrip(os.sep) + os.sep
    inside = text.removeprefix(prefix)
    return any(part.startswith(".") for part in inside.split(os.sep)[:-1])
