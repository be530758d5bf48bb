"""The driver side of a Ray run: a pipeline with the local ScoringPipeline's interface whose
batches are chunks scored by worker actors, yielded in input order.

Chunks are whole multiples of the batch, so every batch holds the same patches as in a local
run and the rows are identical. A chunk whose worker dies is given to another worker; a run
with no worker left stops with the reasons (the partial log keeps what was done).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hcd_edge.decode import DecodeStats
from hcd_edge.distributed.pool import Worker, require_ray
from hcd_edge.distributed.worker import ChunkScores
from hcd_edge.errors import EngineError
from hcd_edge.score.pipeline import BatchResult, PipelineConfig, StageSeconds


@dataclass
class _Chunk:
    start: int
    paths: list[Path]


class RayPipeline:
    """Scores a stream of paths on Ray workers; yields BatchResults (one per chunk) in order."""

    def __init__(self, workers: list[Worker], config: PipelineConfig, rows_per_batch: int,
                 chunk_patches: int):
        if not workers:
            raise EngineError("no Ray worker could open the engine")
        self.workers = workers
        self.config = config
        self.rows = rows_per_batch
        patches_per_batch = max(1, rows_per_batch // config.tta.transforms)
        self.chunk = max(1, chunk_patches // patches_per_batch) * patches_per_batch
        self.times = StageSeconds()
        self.decode_stats = DecodeStats()

    def run(self, paths: Iterable[Path]) -> Iterator[BatchResult]:
        """Yield the chunks' results in input order; cancels outstanding work when closed early."""
        ray = require_ray()
        todo = deque(_chunks(paths, self.chunk))
        idle = deque(self.workers)
        in_flight: dict = {}  # ObjectRef -> (worker, chunk)
        finished: dict[int, BatchResult] = {}
        next_start = 0
        try:
            while todo or in_flight:
                while idle and todo:
                    worker, chunk = idle.popleft(), todo.popleft()
                    ref = worker.actor.score_chunk.remote([str(p) for p in chunk.paths])  # type: ignore[attr-defined]
                    in_flight[ref] = (worker, chunk)
                (ref,), _ = ray.wait(list(in_flight), num_returns=1)
                worker, chunk = in_flight.pop(ref)
                scores = self._collect(ray, ref, worker, chunk, todo)
                if scores is None:
                    continue
                idle.append(worker)
                finished[chunk.start] = BatchResult(chunk.start, chunk.paths, scores.statuses,
                                                    scores.probabilities)
                while next_start in finished:
                    result = finished.pop(next_start)
                    next_start += len(result)
                    yield result
        finally:
            for ref in in_flight:
                ray.cancel(ref)  # actor tasks cannot be forced; close() kills the actors

    def summary(self) -> list[dict]:
        """Each worker's host, backend, patches, seconds and rate (and why it was excluded)."""
        return [w.record() for w in self.workers]

    def _collect(self, ray, ref, worker: Worker, chunk: _Chunk, todo: deque) -> ChunkScores | None:
        try:
            scores: ChunkScores = ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # the worker died: redo its chunk elsewhere
            worker.excluded = f"died while scoring {len(chunk.paths)} patches: {type(exc).__name__}"
            todo.appendleft(chunk)
            if all(w.excluded for w in self.workers):
                raise EngineError(
                    "every Ray worker has died: " + "; ".join(str(w.excluded) for w in self.workers)
                ) from exc
            return None
        except ray.exceptions.RayTaskError as exc:
            raise EngineError(f"Ray worker {worker.index} failed: {exc}") from exc
        self._account(worker, chunk, scores)
        return scores

    def _account(self, worker: Worker, chunk: _Chunk, scores: ChunkScores) -> None:
        worker.patches += len(chunk.paths)
        worker.seconds += scores.seconds
        for stage in ("decode", "copy", "inference", "wait"):
            setattr(self.times, stage, getattr(self.times, stage) + scores.stages.get(stage, 0.0))
        self.decode_stats.native += scores.decoded["native"]
        self.decode_stats.fallback += scores.decoded["fallback"]
        self.decode_stats.failed += scores.decoded["failed"]


def _chunks(paths: Iterable[Path], size: int) -> Iterator[_Chunk]:
    batch: list[Path] = []
    start = 0
    for path in paths:
        batch.append(path)
        if len(batch) == size:
            yield _Chunk(start, batch)
            start, batch = start + size, []
    if batch:
        yield _Chunk(start, batch)

