"""The scoring pipeline: a ring of K batch slots; decoding fills one while the engine runs another.

    decode thread:  take a free slot -> decode_batch(paths, slot.host) -> TTA in place -> ready
    caller thread:  ready slot -> executor.submit -> (up to max_in_flight) -> collect -> free slot
                    -> yield BatchResult (input order)

The executor is used only from the thread that iterates `run()`, which should be the thread
that opened it (a CUDA context belongs to one thread; the TensorRT executor also makes its
context current around each call). Slot memory is allocated once: K x rows inputs, whatever
the number of files, and paths are pulled from the iterable lazily. decode_batch and
ONNX Runtime release the GIL, so the two threads overlap on a CPU too. An exception in the
decode thread is re-raised in the caller's thread, naming the files of the batch.

`run(items, fill=...)` takes other inputs than files: `fill(items, rows)` writes the batch's
rows and returns their statuses (whole-slide scoring fills slots with patches cut in memory);
the items are pulled lazily in the decode thread, so reading them overlaps inference too.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from hcd_edge.backends.base import Executor, Slot, sigmoid
from hcd_edge.decode import DecodeStats, decode_batch
from hcd_edge.errors import DecodeError, EngineError, HcdEdgeError
from hcd_edge.score.tta import Tta, average, expand_in_place

DEFAULT_BATCH = 64  # patches per batch
DEFAULT_SLOTS = 3  # one decoding, one ready, one running
_POLL_SECONDS = 0.1  # how often a blocked decode thread checks whether it was stopped

# fill(items, rows) -> int32 statuses: writes rows[:len(items)] (a slot's host rows) in place.
SlotFill = Callable[[Sequence, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PipelineConfig:
    """Shape of the ring: patches per batch, slots, decoder threads, test-time augmentation."""

    batch: int = DEFAULT_BATCH
    slots: int = DEFAULT_SLOTS
    decode_threads: int | None = None  # None = all cores
    tta: Tta = Tta.NONE
    keep_slots: bool = False  # keep the ring between run() calls (a service); close() frees it

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {self.batch}")
        if self.slots < 2:
            raise ValueError(f"the ring needs at least 2 slots to overlap stages, got {self.slots}")


@dataclass
class StageSeconds:
    """Seconds spent per stage (stages overlap, so they may sum to more than the wall time)."""

    decode: float = 0.0  # decode_batch and TTA transforms, in the decode thread
    copy: float = 0.0  # host<->device copies (GPU backends; 0 on CPU)
    inference: float = 0.0  # engine compute
    write: float = 0.0  # result handling by the consumer (filled in by the caller)
    wait: float = 0.0  # caller blocked waiting for a decoded slot (decode not hidden)

    def to_dict(self) -> dict:
        """Rounded seconds per stage, JSON-ready."""
        return {k: round(v, 4) for k, v in asdict(self).items()}


@dataclass
class BatchResult:
    """One batch of results, in input order."""

    start: int  # index of paths[0] in the input sequence
    paths: list  # the batch's inputs: patch Paths, or the items given to run(items, fill=...)
    statuses: np.ndarray  # int32 (n,): decode status, 0 = scored
    probabilities: np.ndarray  # float64 (n,): NaN where status != 0

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class _Decoded:
    slot: Slot
    start: int
    paths: list[Path]
    statuses: np.ndarray
    rows: int


@dataclass
class _Failed:
    error: BaseException
    paths: list[Path]

    def exception(self) -> HcdEdgeError:
        what = f"{len(self.paths)} files starting at {self.paths[0]}" if self.paths else "the input paths"
        return DecodeError(f"decoding {what} failed: {type(self.error).__name__}: {self.error}")


_END = object()


@dataclass
class _RunState:
    free: queue.Queue = field(default_factory=queue.Queue)
    ready: queue.Queue = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    fill: SlotFill | None = None


class BatchPipeline(Protocol):
    """What a scoring run needs of a pipeline: ordered batches of results and its accounting.

    ScoringPipeline runs batches here; hcd_edge.distributed's RayPipeline runs them on workers.
    """

    config: PipelineConfig
    rows: int  # engine rows per batch
    times: StageSeconds
    decode_stats: DecodeStats

    def run(self, paths: Iterable[Path]) -> Iterator[BatchResult]:
        """BatchResults covering `paths`, in input order."""
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
        state = _RunState(fill=fill or self._decode_files)
        slots = self._kept or [self.executor.make_slot(i, self.rows) for i in range(self.config.slots)]
        if self.config.keep_slots:
            self._kept = slots
        for slot in slots:
            state.free.put(slot)
        chunks = _chunks(paths, self.patches_per_batch)
        self._mark_executor_times()
        worker = threading.Thread(
            target=self._decode_loop, args=(chunks, state), name="hcd-edge-decode", daemon=True
        )
        worker.start()
        try:
            yield from self._inference_loop(state)
        finally:
            state.stop.set()
            worker.join()
            if not self.config.keep_slots:
                for slot in slots:
                    self.executor.release_slot(slot)

    # -- decode thread -------------------------------------------------------------------

    def _decode_loop(self, chunks: Iterator[tuple[int, list[Path]]], state: _RunState) -> None:
        chunk: list[Path] = []
        try:
            for start, chunk in chunks:
                slot = _take(state.free, state.stop)
                if slot is None:
                    return
                state.ready.put(self._decode_into(slot, start, chunk, state.fill))
            state.ready.put(_END)
        except BaseException as exc:  # noqa: BLE001 - surfaces in the caller's thread, which raises it
            state.ready.put(_Failed(exc, chunk))

    def _decode_into(self, slot: Slot, start: int, chunk: list, fill) -> _Decoded:
        k = len(chunk)
        began = time.perf_counter()
        statuses = fill(chunk, slot.host[:k])
        rows = expand_in_place(slot.host, k, self.config.tta, self.executor.spec.layout)
        self.times.decode += time.perf_counter() - began
        return _Decoded(slot, start, chunk, np.asarray(statuses, dtype=np.int32), rows)

    def _decode_files(self, paths: Sequence[Path], rows: np.ndarray) -> np.ndarray:
        spec = self.executor.spec
        return decode_batch(paths, rows, mean=spec.mean, std=spec.std,
                            threads=self.config.decode_threads, stats=self.decode_stats)

    # -- caller thread -------------------------------------------------------------------

    def _inference_loop(self, state: _RunState) -> Iterator[BatchResult]:
        in_flight: deque[_Decoded] = deque()
        depth = max(1, min(self.executor.max_in_flight, self.config.slots - 1))
        while True:
            began = time.perf_counter()
            item = state.ready.get()
            self.times.wait += time.perf_counter() - began
            if item is _END:
                break
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
        probabilities[item.statuses != 0] = np.nan
        return BatchResult(item.start, item.paths, item.statuses, probabilities)

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


def _chunks(paths: Iterable[Path], size: int) -> Iterator[tuple[int, list[Path]]]:
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
