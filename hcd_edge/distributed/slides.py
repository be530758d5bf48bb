"""`hcd-edge slide --ray`: whole slides handed to Ray workers, one slide per task.

Each worker opens the engine once and scores a slide with the normal slide code into the
shared output folder; the driver keeps the input order for slides.csv. A worker that dies has
its slide given to another; one that cannot open the engine is excluded with its reason.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.distributed.pool import (
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


def score_slides_on_ray(named: list, out: Path, engine: EngineFolder, request,
                        progress: ProgressReporter) -> list:
    """SlideOutcomes in input order for (slide, name, refused outcome or None) triples."""
    from hcd_edge.slide.run import SLIDES_TASK, slide_settings

    ray = require_ray()
    connected = connect(request.ray)
    try:
        count, resources = worker_shape(request.ray)
        threads = request.threads or int(resources.get("num_cpus", 1))
        worker_settings = WorkerSettings(str(engine.path.resolve()),
                                         engine.manifest.batch.chosen(request.batch), request.slots,
                                         threads, request.tta.value)
        workers, excluded = start_workers([worker_settings] * count, resources)
        for problem in excluded:
            progress.note(f"excluded {problem}")
        if not workers:
            raise EngineError("no Ray worker could open the engine: " + "; ".join(excluded))
        settings = slide_settings(request, engine, str(workers[0].info.get("backend", "unknown")))
        progress.start(SLIDES_TASK, len(named))
        try:
            return _dispatch(ray, named, workers, str(out.resolve()), settings, request.resume,
                             progress, SLIDES_TASK)
        finally:
            progress.finish(SLIDES_TASK)
            stop_workers(workers)
    finally:
        if connected:
            ray.shutdown()


def _dispatch(ray, named: list, workers: list[Worker], out: str, settings, resume: bool,
              progress: ProgressReporter, task: str) -> list:
    outcomes: dict[int, object] = {i: refused for i, (_, _, refused) in enumerate(named) if refused}
    todo = deque(i for i, (_, _, refused) in enumerate(named) if refused is None)
    idle: deque[Worker] = deque(workers)
    in_flight: dict = {}  # ObjectRef -> (worker, index of the slide)
    progress.advance(task, len(outcomes))
    while todo or in_flight:
        while idle and todo:
            worker, index = idle.popleft(), todo.popleft()
            slide, name, _ = named[index]
            ref = worker.actor.score_slide.remote(str(slide), name, out, settings, resume)  # type: ignore[attr-defined]
            in_flight[ref] = (worker, index)
        (ref,), _ = ray.wait(list(in_flight), num_returns=1)
        worker, index = in_flight.pop(ref)
        try:
            outcomes[index] = ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # the worker died: its slide goes to another
            worker.excluded = f"died while scoring {named[index][0]}: {type(exc).__name__}"
            todo.appendleft(index)
            if all(w.excluded for w in workers):
                raise EngineError("every Ray worker has died: "
                                  + "; ".join(str(w.excluded) for w in workers)) from exc
            continue
        idle.append(worker)
        progress.advance(task)
    return [outcomes[i] for i in range(len(named))]
