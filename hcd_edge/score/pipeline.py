"""The scoring pipeline: a ring of K batch slots; decoders fill slots while the engine runs another.

    decode workers (W threads): take a free slot -> take the next chunk of paths ->
                    decode_batch(paths, slot.host) -> TTA in place -> post on the board
    caller thread:  take from the board, in input order -> executor.submit -> (up to max_in_flight)
                    -> collect -> free slot -> yield BatchResult (input order)

Decoding is spread over the configured threads as W workers each decoding whole batches
(decode_batch releases the GIL), so no batch waits for the slowest file of another and no
thread is started per batch. A worker takes a slot before it takes a chunk, so the lowest
chunks always hold slots and the ring cannot deadlock.

When inference is free (a GPU), the caller thread waits for the decoders. It then wakes once
per WAKE_ROWS decoded rows, not once per batch: each wake-up of a sleeping thread costs tens of
microseconds of CPU and preempts a decoder (at batch 64 on 2 cores, waking per batch cost the
caller 0.65 us a patch more, with 3x the context switches). The caller takes whatever is
decoded without waiting, so a slow engine never waits for a group; a worker that finds the
free slots used up wakes the caller at once. (An iterable of inputs that blocks for long holds
back the results of up to a group decoded before.)

The ring starts with W + 2 slots (one per worker, one running, one being collected), enough
when the engine is the slower stage. Each time the caller had to wait for decoding it adds a
slot, up to W + 1 plus one per batch of a wake-up group (W + 2 when a batch holds WAKE_ROWS
rows; W + 5 at 64 rows), so the workers go on decoding while the caller works through a group.
A slow engine's ring stays small: at batch 64 the three more slots cost 21 MB, and a fixed
ring of 7 measured ~3% slower than one of 4 with an INT8 CPU engine.

The executor is used only from the thread that iterates `run()`, which should be the thread
that opened it (a CUDA context belongs to one thread; the TensorRT executor also makes its
context current around each call). Slot memory is allocated once: K x rows inputs, whatever
the number of files, and paths are pulled from the iterable lazily. An exception in a decode
worker is re-raised in the caller's thread when its batch's turn comes, naming its files.

`run(items, fill=...)` takes other inputs than files: `fill(items, rows)` writes the batch's
rows and returns their statuses (whole-slide scoring fills slots with patches cut in memory);
the items are pulled lazily by the workers (one at a time), so reading them overlaps inference
too. A fill may be called from several workers at once, on different batches.

`keep_slots` keeps the ring between run() calls (a service scoring batch after batch);
close() frees it. hcd_edge.distributed runs the same batches on Ray workers (BatchPipeline).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from hcd_edge.backends.base import Executor, Slot, sigmoid
from hcd_edge.decode import DecodeStats, decode_batch, default_threads
from hcd_edge.errors import DecodeError, EngineError, HcdEdgeError
from hcd_edge.score.tta import Tta, average, expand_in_place

DEFAULT_BATCH = 64  # patches per batch
DEFAULT_SLOTS = None  # None: decode workers + 2, growing by the batches of a wake-up (see above)
WAKE_ROWS = 256  # decoded rows per wake-up of a waiting caller thread
MAX_WAKE_BATCHES = 4  # at most this many batches per wake-up (slots are per batch)
MAX_DECODE_WORKERS = 4  # beyond this, each worker decodes with a native pool (slot memory stays bounded)
_POLL_SECONDS = 0.1  # how often a blocked decode thread checks whether it was stopped

# fill(items, rows) -> int32 statuses: writes rows[:len(items)] (a slot's host rows) in place.
SlotFill = Callable[[Sequence, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PipelineConfig:
    """Shape of the ring: patches per batch, slots, decoder threads, test-time augmentation."""

    batch: int = DEFAULT_BATCH
    slots: int | None = DEFAULT_SLOTS  # None: decode workers + 2, growing to `ring`; else fixed
    decode_threads: int | None = None  # None = all cores
    tta: Tta = Tta.NONE
    keep_slots: bool = False  # keep the ring between run() calls (a service); close() frees it

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {self.batch}")
        if self.slots is not None and self.slots < 2:
            raise ValueError(f"the ring needs at least 2 slots to overlap stages, got {self.slots}")

    @property
    def threads(self) -> int:
        """Decoder threads in all."""
        return self.decode_threads or default_threads()

    @property
    def wake_batches(self) -> int:
        """Decoded batches a waiting caller thread lets gather before it wakes."""
        return max(1, min(MAX_WAKE_BATCHES, WAKE_ROWS // (self.batch * self.tta.transforms)))

    @property
    def ring(self) -> int:
        """Slots in the ring at most."""
        if self.slots is not None:
            return self.slots
        return self.first_slots + self.wake_batches - 1  # a slot per batch of a wake-up beyond one

    @property
    def first_slots(self) -> int:
        """Slots in the ring when a run starts (it grows to `ring` while decoding is the slower stage)."""
        if self.slots is not None:
            return self.slots
        return min(self.threads, MAX_DECODE_WORKERS) + 2

    @property
    def workers(self) -> int:
        """Decode worker threads: one per decoder thread, leaving a slot to the engine."""
        return max(1, min(self.threads, MAX_DECODE_WORKERS, self.ring - 1))


@dataclass
class StageSeconds:
    """Seconds spent per stage (stages overlap, so they may sum to more than the wall time)."""

    list: float = 0.0  # listing and sorting the inputs (filled in by the caller)
    decode: float = 0.0  # decode_batch and TTA transforms, summed over the decode workers
    copy: float = 0.0  # host<->device copies (GPU backends; 0 on CPU)
    inference: float = 0.0  # engine compute
    write: float = 0.0  # rows appended to the partial log (filled in by the caller)
    render: float = 0.0  # output files formatted, live or from the log (filled in by the caller)
    wait: float = 0.0  # caller blocked waiting for a decoded slot (decode not hidden)

    def to_dict(self) -> dict:
        """Rounded seconds per stage, JSON-ready."""
        return {k: round(v, 4) for k, v in asdict(self).items()}


@dataclass
class BatchResult:
    """One batch of results, in input order."""

    start: int  # index of paths[0] in the input sequence
    paths: list  # the batch's inputs: patch paths, or the items given to run(items, fill=...)
    statuses: np.ndarray  # int32 (n,): decode status, 0 = scored
    probabilities: np.ndarray  # float64 (n,): NaN where status != 0

    def __len__(self) -> int:
        return len(self.paths)


def joined_results(results: Sequence[BatchResult]) -> BatchResult:
    """Consecutive BatchResults as one (one is returned as it is)."""
    if len(results) == 1:
        return results[0]
    return BatchResult(results[0].start, [p for r in results for p in r.paths],
                       np.concatenate([r.statuses for r in results]),
                       np.concatenate([r.probabilities for r in results]))


@dataclass
class _Decoded:
    slot: Slot
    start: int
    paths: list
    statuses: np.ndarray
    rows: int


@dataclass
class _Failed:
    error: BaseException
    paths: list

    def exception(self) -> HcdEdgeError:
        what = f"{len(self.paths)} files starting at {self.paths[0]}" if self.paths else "the input paths"
        return DecodeError(f"decoding {what} failed: {type(self.error).__name__}: {self.error}")


_END = object()


class _Board:
    """Decoded batches posted by the workers for the caller thread, which wakes once per group.

    take() returns at once whatever is posted; with nothing posted it sleeps until `wake_batches`
    batches are, or a worker ended or failed, or a worker found the free slots used up (it
    could then post no more until the caller frees some, so waiting longer would deadlock).
    """

    def __init__(self, wake_batches: int, free: queue.Queue):
        self.wake_batches, self._free = wake_batches, free
        self._posted: list[tuple] = []  # (start, _Decoded | _Failed | _END)
        self._wake = False
        self._changed = threading.Condition(threading.Lock())

    def post(self, start: int | None, item: object) -> None:
        """Hand over a worker's batch (or its _END / _Failed)."""
        with self._changed:
            self._posted.append((start, item))
            if (len(self._posted) >= self.wake_batches or not isinstance(item, _Decoded)
                    or self._free.empty()):
                self._wake = True
                self._changed.notify()

    def take(self) -> tuple[list[tuple], bool]:
        """(everything posted so far, at least one item, in the order posted; whether it waited)."""
        with self._changed:
            waited = not self._posted  # else the caller is awake anyway: no reason to wait
            if waited:
                while not self._wake:
                    self._changed.wait()
            posted, self._posted, self._wake = self._posted, [], False
            return posted, waited


