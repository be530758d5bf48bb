"""Latency and throughput of engines per batch size, with the per-stage split and optional AUC."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from hcd_edge.backends.base import Executor, Slot
from hcd_edge.decode import decode_batch
from hcd_edge.errors import DataError
from hcd_edge.score.sources import PatchSet

MIN_TIMED_ITERATIONS = 5  # even when one batch outlasts --seconds


@dataclass(frozen=True)
class BenchConfig:
    """How long and at which batch sizes to measure."""

    batches: tuple[int, ...] = (1, 8, 64, 256)
    seconds: float = 5.0  # timed seconds per (engine, batch)
    warmup: float = 1.0  # untimed seconds per (engine, batch) before timing
    threads: int | None = None  # inference threads (CPU backends); None = all cores
    decode_threads: int | None = None  # decoder threads; None = all cores


@dataclass
class BenchRecord:
    """One (engine, batch) measurement; to_dict() gives the documented JSON record."""

    engine: str
    backend: str
    precision: str
    batch: int
    throughput: float  # patches/s of inference (H2D + compute + D2H), decode excluded
    latency_ms: dict  # mean, p50, p90, p99 of one batch's inference, milliseconds
    stages_ms: dict  # mean milliseconds per batch: decode, and h2d/compute/d2h
    auc: float | None  # ROC AUC on --val, None without labels
    engine_size_mb: float
    iterations: int
    n: int | None = None  # patches the AUC was computed on (readable --val patches)
    auc_source: str | None = None  # where those patches came from
    threads: int | None = None  # inference threads used (CPU backends); decode used the same
    device: str = ""  # CPU brand or GPU name the measurement ran on

    def to_dict(self) -> dict:
        """The JSON record (keys as documented in the README)."""
        return asdict(self)


@dataclass(frozen=True)
class BenchTarget:
    """An engine to measure: a display name, how to open it, and its file size."""

    name: str
    open: Callable[[], Executor]
    size_mb: float


def latency_summary(seconds: Sequence[float]) -> dict:
    """Mean and percentiles (p50, p90, p99) of per-batch latencies, in milliseconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        raise ValueError("no latency samples")
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"mean": float(ms.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def batch_paths(paths: Sequence[Path], batch: int, offset: int) -> list[Path]:
    """`batch` paths starting at `offset`, cycling through paths when there are fewer."""
    if not paths:
        raise DataError("no patches to benchmark with")
    return [paths[(offset + i) % len(paths)] for i in range(batch)]


def time_decode(ex: Executor, slot: Slot, paths: Sequence[Path], batch: int, rounds: int,
                threads: int | None) -> float:
    """Mean seconds to decode `batch` files into the slot, over `rounds` distinct batches."""
    spec = ex.spec
    elapsed = []
    for r in range(rounds):
        chunk = batch_paths(paths, batch, r * batch)
        start = time.perf_counter()
        statuses = decode_batch(chunk, slot.host[:batch], mean=spec.mean, std=spec.std, threads=threads)
        elapsed.append(time.perf_counter() - start)
        if np.any(statuses != 0):
            first = int(np.flatnonzero(statuses)[0])
            raise DataError(f"benchmark patch {chunk[first]} cannot be decoded (status "
                            f"{int(statuses[first])}); give --patches without unreadable files")
    return float(np.mean(elapsed))


def time_inference(ex: Executor, slot: Slot, batch: int, config: BenchConfig) -> list[float]:
    """Per-batch wall seconds of submit+collect, after `warmup` seconds untimed."""
    deadline = time.perf_counter() + config.warmup
    while time.perf_counter() < deadline:
        ex.submit(slot, batch)
        ex.collect(slot)
    ex.times.reset()
    samples: list[float] = []
    deadline = time.perf_counter() + config.seconds
    while time.perf_counter() < deadline or len(samples) < MIN_TIMED_ITERATIONS:
        start = time.perf_counter()
        ex.submit(slot, batch)
        ex.collect(slot)
        samples.append(time.perf_counter() - start)
    return samples


def stage_split(ex: Executor, decode_s: float) -> dict:
    """Mean ms per batch of each stage: decode, plus those the executor times (h2d/compute/d2h)."""
    n = max(ex.times.batches, 1)
    stages = {"decode": decode_s * 1e3}
    stages.update({name: getattr(ex.times, name) / n * 1e3 for name in ex.stage_names})
    return stages


def evaluate_auc(ex: Executor, patch_set: PatchSet, threads: int | None) -> float | None:
    """ROC AUC of the engine over a labelled patch set (None without labels or one class)."""
    return measure_auc(ex, patch_set, threads)[0]


def measure_auc(ex: Executor, patch_set: PatchSet, threads: int | None) -> tuple[float | None, int]:
    """(ROC AUC, readable patches it was computed on); (None, 0) without labels or one class."""
    from sklearn.metrics import roc_auc_score

    if patch_set.labels is None or len(set(patch_set.labels.tolist())) < 2:
        return None, 0
    probs = score_patch_set(ex, patch_set, threads)
    ok = ~np.isnan(probs)
    return float(roc_auc_score(patch_set.labels[ok], probs[ok])), int(ok.sum())


def score_patch_set(ex: Executor, patch_set: PatchSet, threads: int | None) -> np.ndarray:
    """Probabilities for every patch of the set (NaN where a file cannot be decoded)."""
    from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline

    pipeline = ScoringPipeline(ex, PipelineConfig(batch=max(1, min(ex.max_batch, 256)),
                                                  decode_threads=threads))
    out = np.full(len(patch_set), np.nan)
    for result in pipeline.run(patch_set.paths):
        out[result.start : result.start + len(result)] = result.probabilities
    return out


def bench_target(target: BenchTarget, paths: Sequence[Path], config: BenchConfig,
                 val: PatchSet | None = None, on_record: Callable[[BenchRecord], None] | None = None,
                 ) -> list[BenchRecord]:
    """Measure one engine at every batch size of the config (skipping those over its max batch)."""
    records = []
    with target.open() as ex:
        auc, n = measure_auc(ex, val, config.decode_threads) if val is not None else (None, 0)
        measured = auc is not None and val is not None
        source = val.source if measured and val is not None else None
        threads, device = config.threads or os.cpu_count() or 1, device_name(ex.backend)
        for batch in config.batches:
            if batch > ex.max_batch:
                continue
            record = _bench_batch(ex, target, paths, batch, config, auc)
            record = replace(record, n=n if measured else None, auc_source=source,
                             threads=threads, device=device)
            records.append(record)
            if on_record is not None:
                on_record(record)
    return records


def _bench_batch(ex: Executor, target: BenchTarget, paths: Sequence[Path], batch: int,
                 config: BenchConfig, auc: float | None) -> BenchRecord:
    slot = ex.make_slot(0, batch)
    try:
        decode_s = time_decode(ex, slot, paths, batch, rounds=3, threads=config.decode_threads)
        samples = time_inference(ex, slot, batch, config)
    finally:
        ex.release_slot(slot)
    latency = latency_summary(samples)
    return BenchRecord(
        engine=target.name,
        backend=ex.backend,
        precision=ex.precision.value,
        batch=batch,
        throughput=batch / (latency["mean"] / 1e3),
        latency_ms=latency,
        stages_ms=stage_split(ex, decode_s),
        auc=auc,
        engine_size_mb=target.size_mb,
        iterations=len(samples),
    )


def device_name(backend: str) -> str:
    """The GPU's name for TensorRT, else the CPU's brand."""
    from hcd_edge.device_info import describe_cpu, describe_gpu

    if backend == "tensorrt":
        gpu = describe_gpu()
        if gpu is not None:
            return str(gpu["name"])
    return str(describe_cpu()["brand"])


def resolve_target(path: Path, threads: int | None) -> BenchTarget:
    """A BenchTarget for an engine folder, or for a bare .onnx run with ONNX Runtime."""
    from hcd_edge.backends.engine_folder import open_executor
    from hcd_edge.errors import EngineError
    from hcd_edge.manifest import read_manifest

    path = Path(path)
    if path.is_dir():
        manifest = read_manifest(path)
        size = (path / manifest.engine_file).stat().st_size / 1e6
        return BenchTarget(path.name, lambda: open_executor(path, threads=threads, allow_portable=True), size)
    if path.suffix.lower() == ".onnx" and path.is_file():
        return BenchTarget(path.stem, lambda: _open_bare_onnx(path, threads), path.stat().st_size / 1e6)
    raise EngineError(f"{path} is neither an engine folder (with manifest.json) nor an .onnx file")


def _open_bare_onnx(path: Path, threads: int | None) -> Executor:
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor
    from hcd_edge.model_info import graph_precision, read_model_info

    info = read_model_info(path)
    return OrtExecutor(path, info.spec, precision=graph_precision(path), threads=threads)
