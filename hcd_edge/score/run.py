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
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hcd_edge.backends.base import Executor
from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.errors import DataError, UsageError, describe_os_error
from hcd_edge.manifest import Manifest
from hcd_edge.output_lock import output_lock
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.score.output import OutputFormat, write_outputs
from hcd_edge.score.partial import PartialLog, RunKey, iter_partial_rows, partial_path
from hcd_edge.score.pipeline import (
    DEFAULT_BATCH,
    DEFAULT_SLOTS,
    BatchPipeline,
    PipelineConfig,
    ScoringPipeline,
)
from hcd_edge.score.rows import Counts, Row, batch_rows, split_duplicates
from hcd_edge.score.sources import PatchRef, collect_patches
from hcd_edge.score.targets import check_partial_slot, check_targets
from hcd_edge.score.tta import Tta

if TYPE_CHECKING:
    from hcd_edge.distributed.pool import RayOptions

SCORE_TASK = "scoring"


@dataclass(frozen=True)
class ScoreRequest:
    """One `hcd-edge score` run (see the CLI's --help for each option)."""

    inputs: tuple[Path, ...]
    out: Path = Path("scores.csv")
    fmt: OutputFormat = OutputFormat.CSV
    engine: Path | None = None  # engine folder; None: the starter model's default engine
    batch: int = DEFAULT_BATCH  # patches per batch
    threads: int | None = None  # decoder and CPU inference threads; None = all cores
    threshold: float | None = None  # None: the engine manifest's threshold
    tta: Tta = Tta.NONE
    recursive: bool = False
    resume: bool = False
    summary: Path | None = None  # JSON summary file
    starter_model: Path | None = None  # for the default engine; None: the packaged starter.onnx
    slots: int = DEFAULT_SLOTS
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
    but what --resume needs), ScoreInterrupted on Ctrl-C.
    """
    progress = progress or SilentProgress()
    check_threshold(request.threshold)
    refs = collect_inputs(request)
    targets = check_targets(request.out, request.fmt, request.summary, request.resume,
                            protected_paths(request, refs))
    if targets.stream:  # rows are logged in a private folder: there is nothing to resume
        with tempfile.TemporaryDirectory(prefix="hcd-edge-rows-") as tmp:
            return _score_locked(request, refs, Path(tmp) / "rows.partial", False, progress)
    with output_lock(request.out):
        return _score_locked(request, refs, partial_path(request.out), True, progress)


def check_threshold(threshold: float | None) -> None:
    """UsageError unless the threshold is None or a finite probability in [0, 1]."""
    if threshold is not None and not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise UsageError(f"--threshold {threshold} is not a probability in [0, 1]")


def protected_paths(request: ScoreRequest, refs: list[PatchRef]) -> list[Path]:
    """Every file the run reads and must never overwrite: inputs, lists, engine or starter model."""
    paths = [r.path for r in refs] + [Path(p) for p in request.inputs if not Path(p).is_dir()]
    if request.engine is None:
        from hcd_edge.score.default_engine import packaged_starter

        paths.append(Path(request.starter_model or packaged_starter()))
    elif Path(request.engine).is_dir():
        paths += [Path(request.engine) / name for name in os.listdir(request.engine)]
    else:
        paths.append(Path(request.engine))
    return paths


def _score_locked(request: ScoreRequest, refs: list[PatchRef], partial: Path, keep: bool,
                  progress: ProgressReporter) -> ScoreResult:
    check_partial_slot(partial)
    if partial.exists() and not request.resume:
        raise DataError(
            f"{partial} holds rows of an interrupted run: add --resume to finish it, or delete "
            "it to start over"
        )
    engine = _resolve_engine(request, refs, progress)
    threshold = request.threshold if request.threshold is not None else engine.manifest.threshold
    key = RunKey(engine.manifest.engine_sha256, request.tta.value, float(threshold), request.batch)
    with contextlib.closing(_open_runner(request, engine, progress)) as runner:
        log, done = _open_log(partial, key, request.resume)
        run = _Run(request, engine, refs, threshold, log, done, progress)
        try:
            return run.execute(runner)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # a full disk fails the last flush too
                log.close()
            if log.rows_written == 0 and not done:
                log.path.unlink(missing_ok=True)  # nothing to resume: leave nothing behind
            kept = keep and log.path.exists()
            if isinstance(exc, KeyboardInterrupt) and not (isinstance(exc, ScoreInterrupted) and kept):
                raise ScoreInterrupted(log.path, run.saved, len(refs), kept=kept) from exc
            if isinstance(exc, OSError):
                raise DataError(_write_failed(exc, log.path if kept else None)) from exc
            raise


def _write_failed(exc: OSError, partial: Path | None) -> str:
    what = describe_os_error(exc)
    if partial is None:
        return f"scoring stopped: {what}; nothing was kept, run the same command again"
    return (f"scoring stopped: {what}; the rows done so far are kept in {partial}: "
            "fix the cause (e.g. free some space), then run the same command with --resume")


def collect_inputs(request: ScoreRequest) -> list[PatchRef]:
    """The sorted PatchRefs of the request's inputs; DataError when there are none."""
    refs = collect_patches(request.inputs, recursive=request.recursive)
    if not refs:
        names = ", ".join(str(p) for p in request.inputs)
        hint = "" if request.recursive else " (add --recursive to look in subfolders)"
        raise DataError(f"no patches (.tif/.tiff files) found in {names}{hint}")
    return refs