@dataclass
class _RunState:
    chunks: Iterator[tuple[int, list]]
    fill: SlotFill
    board: _Board
    free: queue.Queue
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_chunk(self) -> tuple[int, list] | None:
        """The next (start, paths) chunk, or None at the end; one worker at a time."""
        with self.lock:
            return next(self.chunks, None)


class BatchPipeline(Protocol):
    """What a scoring run needs of a pipeline: ordered batches of results and its accounting.

    ScoringPipeline runs batches here; hcd_edge.distributed's RayPipeline runs them on workers.
    """

    config: PipelineConfig
    rows: int  # engine rows per batch
    times: StageSeconds
    decode_stats: DecodeStats

    def run(self, paths: Iterable) -> Iterator[BatchResult]:
        """BatchResults covering `paths` (path strings or Paths), in input order."""
        ...


class ScoringPipeline:
    """Scores a stream of patch paths with one executor through a ring of slots."""

    def __init__(self, executor: Executor, config: PipelineConfig | None = None):
        self.executor = executor
        self.config = config or PipelineConfig()
        count = self.config.tta.transforms
        self.patches_per_batch = min(self.config.batch, executor.max_batch // count)
        if self.patches_per_batch < 1:
            raise EngineError(
                f"--tta {self.config.tta.value} scores {count} rows per patch but the engine's "
                f"maximum batch is {executor.max_batch}; rebuild it with a larger --batch MAX"
            )
        self.rows = self.patches_per_batch * count
        self.times = StageSeconds()
        self.decode_stats = DecodeStats()
        self._stats_lock = threading.Lock()
        workers = self.config.workers
        self._threads_per_worker = max(1, -(-self.config.threads // workers))
        self._kept: list[Slot] = []  # the ring kept between runs when config.keep_slots

    def close(self) -> None:
        """Free a ring kept between runs (config.keep_slots); idempotent."""
        kept, self._kept = self._kept, []
        for slot in kept:
            self.executor.release_slot(slot)

    def run(self, paths: Iterable, fill: SlotFill | None = None) -> Iterator[BatchResult]:
        """Yield BatchResults covering `paths` in order; slots are freed when the iterator ends
        (or kept for the next run with config.keep_slots).

        paths are patch files decoded with decode_batch, unless `fill` is given: then they are
        any items, and fill(items, rows) writes their rows and returns int32 statuses (0 = ok).
        """
        free: queue.Queue = queue.Queue()
        state = _RunState(_chunks(paths, self.patches_per_batch), fill or self._decode_files,
                          _Board(self.config.wake_batches, free), free)
        slots = self._kept or [self.executor.make_slot(i, self.rows) for i in range(self.config.first_slots)]
        if self.config.keep_slots:
            self._kept = slots
        for slot in slots:
            free.put(slot)
        self._mark_executor_times()
        workers = [threading.Thread(target=self._decode_loop, args=(state,),
                                    name=f"hcd-edge-decode-{i}", daemon=True)
                   for i in range(self.config.workers)]
        for worker in workers:
            worker.start()
        try:
            yield from self._inference_loop(state, len(workers), slots)
        finally:
            state.stop.set()
            for worker in workers:
                worker.join()
            if not self.config.keep_slots:
                for slot in slots:
                    self.executor.release_slot(slot)

    # -- decode workers ------------------------------------------------------------------

    def _decode_loop(self, state: _RunState) -> None:
        start: int = -1
        chunk: list = []
        try:
            while True:
                slot = _take(state.free, state.stop)
                if slot is None:
                    return
                taken = state.next_chunk()
                if taken is None:
                    state.free.put(slot)
                    break
                start, chunk = taken
                state.board.post(start, self._decode_into(slot, start, chunk, state.fill))
            state.board.post(None, _END)
        except BaseException as exc:  # noqa: BLE001 - surfaces in the caller's thread, which raises it
            state.board.post(start, _Failed(exc, chunk))

    def _decode_into(self, slot: Slot, start: int, chunk: list, fill: SlotFill) -> _Decoded:
        k = len(chunk)
        began = time.perf_counter()
        statuses = fill(chunk, slot.host[:k])
        rows = expand_in_place(slot.host, k, self.config.tta, self.executor.spec.layout)
        with self._stats_lock:
            self.times.decode += time.perf_counter() - began
        return _Decoded(slot, start, chunk, np.asarray(statuses, dtype=np.int32), rows)

    def _decode_files(self, paths: Sequence, rows: np.ndarray) -> np.ndarray:
        """Decode patch files into rows (the default fill); counts which road each file took."""
        spec, stats = self.executor.spec, DecodeStats()
        statuses = decode_batch(paths, rows, mean=spec.mean, std=spec.std,
                                threads=self._threads_per_worker, stats=stats)
        with self._stats_lock:
            self.decode_stats.native += stats.native
            self.decode_stats.fallback += stats.fallback
            self.decode_stats.failed += stats.failed
        return statuses

    # -- caller thread -------------------------------------------------------------------

    def _inference_loop(self, state: _RunState, workers: int, slots: list[Slot]) -> Iterator[BatchResult]:
        in_flight: deque[_Decoded] = deque()
        depth = max(1, min(self.executor.max_in_flight, len(slots) - 1))
        for item in _in_order(state.board, workers, self.times, lambda: self._grow(slots, state)):
            if isinstance(item, _Failed):
                raise item.exception() from item.error
            self._guarded(self.executor.submit, item, item.slot, item.rows)
            in_flight.append(item)
            if len(in_flight) >= depth:
                yield self._collect(in_flight.popleft(), state)
        while in_flight:
            yield self._collect(in_flight.popleft(), state)

    def _collect(self, item: _Decoded, state: _RunState) -> BatchResult:
        logits = self._guarded(self.executor.collect, item, item.slot)
        state.free.put(item.slot)
        self._read_executor_times()
        k = len(item.paths)
        probabilities = average(sigmoid(logits), k, self.config.tta)
        if item.statuses.any():
            probabilities[item.statuses != 0] = np.nan
        return BatchResult(item.start, item.paths, item.statuses, probabilities)

    def _grow(self, slots: list[Slot], state: _RunState) -> None:
        """One more slot, up to config.ring: the caller waited, so decoding is the slower stage."""
        if len(slots) < self.config.ring:
            slot = self.executor.make_slot(len(slots), self.rows)
            slots.append(slot)  # released with the others (or kept, with keep_slots)
            state.free.put(slot)

    def _guarded(self, call, item: _Decoded, *args):
        try:
            return call(*args)
        except HcdEdgeError:
            raise
        except Exception as exc:  # backend-specific types (onnxruntime, pycuda, TensorRT)
            raise EngineError(
                f"inference failed on the batch of {len(item.paths)} patches {item.paths[0]} … "
                f"{item.paths[-1]}: {type(exc).__name__}: {exc}"
            ) from exc

    def _mark_executor_times(self) -> None:
        # The executor's totals may include earlier work (warm-up, an earlier run).
        times = self.executor.times
        self._copy_base = times.h2d + times.d2h - self.times.copy
        self._compute_base = times.compute - self.times.inference

    def _read_executor_times(self) -> None:
        times = self.executor.times
        self.times.copy = times.h2d + times.d2h - self._copy_base
        self.times.inference = times.compute - self._compute_base


def _in_order(board: _Board, workers: int, times: StageSeconds,
              waited_for_decoding: Callable[[], None]) -> Iterator[_Decoded | _Failed]:
    """Decoded slots in input order (workers finish out of order); a failure in its turn.

    waited_for_decoding() is called each time the caller had to wait, after the first batch.
    """
    waiting: dict[int, _Decoded | _Failed] = {}
    expected, ended, failed = 0, 0, None
    while True:
        while expected in waiting:
            item = waiting.pop(expected)
            yield item
            expected += len(item.paths)
        if ended == workers:
            if failed is not None:
                yield failed
            return
        began = time.perf_counter()
        posted, waited = board.take()
        times.wait += time.perf_counter() - began
        if waited and expected > 0:  # waiting for the first batch says nothing about the engine
            waited_for_decoding()
        for start, item in posted:
            if item is _END:
                ended += 1
            elif isinstance(item, _Failed):
                ended += 1  # the worker stopped; its batch comes out in its turn
                if start < 0 or not item.paths:
                    yield item  # not a batch's failure: at once
                    return
                waiting[start] = item
                failed = failed or item
            else:
                waiting[start] = item


def _chunks(paths: Iterable, size: int) -> Iterator[tuple[int, list]]:
    """(start index, up to `size` paths) per batch, pulled lazily from the iterable."""
    iterator, start = iter(paths), 0
    while chunk := list(itertools.islice(iterator, size)):
        yield start, chunk
        start += len(chunk)


def _take(free: queue.Queue, stop: threading.Event) -> Slot | None:
    """The next free slot, or None once the run is stopped."""
    while not stop.is_set():
        try:
            return free.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            continue
    return None
