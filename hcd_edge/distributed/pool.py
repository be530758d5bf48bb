"""Connecting to Ray and starting the worker actors; workers that cannot open the engine are
excluded with their reason (a node with another GPU or CPU), never a crash of the run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hcd_edge.distributed.worker import ScoreWorker, WorkerSettings
from hcd_edge.errors import BackendUnavailable, EngineError

LOCAL = "local"  # --ray without an address: join the local Ray, or start one
CHUNK_PATCHES = 4096  # about a second of work per chunk on a CPU worker, less on a GPU


@dataclass(frozen=True)
class RayOptions:
    """Where to run: a Ray address (or LOCAL) and how many workers (None: one per GPU, else per node)."""

    address: str = LOCAL
    workers: int | None = None
    chunk_patches: int = CHUNK_PATCHES  # patches per unit of work (rounded to whole batches)

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise EngineError(f"--workers must be at least 1, got {self.workers}")
        if self.chunk_patches < 1:
            raise EngineError(f"chunk_patches must be at least 1, got {self.chunk_patches}")


@dataclass
class Worker:
    """One started actor and what it has done."""

    index: int
    actor: object  # a ray ActorHandle of ScoreWorker
    info: dict = field(default_factory=dict)  # host, pid, backend (from ready())
    patches: int = 0
    seconds: float = 0.0
    excluded: str | None = None  # why it stopped taking work

    def record(self) -> dict:
        """This worker's line in the run summary."""
        rate = self.patches / self.seconds if self.seconds > 0 else None
        return {"worker": self.index, **self.info, "patches": self.patches,
                "seconds": round(self.seconds, 4),
                "patches_per_second": round(rate, 1) if rate else None,
                "excluded": self.excluded}


def require_ray():
    """The ray module; BackendUnavailable saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailable("ray is not installed (pip install 'hcd-edge[ray]')") from exc
    return ray


def connect(options: RayOptions) -> bool:
    """Join the cluster (or local Ray) unless already connected; True when this call connected."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.ERROR, "include_dashboard": False}
    if options.address != LOCAL:
        ray.init(address=options.address, **quiet)
        return True
    try:
        ray.init(address="auto", **quiet)  # a local Ray already running (ray start --head)
    except ConnectionError:
        ray.init(**quiet)
    return True


def worker_shape(options: RayOptions) -> tuple[int, dict]:
    """(number of workers, the ray resources of each): one per GPU, else one per node's cores."""
    ray = require_ray()
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    nodes = max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
    count = options.workers or gpus or nodes
    if gpus:
        return count, {"num_gpus": 1, "num_cpus": max(1, cpus // count)}
    return count, {"num_cpus": max(1, cpus // count)}


def start_workers(settings: list[WorkerSettings], resources: dict) -> tuple[list[Worker], list[str]]:
    """Start one actor per settings; (the workers that opened their engine, why the others did not)."""
    ray = require_ray()
    remote = ray.remote(max_restarts=0, max_task_retries=0, **resources)(ScoreWorker)
    actors = [remote.remote(s) for s in settings]  # type: ignore[attr-defined]
    workers, problems = [], []
    for index, actor in enumerate(actors):
        try:
            info = ray.get(actor.ready.remote())
        except ray.exceptions.RayError as exc:
            problems.append(f"worker {index}: {_cause(exc)}")
            ray.kill(actor)
            continue
        workers.append(Worker(index=index, actor=actor, info=info))
    return workers, problems


def stop_workers(workers: list[Worker]) -> None:
    """Kill the actors (their engines are released with their processes)."""
    ray = require_ray()
    for worker in workers:
        ray.kill(worker.actor)


def _cause(exc: Exception) -> str:
    """The first line of the worker's own error, without Ray's wrapping."""
    text = str(getattr(exc, "cause", None) or exc)
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
