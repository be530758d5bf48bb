"""The Ray worker: one engine and one scoring pipeline, scoring chunks of patch paths.

A plain class: the driver wraps it with ray.remote at run time, so this module imports
nothing of Ray and runs the same code as a local `score`.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.score.tta import Tta


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to score like a local run."""

    engine_dir: str  # the engine folder, at the same path on every node (shared storage)
    batch: int
    slots: int | None  # None: the pipeline's default (PipelineConfig.first_slots, growing to .ring)
    threads: int | None  # decoder and CPU inference threads on the node
    tta: str


@dataclass
class ChunkScores:
    """A chunk's results, in the order of its paths."""

    statuses: np.ndarray  # int32 (n,)
    probabilities: np.ndarray  # float64 (n,)
    seconds: float  # wall seconds the worker spent on the chunk
    stages: dict  # the pipeline's stage seconds for this chunk
    decoded: dict  # native / fallback / failed decode counts


class ScoreWorker:
    """Opens the engine once; scores chunks with the normal pipeline (decoder, slot ring, executor)."""

    def __init__(self, settings: WorkerSettings):
        self.settings = settings
        engine = EngineFolder.open(Path(settings.engine_dir))
        self.executor = engine.executor(threads=settings.threads)
        self.config = PipelineConfig(batch=settings.batch, slots=settings.slots,
                                     decode_threads=settings.threads, tta=Tta(settings.tta))

    def ready(self) -> dict:
        """Who this worker is: host, process id and backend (called once after start)."""
        return {"host": socket.gethostname(), "pid": os.getpid(), "backend": self.executor.backend}

    def score_chunk(self, paths: list[str]) -> ChunkScores:
        """Score the paths in order; every path gets a status and a probability (NaN if failed)."""
        began = time.perf_counter()
        pipeline = ScoringPipeline(self.executor, self.config)
        statuses, probabilities = [], []
        for result in pipeline.run(paths):
            statuses.append(result.statuses)
            probabilities.append(result.probabilities)
        stats = pipeline.decode_stats
        return ChunkScores(
            statuses=np.concatenate(statuses) if statuses else np.zeros(0, np.int32),
            probabilities=np.concatenate(probabilities) if probabilities else np.zeros(0),
            seconds=time.perf_counter() - began,
            stages=asdict(pipeline.times),
            decoded={"native": stats.native, "fallback": stats.fallback, "failed": stats.failed},
        )

    def score_slide(self, slide: str, name: str, out: str, settings, resume: bool):
        """Score one whole slide into out/name (a SlideOutcome; a bad slide is an error outcome)."""
        from hcd_edge.progress import SilentProgress
        from hcd_edge.slide.run import score_one_slide

        return score_one_slide(Path(slide), name, Path(out), self.executor, settings, resume,
                               SilentProgress())
