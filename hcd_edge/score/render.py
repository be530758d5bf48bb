"""The output files of a run, rendered in input order from the partial log or live as batches finish.

The log is the record: an interrupted run resumes from it, and a resumed run renders its
outputs from it (rows of both runs). A fresh run into a file renders them live instead, in a
thread of their own, from the same rows the log receives and through the same formatting, so
the bytes are the ones a render from the log writes; the output is renamed into place only
when every row is in. Rendering live costs no re-reading of the log and overlaps decoding,
instead of running alone on one core after it.
"""

from __future__ import annotations

import bisect
import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.score.output import OutputFormat, OutputWriter
from hcd_edge.score.partial import iter_partial_batches
from hcd_edge.score.rows import Counts, RowBatch, coalesced, duplicate_rows, format_rows

RENDER_CHUNK = 4096  # rows formatted at a time: numpy work per call amortized, memory bounded


class OutOfOrder(Exception):
    """The logged rows are not in the order of the inputs."""


@dataclass(frozen=True)
class RenderPlan:
    """What the outputs hold: every input in order, duplicates as error rows, labels at a threshold."""

    paths: Sequence[str]  # the run's inputs in order
    duplicates: dict[int, int]  # position -> position of the scored path with that id
    threshold: float
    out: Path
    fmt: OutputFormat

    def write(self, batches: Iterable[RowBatch]) -> Counts:
        """Format `batches` (rows in input order) into the outputs, renamed into place when whole."""
        counts = Counts()
        with OutputWriter.open(self.out, self.fmt) as writer:
            for batch in coalesced(batches, RENDER_CHUNK):
                rows = format_rows(batch, self.threshold)
                counts.add(rows)
                writer.write(rows)
        return counts

    def from_log(self, log: Path) -> Counts:
        """Render from a partial log: streamed when in input order, else sorted in memory."""
        try:
            return self.write(self.in_input_order(iter_partial_batches(log)))
        except OutOfOrder:  # resumed with other inputs (files added or removed)
            return self.write(self._sorted(log))

    def in_input_order(self, logged_batches: Iterable[RowBatch]) -> Iterator[RowBatch]:
        """All rows in input order from batches in input order, the duplicates' rows merged in.

        Raises OutOfOrder when a batch is not the next run of inputs (none of its rows is
        yielded then).
        """
        paths, dup_positions = self.paths, sorted(self.duplicates)
        position = 0
        for logged in logged_batches:
            taken = 0
            while taken < len(logged):
                position, repeats = self._repeats_at(position, dup_positions)
                if repeats is not None:
                    yield repeats
                following = bisect.bisect_left(dup_positions, position)
                stop = dup_positions[following] if following < len(dup_positions) else len(paths)
                count = min(len(logged) - taken, stop - position)
                if count <= 0 or paths[position : position + count] != logged.paths[taken : taken + count]:
                    raise OutOfOrder
                yield logged if count == len(logged) else logged.part(taken, taken + count)
                taken += count
                position += count
        position, repeats = self._repeats_at(position, dup_positions)
        if repeats is not None:
            yield repeats
        if position != len(paths):
            raise OutOfOrder

    def _repeats_at(self, position: int, dup_positions: list[int]) -> tuple[int, RowBatch | None]:
        """(position after the run of duplicates starting at position, their rows or None)."""
        if position not in self.duplicates:
            return position, None
        first = bisect.bisect_left(dup_positions, position)
        last = first
        while last < len(dup_positions) and dup_positions[last] == position + (last - first):
            last += 1
        run = dup_positions[first:last]
        rows = duplicate_rows([self.paths[i] for i in run], [self.paths[self.duplicates[i]] for i in run])
        return position + len(run), rows

    def _sorted(self, log: Path) -> Iterator[RowBatch]:
        """Rows in input order from a log in any order, held in memory."""
        logged: dict[str, tuple[int, int]] = {}
        for batch in iter_partial_batches(log):
            logged.update(zip(batch.paths, zip(batch.millionths.tolist(), batch.statuses.tolist())))
        for position, path in enumerate(self.paths):
            if position in self.duplicates:
                yield duplicate_rows([path], [self.paths[self.duplicates[position]]])
                continue
            if path not in logged:
                raise DataError(f"{log} lacks the row of {path}: was it edited during the run?")
            p, status = logged[path]
            yield RowBatch([path], np.array([p], dtype=np.int64), np.array([status], dtype=np.int32))


class _Aborted(Exception):
    """The run stopped: the live outputs are dropped."""


class LiveRender:
    """Renders a plan's outputs in a thread while the run logs its rows (a fresh run into files).

    put() hands over the rows the log just received; finish() waits for the outputs to be
    renamed into place and returns the counts, or None when rendering live failed (the caller
    then renders from the log, which holds the same rows); abort() drops the outputs.
    """

    _END = object()
    _POLL_SECONDS = 0.1

    def __init__(self, plan: RenderPlan, depth: int = 64):
        self._plan = plan
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stopping = False
        self._counts: Counts | None = None
        self.failed: BaseException | None = None
        self.seconds = 0.0  # spent formatting and writing (overlapping the run)
        self._thread = threading.Thread(target=self._render, name="hcd-edge-render", daemon=True)
        self._thread.start()

    def put(self, rows: RowBatch) -> None:
        """Queue the rows of one logged batch (in input order); a no-op once rendering failed."""
        self._offer(rows, lambda: self.failed is None and not self._stopping)

    def finish(self) -> Counts | None:
        """Wait for the outputs; their counts, or None when live rendering failed."""
        self._put_end()
        self._thread.join()
        return self._counts if self.failed is None else None

    def abort(self) -> None:
        """Stop rendering and drop the outputs' temporary files; idempotent."""
        self._stopping = True
        self._put_end()
        self._thread.join()

    def _put_end(self) -> None:
        self._offer(self._END, self._thread.is_alive)

    def _offer(self, item, wanted) -> None:
        """Queue item, waiting for room while wanted() holds (polled: the render thread may stop)."""
        while wanted():
            try:
                self._queue.put(item, timeout=self._POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _batches(self) -> Iterator[RowBatch]:
        while True:
            try:
                item = self._queue.get(timeout=self._POLL_SECONDS)
            except queue.Empty:
                item = None
            if self._stopping:
                raise _Aborted
            if item is self._END:
                return
            if item is not None:
                began = time.perf_counter()
                yield item
                self.seconds += time.perf_counter() - began

    def _render(self) -> None:
        try:
            self._counts = self._plan.write(self._plan.in_input_order(self._batches()))
        except BaseException as exc:  # noqa: BLE001 - reported by finish(); the log still has every row
            self.failed = exc
            with contextlib.suppress(queue.Empty):
                while True:  # let put() callers go on
                    self._queue.get_nowait()
