"""Scoring folders of patches: sources -> pipeline -> rows -> partial file -> final outputs + summary.

Every input path yields one row (a probability, or a status and a message); rows are logged
to FILE.partial as batches finish, and the outputs are rendered from that log in input order
and renamed into place when complete, so an interrupted run resumes (--resume) to exactly the
file an uninterrupted run writes.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hcd_edge.atomic import remove_leftover_temporaries
from hcd_edge.backends.base import Executor
from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.errors import DataError, UsageError, describe_os_error
from hcd_edge.manifest import Manifest
from hcd_edge.output_lock import output_lock
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.score.output import OutputFormat, output_paths, target_paths
from hcd_edge.score.partial import PartialLog, RunKey, partial_path
from hcd_edge.score.pipeline import (
    DEFAULT_SLOTS,
    BatchPipeline,
    PipelineConfig,
    ScoringPipeline,
    joined_results,
)
from hcd_edge.score.render import LiveRender, RenderPlan
from hcd_edge.score.rows import Counts, engine_rows
from hcd_edge.score.sources import InputPaths, check_duplicates, list_inputs, patch_ref
from hcd_edge.score.targets import check_partial_slot, check_targets
from hcd_edge.score.tta import Tta

if TYPE_CHECKING:
    from hcd_edge.distributed.pool import RayOptions

SCORE_TASK = "scoring"
# Scored batches go to the log writer one by one when they come slower than HANDOFF_SECONDS
# apart (a CPU engine: tens of ms a batch), else in groups of up to HANDOFF_ROWS: at a GPU's
# pace a hand-off per batch of 64 (thread wake-ups, a log line, a render queue put) costs
# ~160 us of CPU, a fifth of what decoding the batch costs; groups of 1,024 rows instead of
# 256 took the log and render threads from 2.5 to 1.9 core-us a patch. A kill loses at most
# the group held (20 ms of work, rescored by --resume); a Ctrl-C or an error saves it first.
HANDOFF_SECONDS = 0.02
HANDOFF_ROWS = 1024


@dataclass(frozen=True)
class ScoreRequest:
    """One `hcd-edge score` run (see the CLI's --help for each option)."""

    inputs: tuple[Path, ...]
    out: Path = Path("scores.csv")
    fmt: OutputFormat = OutputFormat.CSV
    engine: Path | None = None  # engine folder; None: the starter model's default engine
    batch: int | None = None  # patches per batch; None: the engine's optimal batch (manifest)
    threads: int | None = None  # decoder and CPU inference threads; None = all cores
    threshold: float | None = None  # None: the engine manifest's threshold
    tta: Tta = Tta.NONE
    recursive: bool = False
    resume: bool = False
    summary: Path | None = None  # JSON summary file
    starter_model: Path | None = None  # for the default engine; None: the packaged starter.onnx
    slots: int | None = DEFAULT_SLOTS  # None: the pipeline's default (PipelineConfig.first_slots, growing to .ring)
    ray: RayOptions | None = None  # score on Ray workers (hcd_edge.distributed) instead of here


@dataclass
class ScoreResult:
    """What a run wrote and counted."""

    counts: Counts
    outputs: list[Path]
    summary: dict
    resumed: int = 0  # rows taken from an earlier run's partial file
    notes: list[str] = field(default_factory=list)


class ScoreInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: when `kept`, the rows done so far are in `partial` and --resume
    finishes the job; otherwise nothing was kept (no row was done, or --out is a stream)."""

    def __init__(self, partial: Path, saved: int, total: int, kept: bool = True):
        text = (f"{saved} of {total} rows saved in {partial}" if kept
                else f"no rows were kept ({saved} of {total} were done)")
        super().__init__(text)
        self.partial, self.saved, self.total, self.kept = partial, saved, total, kept


@dataclass
class _Engine:
    opened: EngineFolder  # read and verified once, then passed on
    default: bool
    setup_seconds: float

    @property
    def folder(self) -> Path:
        """The engine folder's path."""
        return self.opened.path

    @property
    def manifest(self) -> Manifest:
        """The engine folder's manifest."""
        return self.opened.manifest


def score(request: ScoreRequest, progress: ProgressReporter | None = None) -> ScoreResult:
    """Score every patch of request.inputs into request.out; see ScoreResult.

    Raises DataError / EngineError / BackendUnavailable for bad configuration (nothing written
    but what --resume needs), UsageError for outputs that would overwrite what the run reads,
    ScoreInterrupted on Ctrl-C.
    """
    progress = progress or SilentProgress()
    check_threshold(request.threshold)
    began = time.perf_counter()
    inputs = collect_inputs(request)
    list_seconds = time.perf_counter() - began
    targets = check_targets(request.out, request.fmt, request.summary, request.resume,
                            protected_paths(request), inputs.paths)
    if targets.stream:  # rows are logged in a private folder: there is nothing to resume
        with tempfile.TemporaryDirectory(prefix="hcd-edge-rows-") as tmp:
            return _score_locked(request, inputs, Path(tmp) / "rows.partial", False, progress,
                                 list_seconds)
    with output_lock(request.out):
        return _score_locked(request, inputs, partial_path(request.out), True, progress,
                             list_seconds)


def check_threshold(threshold: float | None) -> None:
    """UsageError unless the threshold is None or a finite probability in [0, 1]."""
    if threshold is not None and not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise UsageError(f"--threshold {threshold} is not a probability in [0, 1]")


def protected_paths(request: ScoreRequest) -> Iterator[Path]:
    """The files other than patches the run reads and must never overwrite: list files, engine
    or starter model (lazily: only looked at when an output already exists)."""
    yield from (Path(p) for p in request.inputs if not Path(p).is_dir())
    if request.engine is None:
        from hcd_edge.score.default_engine import packaged_starter

        yield Path(request.starter_model or packaged_starter())
    elif Path(request.engine).is_dir():
        yield from (Path(request.engine) / name for name in os.listdir(request.engine))
    else:
        yield Path(request.engine)


def _score_locked(request: ScoreRequest, inputs: InputPaths, partial: Path, keep: bool,
                  progress: ProgressReporter, list_seconds: float) -> ScoreResult:
    check_partial_slot(partial)
    if partial.exists() and not request.resume:
        raise DataError(
            f"{partial} holds rows of an interrupted run: add --resume to finish it, or delete "
            "it to start over"
        )
    if keep and request.resume and partial.exists():  # a killed run's live outputs, half written
        for output in target_paths(request.out, request.fmt):
            remove_leftover_temporaries(output)
    duplicates = {} if inputs.ids_unique else dict(check_duplicates(inputs.paths))
    engine = _resolve_engine(request, inputs, duplicates, progress)
    batch = engine.manifest.batch.chosen(request.batch)
    threshold = request.threshold if request.threshold is not None else engine.manifest.threshold
    key = RunKey(engine.manifest.engine_sha256, request.tta.value, float(threshold), batch)
    with contextlib.closing(_open_runner(request, engine, batch, progress)) as runner:
        log, done = _open_log(partial, key, request.resume)
        run = _Run(request, engine, inputs, duplicates, threshold, log, done, progress,
                   batch=batch, live=keep)
        try:
            return run.execute(runner, list_seconds)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # a full disk fails the last flush too
                log.close()
            if log.rows_written == 0 and not done:
                log.path.unlink(missing_ok=True)  # nothing to resume: leave nothing behind
            kept = keep and log.path.exists()
            if isinstance(exc, KeyboardInterrupt) and not (isinstance(exc, ScoreInterrupted) and kept):
                raise ScoreInterrupted(log.path, run.saved, len(inputs), kept=kept) from exc
            if isinstance(exc, OSError):
                raise DataError(_write_failed(exc, log.path if kept else None)) from exc
            raise


def _write_failed(exc: OSError, partial: Path | None) -> str:
    what = describe_os_error(exc)
    if partial is None:
        return f"scoring stopped: {what}; nothing was kept, run the same command again"
    return (f"scoring stopped: {what}; the rows done so far are kept in {partial}: "
            "fix the cause (e.g. free some space), then run the same command with --resume")


def collect_inputs(request: ScoreRequest) -> InputPaths:
    """The sorted input paths of the request; DataError when there are none."""
    inputs = list_inputs(request.inputs, recursive=request.recursive)
    if not inputs.paths:
        names = ", ".join(str(p) for p in request.inputs)
        hint = "" if request.recursive else " (add --recursive to look in subfolders)"
        raise DataError(f"no patches (.tif/.tiff files) found in {names}{hint}")
    return inputs


class _Refs(Sequence):
    """PatchRefs of path strings, made only for the items asked for."""

    def __init__(self, paths: Sequence[str]):
        self._paths = paths

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [patch_ref(p) for p in self._paths[index]]
        return patch_ref(self._paths[index])


def _resolve_engine(request: ScoreRequest, inputs: InputPaths, duplicates: dict[int, int],
                    progress: ProgressReporter) -> _Engine:
    began = time.perf_counter()
    if request.engine is not None:
        opened, default = EngineFolder.open(Path(request.engine)), False
    else:
        from hcd_edge.score.default_engine import default_engine

        unique = inputs.paths if not duplicates else [
            p for i, p in enumerate(inputs.paths) if i not in duplicates]
        chosen = default_engine(_Refs(unique), model=request.starter_model,
                                threads=request.threads, progress=progress)
        opened, default = chosen.engine, True
    return _Engine(opened, default, time.perf_counter() - began)


class _Runner(Protocol):
    """Where the batches run: one local executor, or workers elsewhere (hcd_edge.distributed)."""

    @property
    def backend(self) -> str: ...

    def pipeline(self, config: PipelineConfig) -> BatchPipeline: ...

    def worker_records(self) -> list[dict] | None: ...

    def close(self) -> None: ...


@dataclass
class _LocalRunner:
    """Batches run here, on one executor."""

    executor: Executor

    @property
    def backend(self) -> str:
        """The executor's backend."""
        return self.executor.backend

    def pipeline(self, config: PipelineConfig) -> ScoringPipeline:
        """The slot ring over the executor."""
        return ScoringPipeline(self.executor, config)

    def worker_records(self) -> None:
        """No workers: everything ran in this process."""

    def close(self) -> None:
        """Release the executor."""
        self.executor.close()


def _open_runner(request: ScoreRequest, engine: _Engine, batch: int, progress: ProgressReporter) -> _Runner:
    if request.ray is None:
        return _LocalRunner(engine.opened.executor(threads=request.threads))
    from hcd_edge.distributed.driver import RayRunner

    return RayRunner.start(engine.opened, request.ray, batch=batch, slots=request.slots,
                           threads=request.threads, tta=request.tta.value, progress=progress)


def _open_log(partial: Path, key: RunKey, resume: bool) -> tuple[PartialLog, set[str]]:
    if resume and partial.exists():
        return PartialLog.reopen(partial, key)
    return PartialLog.create(partial, key), set()


class _Run:
    """One scoring run over an open executor."""

    def __init__(self, request: ScoreRequest, engine: _Engine, inputs: InputPaths,
                 duplicates: dict[int, int], threshold: float, log: PartialLog, done: set[str],
                 progress: ProgressReporter, *, batch: int, live: bool = True):
        self.request, self.engine, self.inputs, self.batch = request, engine, inputs, batch
        self.duplicates = duplicates  # position -> position of the scored path with that id
        self.threshold, self.log, self.done, self.progress = threshold, log, done, progress
        self.resumed = sum(p in done for p in inputs.paths) if done else 0
        self.saved = self.resumed
        self.plan = RenderPlan(inputs.paths, duplicates, threshold, request.out, request.fmt)
        # Live rendering: a fresh run into files (a stream gets its rows once all are scored;
        # a resumed run's outputs also hold the earlier run's rows, which only the log has).
        self.live = live and not done
        self.render: LiveRender | None = None

    def execute(self, runner: _Runner, list_seconds: float = 0.0) -> ScoreResult:
        """Score what is not done yet, then write the outputs and the summary."""
        request = self.request
        config = PipelineConfig(batch=self.batch, slots=request.slots,
                                decode_threads=request.threads, tta=request.tta)
        pipeline = runner.pipeline(config)
        pipeline.times.list = list_seconds
        began = time.perf_counter()
        total = len(self.inputs)
        self.progress.start(SCORE_TASK, total)
        try:
            self.progress.advance(SCORE_TASK, self.resumed)
            self._score(pipeline)
        except KeyboardInterrupt as exc:
            raise ScoreInterrupted(self.log.path, self.saved, total) from exc
        finally:
            self.progress.finish(SCORE_TASK)
        write_began = time.perf_counter()
        counts, outputs = self._finish()
        pipeline.times.render += time.perf_counter() - write_began + (self.render.seconds if self.render else 0.0)
        wall = time.perf_counter() - began
        summary = self._summary(runner, pipeline, counts, outputs, wall)
        if request.summary is not None:
            from hcd_edge.score.summary import write_summary

            write_summary(request.summary, summary)
        return ScoreResult(counts, outputs, summary, resumed=self.resumed)

    def _todo(self) -> Sequence[str] | Iterator[str]:
        paths = self.inputs.paths
        if not self.duplicates and not self.done:
            return paths
        skip, done = self.duplicates, self.done
        return (p for i, p in enumerate(paths) if i not in skip and p not in done)

    def _score(self, pipeline: BatchPipeline) -> None:
        self.render = LiveRender(self.plan) if self.live else None
        writer = _LogWriter(self._save, pipeline.times)
        held = _Handoff(HANDOFF_ROWS, HANDOFF_SECONDS)
        try:
            try:
                for result in pipeline.run(self._todo()):
                    group = held.add(result)
                    if group:
                        writer.put(group)  # logged by the writer thread while the engine runs on
            finally:
                try:
                    if held.pending:
                        writer.put(held.take())  # scored rows: saved on a Ctrl-C or an error too
                finally:
                    writer.close()
        except BaseException:
            if self.render is not None:
                self.render.abort()
            raise
        self.progress.advance(SCORE_TASK, len(self.duplicates))

    def _save(self, group: list) -> None:
        """Log one hand-off (consecutive whole batches) as one line and pass it to the renderer."""
        batch = joined_results(group)  # one engine_rows call per hand-off, not per batch
        rows = engine_rows(batch.paths, batch.probabilities, batch.statuses)
        self.log.append(rows)
        if self.render is not None:
            self.render.put(rows)
        self.saved += len(rows)
        self.progress.advance(SCORE_TASK, len(rows))

    def _finish(self) -> tuple[Counts, list[Path]]:
        self.log.close()
        try:
            counts = self.render.finish() if self.render is not None else None
        except BaseException:  # Ctrl-C while waiting: the log keeps every row for --resume
            if self.render is not None:
                self.render.abort()
            raise
        if counts is None:  # resumed, a stream, or live rendering failed: from the log's rows
            counts = self.plan.from_log(self.log.path)
        self.log.path.unlink()
        return counts, output_paths(self.request.out, self.request.fmt)

    def _summary(self, runner: _Runner, pipeline: BatchPipeline, counts: Counts,
                 outputs: list[Path], wall: float) -> dict:
        from hcd_edge.score.summary import run_summary

        return run_summary(
            request=self.request, engine_dir=self.engine.folder, manifest=self.engine.manifest,
            default_engine=self.engine.default, backend=runner.backend, pipeline=pipeline,
            counts=counts, resumed=self.resumed, outputs=outputs, wall=wall,
            setup=self.engine.setup_seconds, threshold=self.threshold,
            threads=self.request.threads or os.cpu_count() or 1, workers=runner.worker_records(),
        )


class _Handoff:
    """Scored batches held for the log writer: handed over once `rows` rows are held or
    `seconds` have passed since the last hand-off (so slow batches go one by one)."""

    def __init__(self, rows: int, seconds: float):
        self.rows, self.seconds = rows, seconds
        self._held: list = []
        self._count = 0
        self._last = time.monotonic()

    @property
    def pending(self) -> bool:
        """Whether batches are held."""
        return bool(self._held)

    def add(self, result) -> list | None:
        """Hold one batch; the group to hand over now, or None."""
        self._held.append(result)
        self._count += len(result)
        now = time.monotonic()
        if self._count < self.rows and now - self._last < self.seconds:
            return None
        self._last = now
        return self.take()

    def take(self) -> list:
        """The held batches, in order; holds none after."""
        held, self._held, self._count = self._held, [], 0
        return held


class _LogWriter:
    """Appends batches to the partial log in a thread of its own, so inference overlaps it.

    put() hands a batch over (waiting when a few are queued already) and re-raises in the
    caller's thread what the writer raised; close() writes what is queued, then re-raises.
    """

    _END = object()
    _POLL_SECONDS = 0.1  # both sides wake this often: a Ctrl-C can lose a Condition's notify

    def __init__(self, save, times, depth: int = 4):
        self._save, self._times = save, times
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._closing = False  # a plain flag: setting it cannot be interrupted half-way
        self._thread = threading.Thread(target=self._loop, name="hcd-edge-log", daemon=True)
        self._thread.start()

    def put(self, result) -> None:
        """Queue one pipeline batch for the log."""
        while True:
            self._raise()
            try:
                self._queue.put(result, timeout=self._POLL_SECONDS)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Write what is queued, stop the thread, re-raise its error.

        A KeyboardInterrupt inside a Queue call can leave the other thread's wake-up lost (the
        Condition had removed its waiter but not released it): the writer would wait forever
        and this join with it. So the writer polls, and stops once closing and drained.
        """
        self._closing = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(self._END)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _loop(self) -> None:
        while True:
            try:
                result = self._queue.get(timeout=self._POLL_SECONDS)
            except queue.Empty:
                if self._closing:
                    return
                continue
            if result is self._END:
                return
            if self._error is not None:
                continue  # failed: drain without writing, so put() never blocks forever
            began = time.perf_counter()
            try:
                self._save(result)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = exc
            self._times.write += time.perf_counter() - began