def _resolve_engine(request: ScoreRequest, refs: list[PatchRef], progress: ProgressReporter) -> _Engine:
    began = time.perf_counter()
    if request.engine is not None:
        opened, default = EngineFolder.open(Path(request.engine)), False
    else:
        from hcd_edge.score.default_engine import default_engine

        unique, _ = split_duplicates(refs)
        chosen = default_engine([refs[p] for p in unique], model=request.starter_model,
                                threads=request.threads,
                                progress=progress)
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


def _open_runner(request: ScoreRequest, engine: _Engine, progress: ProgressReporter) -> _Runner:
    if request.ray is None:
        return _LocalRunner(engine.opened.executor(threads=request.threads))
    from hcd_edge.distributed.driver import RayRunner

    return RayRunner.start(engine.opened, request.ray, batch=request.batch, slots=request.slots,
                           threads=request.threads, tta=request.tta.value, progress=progress)


def _open_log(partial: Path, key: RunKey, resume: bool) -> tuple[PartialLog, set[str]]:
    if resume and partial.exists():
        return PartialLog.reopen(partial, key)
    return PartialLog.create(partial, key), set()


class _Run:
    """One scoring run over an open executor."""

    def __init__(self, request: ScoreRequest, engine: _Engine, refs: list[PatchRef],
                 threshold: float, log: PartialLog, done: set[str], progress: ProgressReporter):
        self.request, self.engine, self.refs = request, engine, refs
        self.threshold, self.log, self.done, self.progress = threshold, log, done, progress
        self.resumed = sum(str(r.path) in done for r in refs) if done else 0
        self.saved = self.resumed

    def execute(self, runner: _Runner) -> ScoreResult:
        """Score what is not done yet, then write the outputs and the summary."""
        request = self.request
        config = PipelineConfig(batch=request.batch, slots=request.slots,
                                decode_threads=request.threads, tta=request.tta)
        pipeline = runner.pipeline(config)
        began = time.perf_counter()
        self.progress.start(SCORE_TASK, len(self.refs))
        try:
            self.progress.advance(SCORE_TASK, self.resumed)
            self._score(pipeline)
        except KeyboardInterrupt as exc:
            raise ScoreInterrupted(self.log.path, self.saved, len(self.refs)) from exc
        finally:
            self.progress.finish(SCORE_TASK)
        write_began = time.perf_counter()
        counts, outputs = self._finish()
        pipeline.times.write += time.perf_counter() - write_began
        wall = time.perf_counter() - began
        summary = self._summary(runner, pipeline, counts, outputs, wall)
        if request.summary is not None:
            from hcd_edge.score.summary import write_summary

            try:
                write_summary(request.summary, summary)
            except OSError as exc:
                raise DataError(f"the scores are in {', '.join(map(str, outputs))}, but the summary "
                                f"{request.summary} could not be written: {describe_os_error(exc)}") from exc
        return ScoreResult(counts, outputs, summary, resumed=self.resumed)

    def _score(self, pipeline: BatchPipeline) -> None:
        unique, duplicates = split_duplicates(self.refs)
        waiting = deque((p, row) for p, row in duplicates if row.path not in self.done)
        todo = [p for p in unique if str(self.refs[p].path) not in self.done]
        for result in pipeline.run(self.refs[p].path for p in todo):
            began = time.perf_counter()
            positions = todo[result.start : result.start + len(result)]
            rows = batch_rows(result, [self.refs[p] for p in positions], self.threshold)
            self._save(_merge_in_order(positions, rows, waiting, upto=positions[-1]))
            pipeline.times.write += time.perf_counter() - began
        self._save([row for _, row in waiting])

    def _save(self, rows: list[Row]) -> None:
        self.log.append(rows)
        self.saved += len(rows)
        self.progress.advance(SCORE_TASK, len(rows))

    def _finish(self) -> tuple[Counts, list[Path]]:
        self.log.close()
        path, out, fmt = self.log.path, self.request.out, self.request.fmt
        counts = Counts()
        try:  # the usual case: the log is in input order, so the outputs stream from it
            outputs = write_outputs(_counted(_streamed(self.refs, path), counts), out, fmt)
        except _OutOfOrder:  # resumed with other inputs (files added or removed): sort in memory
            rows = {row.path: row for row in iter_partial_rows(path)}
            counts = Counts()
            outputs = write_outputs(_counted(_in_order(self.refs, rows, path), counts), out, fmt)
        path.unlink()
        return counts, outputs

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


class _OutOfOrder(Exception):
    """The partial file's rows are not in the order of the inputs."""


def _merge_in_order(positions: list[int], rows: list[Row], waiting: deque, upto: int) -> list[Row]:
    """A batch's rows with the duplicate rows (position, row) that sort before position `upto`."""
    merged = list(zip(positions, rows))
    while waiting and waiting[0][0] < upto:
        merged.append(waiting.popleft())
    merged.sort(key=lambda item: item[0])
    return [row for _, row in merged]


def _streamed(refs: Sequence[PatchRef], log: Path) -> Iterator[Row]:
    rows = iter_partial_rows(log)
    for ref in refs:
        row = next(rows, None)
        if row is None or row.path != str(ref.path):
            raise _OutOfOrder
        yield row
    if next(rows, None) is not None:
        raise _OutOfOrder


def _in_order(refs: Sequence[PatchRef], rows: dict[str, Row], log: Path) -> Iterator[Row]:
    for ref in refs:
        row = rows.get(str(ref.path))
        if row is None:
            raise DataError(f"{log} lacks the row of {ref.path}: was it edited during the run?")
        yield row


def _counted(rows: Iterator[Row], counts: Counts) -> Iterator[Row]:
    for row in rows:
        counts.add(row)
        yield row
