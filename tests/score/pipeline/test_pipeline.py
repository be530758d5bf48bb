"""The slot ring: order, partial batches, bounded memory, worker errors, invariance."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

from hcd_edge.backends.engine_folder import open_executor
from hcd_edge.decode import DecodeStatus
from hcd_edge.errors import DecodeError, EngineError
from hcd_edge.score import pipeline as pipeline_module
from hcd_edge.score.pipeline import BatchResult, PipelineConfig, ScoringPipeline, joined_results
from hcd_edge.score.tta import Tta
from tests.score.helpers import reference_probabilities


def run_all(executor, paths, **config):
    pipe = ScoringPipeline(executor, PipelineConfig(**config))
    return pipe, list(pipe.run(iter(paths)))


def test_results_leave_in_input_order_with_a_partial_last_batch(engine_dir, patch_paths):
    with open_executor(engine_dir, threads=1) as ex:
        _, results = run_all(ex, patch_paths, batch=8)
    assert [r.start for r in results] == [0, 8, 16, 24, 32]
    assert [len(r) for r in results] == [8, 8, 8, 8, 5]
    assert [p for r in results for p in r.paths] == patch_paths


def test_probabilities_equal_direct_onnxruntime_on_the_same_pixels(engine_dir, patch_paths):
    pixels = np.stack([tifffile.imread(p) for p in patch_paths])
    expected = reference_probabilities(engine_dir / "model.onnx", pixels)
    with open_executor(engine_dir, threads=1) as ex:
        _, results = run_all(ex, patch_paths, batch=16)
    got = np.concatenate([r.probabilities for r in results])
    assert np.allclose(got, expected, rtol=0, atol=1e-6)
    assert all((r.statuses == 0).all() for r in results)


def test_probabilities_identical_across_batch_sizes_slots_and_threads(engine_dir, patch_paths):
    outcomes = []
    for batch, slots, threads in [(1, 2, 1), (7, 3, 2), (37, 4, 1), (64, 3, 2)]:
        with open_executor(engine_dir, threads=threads) as ex:
            _, results = run_all(ex, patch_paths, batch=batch, slots=slots, decode_threads=threads)
        outcomes.append(np.concatenate([r.probabilities for r in results]))
    for other in outcomes[1:]:
        assert np.array_equal(outcomes[0], other)


def test_memory_is_k_slots_and_paths_are_pulled_lazily(engine_dir, patch_paths):
    pulled = []

    def stream():
        for i in range(10_000):  # far more paths than the ring could hold
            pulled.append(i)
            yield patch_paths[i % len(patch_paths)]

    with open_executor(engine_dir, threads=1) as ex:
        made = []
        original = ex.make_slot
        ex.make_slot = lambda index, capacity: made.append(capacity) or original(index, capacity)
        pipe = ScoringPipeline(ex, PipelineConfig(batch=8, slots=3))
        run = pipe.run(stream())
        first = next(run)
        pulled_at_first = len(pulled)
        run.close()
    assert len(first) == 8
    assert made == [8, 8, 8]
    # at most: the slots' batches, the one being chunked, and the one waiting for a free slot
    assert pulled_at_first <= (3 + 2) * 8


def test_unreadable_files_get_their_status_and_nan_without_stopping(engine_dir, patch_paths, tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    text = tmp_path / "text.tif"
    text.write_text("not a tiff")
    paths = [patch_paths[0], empty, patch_paths[1], text, tmp_path / "missing.tif"]
    with open_executor(engine_dir, threads=1) as ex:
        _, results = run_all(ex, paths, batch=2)
    statuses = np.concatenate([r.statuses for r in results])
    probs = np.concatenate([r.probabilities for r in results])
    assert statuses.tolist() == [0, DecodeStatus.EMPTY_FILE, 0, DecodeStatus.NOT_TIFF,
                                 DecodeStatus.OPEN_FAILED]
    assert np.isfinite(probs[[0, 2]]).all() and np.isnan(probs[[1, 3, 4]]).all()


def test_error_in_decode_thread_is_raised_in_caller_naming_the_file(engine_dir, patch_paths,
                                                                  monkeypatch):
    real = pipeline_module.decode_batch

    def failing(paths, out, **kwargs):
        if patch_paths[16] in paths:
            raise MemoryError("simulated")
        return real(paths, out, **kwargs)

    monkeypatch.setattr(pipeline_module, "decode_batch", failing)
    with open_executor(engine_dir, threads=1) as ex:
        pipe = ScoringPipeline(ex, PipelineConfig(batch=8))
        seen = []
        with pytest.raises(DecodeError, match=r"p00016\.tif.*MemoryError: simulated"):
            for result in pipe.run(patch_paths):
                seen.append(result.start)
    assert seen == [0, 8]  # the batches before the failing one were delivered


def test_engine_failure_names_the_batch_files(engine_dir, patch_paths):
    with open_executor(engine_dir, threads=1) as ex:
        def broken_submit(slot, n):
            raise RuntimeError("device lost")

        ex.submit = broken_submit
        with pytest.raises(EngineError, match=r"p00000\.tif … .*p00007\.tif: RuntimeError: device lost"):
            run_all(ex, patch_paths, batch=8)


def test_tta_needs_rows_within_the_engine_maximum(tmp_path, patch_paths):
    from tests.score.helpers import make_tiny_engine

    small = make_tiny_engine(tmp_path / "small", max_batch=4)
    with open_executor(small, threads=1) as ex:
        with pytest.raises(EngineError, match="maximum batch is 4"):
            ScoringPipeline(ex, PipelineConfig(batch=8, tta=Tta.DIHEDRAL))
        pipe, results = run_all(ex, patch_paths[:5], batch=8, tta=Tta.FLIP)
    assert pipe.patches_per_batch == 2 and pipe.rows == 4
    assert [len(r) for r in results] == [2, 2, 1]


def test_stage_seconds_cover_decode_and_inference(engine_dir, patch_paths):
    with open_executor(engine_dir, threads=1) as ex:
        pipe, _ = run_all(ex, patch_paths, batch=8)
    times = pipe.times.to_dict()
    assert times["decode"] > 0 and times["inference"] > 0 and times["copy"] == 0
    assert pipe.decode_stats.native + pipe.decode_stats.fallback == len(patch_paths)


def test_config_rejects_a_ring_that_cannot_overlap():
    with pytest.raises(ValueError, match="at least 2 slots"):
        PipelineConfig(slots=1)
    with pytest.raises(ValueError, match="batch must be at least 1"):
        PipelineConfig(batch=0)


def test_keep_slots_reuses_one_ring_across_runs_until_close(engine_dir, patch_paths):
    with open_executor(engine_dir, threads=1) as ex:
        made, released = [], []
        make, release = ex.make_slot, ex.release_slot
        ex.make_slot = lambda index, capacity: made.append(index) or make(index, capacity)
        ex.release_slot = lambda slot: released.append(slot.index) or release(slot)
        pipe = ScoringPipeline(ex, PipelineConfig(batch=8, slots=3, keep_slots=True))
        first = [p for r in pipe.run(patch_paths[:10]) for p in r.probabilities]
        second = [p for r in pipe.run(patch_paths[:10]) for p in r.probabilities]
        assert (made, released) == ([0, 1, 2], [])  # one ring, kept between runs
        pipe.close()
        pipe.close()  # idempotent
    assert sorted(released) == [0, 1, 2]
    assert first == second
@pytest.mark.parametrize("slots", [None, 3])  # 3: fewer slots than a wake-up's batches
def test_workers_finishing_out_of_order_still_deliver_in_order(engine_dir, patch_paths, monkeypatch,
                                                               slots):
    real = pipeline_module.decode_batch

    def slow_first(paths, out, **kwargs):
        if patch_paths[0] in paths:
            time.sleep(0.3)  # the first batch finishes after the ones decoded beside it
        return real(paths, out, **kwargs)

    monkeypatch.setattr(pipeline_module, "decode_batch", slow_first)
    with open_executor(engine_dir, threads=1) as ex:
        pipe = ScoringPipeline(ex, PipelineConfig(batch=4, decode_threads=3, slots=slots))
        assert pipe.config.wake_batches == pipeline_module.MAX_WAKE_BATCHES
        if slots is None:
            assert pipe.config.workers == 3 and pipe.config.ring == 3 + 1 + pipe.config.wake_batches
        else:
            assert pipe.config.workers == 2 and pipe.config.ring == 3
        results = list(pipe.run(patch_paths))
    assert [p for r in results for p in r.paths] == list(patch_paths)
    assert [r.start for r in results] == list(range(0, len(patch_paths), 4))


def test_default_ring_may_grow_by_a_slot_per_batch_of_a_wake_up():
    assert PipelineConfig(batch=64, decode_threads=2).wake_batches == 4  # 256 rows
    assert PipelineConfig(batch=64, decode_threads=2).first_slots == 2 + 2
    assert PipelineConfig(batch=64, decode_threads=2).ring == 2 + 1 + 4
    assert PipelineConfig(batch=256, decode_threads=2).ring == 2 + 2  # a batch is a wake-up
    assert PipelineConfig(batch=64, decode_threads=2, slots=3).first_slots == 3  # given: fixed
    assert PipelineConfig(batch=64, decode_threads=2, tta=Tta.DIHEDRAL).wake_batches == 1  # 512 rows
    assert PipelineConfig(batch=1, decode_threads=2).wake_batches == pipeline_module.MAX_WAKE_BATCHES


def test_joined_results_keep_order_and_columns():
    first = BatchResult(0, ["a", "b"], np.array([0, 3], np.int32), np.array([0.1, np.nan]))
    second = BatchResult(2, ["c"], np.array([0], np.int32), np.array([0.7]))
    both = joined_results([first, second])
    assert (both.start, both.paths, both.statuses.tolist()) == (0, ["a", "b", "c"], [0, 3, 0])
    assert np.array_equal(both.probabilities, [0.1, np.nan, 0.7], equal_nan=True)
    assert joined_results([second]) is second


def _slots_made(engine_dir, patch_paths, monkeypatch, decode_seconds: float, submit_seconds: float) -> int:
    real_decode = pipeline_module.decode_batch

    def decode(paths, out, **kwargs):
        time.sleep(decode_seconds)
        return real_decode(paths, out, **kwargs)

    monkeypatch.setattr(pipeline_module, "decode_batch", decode)
    with open_executor(engine_dir, threads=1) as ex:
        made = []
        make, submit = ex.make_slot, ex.submit
        ex.make_slot = lambda index, capacity: made.append(index) or make(index, capacity)
        ex.submit = lambda slot, n: time.sleep(submit_seconds) or submit(slot, n)
        pipe = ScoringPipeline(ex, PipelineConfig(batch=2, decode_threads=2))
        results = list(pipe.run(patch_paths))
    assert [p for r in results for p in r.paths] == list(patch_paths)
    assert made == list(range(len(made)))
    return len(made)


def test_the_ring_grows_while_the_engine_waits_for_decoding(engine_dir, patch_paths, monkeypatch):
    config = PipelineConfig(batch=2, decode_threads=2)
    assert config.ring > config.first_slots
    assert _slots_made(engine_dir, patch_paths, monkeypatch, decode_seconds=0.05, submit_seconds=0) == config.ring


def test_the_ring_stays_small_when_the_engine_is_the_slower_stage(engine_dir, patch_paths, monkeypatch):
    config = PipelineConfig(batch=2, decode_threads=2)
    made = _slots_made(engine_dir, patch_paths, monkeypatch, decode_seconds=0, submit_seconds=0.05)
    assert made == config.first_slots
