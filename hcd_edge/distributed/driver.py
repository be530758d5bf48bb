"""A scoring run's Ray side: connect, start one worker per GPU (or node), hand `score` a
pipeline whose batches run on the workers, and shut everything down afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field

from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.distributed.pipeline import RayPipeline
from hcd_edge.distributed.pool import (
    CHUNK_PATCHES,
    RayOptions,
    Worker,
    connect,
    require_ray,
    start_workers,
    stop_workers,
    worker_shape,
)
from hcd_edge.distributed.worker import WorkerSettings
from hcd_edge.errors import EngineError
from hcd_edge.progress import ProgressReporter
from hcd_edge.score.pipeline import PipelineConfig


@dataclass
class RayRunner:
    """What `score` runs its batches with on Ray: the workers and a pipeline over them."""

    workers: list[Worker]
    excluded: list[str] = field(default_factory=list)  # workers that could not open the engine
    connected: bool = False  # this runner started the Ray connection (and closes it)
    max_batch: int = 1
    chunk_patches: int = CHUNK_PATCHES

    @classmethod
    def start(cls, engine: EngineFolder, options: RayOptions, *, batch: int, slots: int | None,
              threads: int | None, tta: str, progress: ProgressReporter) -> RayRunner:
        """Connect to Ray and start the workers; EngineError when none can open the engine."""
        connected = connect(options)
        try:
            count, resources = worker_shape(options)
            per_node_threads = threads or int(resources.get("num_cpus", 1))
            settings = WorkerSettings(str(engine.path.resolve()), batch, slots, per_node_threads, tta)
            progress.note(f"starting {count} Ray worker(s) ({resources})…")
            workers, excluded = start_workers([settings] * count, resources)
            for problem in excluded:
                progress.note(f"excluded {problem}")
            if not workers:
                raise EngineError("no Ray worker could open the engine: " + "; ".join(excluded))
        except BaseException:
            if connected:
                require_ray().shutdown()
            raise
        return cls(workers, excluded, connected, engine.manifest.batch.max, options.chunk_patches)

    @property
    def backend(self) -> str:
        """The workers' backend (as an executor would report it)."""
        return str(self.workers[0].info.get("backend", "unknown"))

    def pipeline(self, config: PipelineConfig) -> RayPipeline:
        """A pipeline that scores on the workers with the local pipeline's batch shape."""
        patches = min(config.batch, self.max_batch // config.tta.transforms)
        if patches < 1:
            raise EngineError(
                f"--tta {config.tta.value} needs {config.tta.transforms} rows per patch but the "
                f"engine's maximum batch is {self.max_batch}"
            )
        return RayPipeline(self.workers, config, patches * config.tta.transforms, self.chunk_patches)

    def worker_records(self) -> list[dict]:
        """Each worker's rate, and the workers excluded at start with their reasons."""
        records = [w.record() for w in self.workers]
        return records + [{"excluded": problem} for problem in self.excluded]

    def close(self) -> None:
        """Stop the workers; disconnect when this runner connected."""
        stop_workers(self.workers)
        if self.connected:
            require_ray().shutdown()
