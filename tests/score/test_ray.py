"""Scoring on a local Ray instance with two workers: the same files as a local run, a killed
worker's chunk redone elsewhere, a worker that cannot open its engine excluded, resume."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.distributed.pipeline import RayPipeline
from hcd_edge.distributed.pool import RayOptions, start_workers, stop_workers
from hcd_edge.distributed.worker import WorkerSettings
from hcd_edge.score.partial import partial_path
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.score.run import ScoreInterrupted, ScoreRequest, score
from tests.score.test_resume import interrupt_after

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

BATCH = 4
CHUNK = 12  # three batches per chunk: several chunks per worker


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the module: starting Ray takes seconds."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _request(folder, out, engine_dir, ray_options=None, **kw):
    return ScoreRequest(inputs=(folder,), out=out, engine=engine_dir, batch=BATCH, threads=1,
                        recursive=True, ray=ray_options, **kw)


def _settings(engine_dir) -> WorkerSettings:
    return WorkerSettings(str(engine_dir), BATCH, 3, 1, "none")


def test_two_workers_write_the_local_run_byte_for_byte(local_ray, messy_folder, engine_dir, tmp_path):
    local = score(_request(messy_folder, tmp_path / "local.csv", engine_dir))
    remote = score(_request(messy_folder, tmp_path / "ray.csv", engine_dir,
                            RayOptions(workers=2, chunk_patches=CHUNK)))
    assert remote.outputs[0].read_bytes() == local.outputs[0].read_bytes()
    workers = remote.summary["workers"]
    assert [w["worker"] for w in workers] == [0, 1]
    assert sum(w["patches"] for w in workers) == local.counts.total - _duplicates(local)
    assert all(w["excluded"] is None for w in workers)


def _duplicates(result) -> int:
    return sum(1 for line in result.outputs[0].read_text().splitlines() if "duplicate id" in line)


def test_a_killed_worker_has_its_chunk_redone_elsewhere(local_ray, messy_folder, engine_dir):
    paths = sorted(p for p in messy_folder.rglob("*.tif") if p.is_file())
    workers, problems = start_workers([_settings(engine_dir)] * 2, {"num_cpus": 1})
    try:
        assert problems == [] and len(workers) == 2
        ray.kill(workers[0].actor)  # dies before (or while) taking its first chunk
        config = PipelineConfig(batch=BATCH, slots=3, decode_threads=1)
        results = list(RayPipeline(workers, config, BATCH, CHUNK).run(paths))
    finally:
        stop_workers(workers)
    assert [p for r in results for p in r.paths] == paths  # every path once, in order
    assert "died" in (workers[0].excluded or "") and workers[1].patches == len(paths)
    from hcd_edge.backends.engine_folder import open_executor

    with open_executor(engine_dir, threads=1) as executor:
        here = list(ScoringPipeline(executor, config).run(paths))
    assert np.array_equal(np.concatenate([r.statuses for r in results]),
                          np.concatenate([r.statuses for r in here]))
    assert np.allclose(np.concatenate([r.probabilities for r in results]),
                       np.concatenate([r.probabilities for r in here]), equal_nan=True)


def test_a_worker_that_cannot_open_the_engine_is_excluded_with_its_reason(local_ray, engine_dir,
                                                                           tmp_path):
    missing = WorkerSettings(str(tmp_path / "no-such-engine"), BATCH, 3, 1, "none")
    workers, problems = start_workers([_settings(engine_dir), missing], {"num_cpus": 1})
    try:
        assert len(workers) == 1 and workers[0].index == 0
        assert len(problems) == 1 and problems[0].startswith("worker 1:")
        assert "no-such-engine" in problems[0]
    finally:
        stop_workers(workers)


def test_an_interrupted_ray_run_resumes_to_the_same_file(local_ray, messy_folder, engine_dir, tmp_path,
                                                          monkeypatch):
    whole = score(_request(messy_folder, tmp_path / "whole.csv", engine_dir))
    out = tmp_path / "ray.csv"
    options = RayOptions(workers=2, chunk_patches=CHUNK)
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        with pytest.raises(ScoreInterrupted):
            score(_request(messy_folder, out, engine_dir, options))
    assert partial_path(out).exists() and not out.exists()
    resumed = score(_request(messy_folder, out, engine_dir, options, resume=True))
    assert resumed.resumed > 0 and out.read_bytes() == whole.outputs[0].read_bytes()
