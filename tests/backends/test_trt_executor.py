"""The TensorRT executor's bookkeeping, run on a CPU against fake pycuda and tensorrt modules.

The real stack (a GPU, TensorRT, pycuda) is exercised only by the `gpu` test at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.backends.tensorrt import cuda_mem
from hcd_edge.backends.tensorrt import executor as trt_backend
from hcd_edge.errors import BackendUnavailable, EngineError, EngineMismatchError, ModelError
from hcd_edge.manifest import BatchProfile, Manifest, TensorInfo
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.spec import Precision
from tests.backends.fake_gpu import FAKE_PLAN, GPU, PLATFORM, FakeCuda, fake_tensorrt
from tests.tiny_models import TINY_SPEC


def trt_manifest(min_batch: int = 1, max_batch: int = 64, **build_options) -> Manifest:
    return Manifest(
        name="tiny-fp32-tensorrt", precision=Precision.FP32, backend="tensorrt",
        backend_version="10.13.0.35", engine_file="model.plan", engine_sha256="0" * 64,
        source_onnx="tiny.onnx", source_onnx_sha256="0" * 64, device=dict(GPU, kind="gpu"),
        batch=BatchProfile(min_batch, min_batch, max_batch),
        inputs=[TensorInfo("input", ["N", 3, 96, 96], "float32")],
        outputs=[TensorInfo("logit", ["N", 1], "float32")], preprocess=TINY_SPEC, threshold=0.5,
        hcd_edge_version="test", created="2026-01-01T00:00:00Z", build_options=build_options,
    )


@pytest.fixture
def fake_gpu(monkeypatch):
    cuda = FakeCuda()
    monkeypatch.setattr(cuda_mem, "cuda", cuda)
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(cuda))
    monkeypatch.setattr(trt_backend, "describe_platform", lambda: dict(PLATFORM))
    return cuda


@pytest.fixture
def plan(tmp_path):
    path = tmp_path / "model.plan"
    path.write_bytes(FAKE_PLAN)
    return path


def test_logits_come_back_per_slot_with_stage_times(fake_gpu, plan):
    x = np.random.default_rng(0).normal(size=(10, 3, 96, 96)).astype(np.float32)
    with trt_backend.open_trt_executor(trt_manifest(), plan) as ex:
        got = ex.infer(x)
        assert ex.times.batches == 1 and ex.times.compute == pytest.approx(1e-3)
    assert np.allclose(got, x.reshape(10, -1).mean(axis=1), atol=1e-6)


def test_batches_under_the_profile_minimum_are_padded_and_trimmed(fake_gpu, plan):
    x = np.random.default_rng(1).normal(size=(3, 3, 96, 96)).astype(np.float32)
    with trt_backend.open_trt_executor(trt_manifest(min_batch=8), plan) as ex:
        slot = ex.make_slot(0, 3)
        slot.host[:] = x
        ex.submit(slot, 3)
        logits = ex.collect(slot)
        stream = slot.resources.stream.handle
        ex.release_slot(slot)
    assert logits.shape == (3,)
    assert np.allclose(logits, x.reshape(3, -1).mean(axis=1), atol=1e-6)
    assert ("shape", (8, 3, 96, 96)) in fake_gpu.log and ("execute", stream, 8) in fake_gpu.log


def test_the_context_is_touched_only_after_the_previous_inference_finished(fake_gpu, plan):
    with trt_backend.open_trt_executor(trt_manifest(), plan) as ex:
        a, b = ex.make_slot(0, 4), ex.make_slot(1, 4)
        a.host[:] = 1
        b.host[:] = 2
        ex.submit(a, 4)
        ex.submit(b, 4)  # in flight together: B's enqueue must wait for A's compute
        assert ex.collect(a).tolist() == [1] * 4 and ex.collect(b).tolist() == [2] * 4
        log = fake_gpu.log
        a_stream, b_stream = a.resources.stream.handle, b.resources.stream.handle
        a_done = a.resources.compute_done.raw
        host_wait = log.index(("event-sync", a_done.id, 1))  # a blocking event: no spinning
        assert log.index(("execute", a_stream, 4)) < host_wait < log.index(("execute", b_stream, 4))
        assert log.index(("h2d", b_stream, 4 * 3 * 96 * 96 * 4)) < host_wait  # copy-in overlaps A
        assert [e for e in log if e[0] == "shape"] == [("shape", (4, 3, 96, 96))]  # set once


def test_the_fake_gpu_catches_a_shape_change_while_an_enqueue_is_pending(fake_gpu, plan,
                                                                         monkeypatch):
    # The defect the review found: without the host wait, the last (partial) batch re-shapes
    # the one context while the previous batch still runs on another stream.
    monkeypatch.setattr(trt_backend.TrtExecutor, "_wait_for_context", lambda self: None)
    with trt_backend.open_trt_executor(trt_manifest(), plan) as ex:
        a, b = ex.make_slot(0, 4), ex.make_slot(1, 4)
        ex.submit(a, 4)
        ex.submit(b, 3)
        with pytest.raises(AssertionError, match="changed .* while its enqueue was pending"):
            ex.collect(a)


def test_a_partial_last_batch_in_flight_with_a_full_one_scores_both(fake_gpu, plan):
    x = np.random.default_rng(3).normal(size=(7, 3, 96, 96)).astype(np.float32)
    with trt_backend.open_trt_executor(trt_manifest(), plan) as ex:
        a, b = ex.make_slot(0, 4), ex.make_slot(1, 4)
        a.host[:] = x[:4]
        b.host[:3] = x[4:]
        ex.submit(a, 4)
        ex.submit(b, 3)
        assert fake_gpu.pending() > 0  # nothing ran yet beyond what the host waited for
        got = np.concatenate([ex.collect(a), ex.collect(b)])
    assert np.allclose(got, x.reshape(7, -1).mean(axis=1), atol=1e-6)


def test_results_read_before_the_copy_out_finished_would_be_nan(fake_gpu, plan):
    with trt_backend.open_trt_executor(trt_manifest(), plan) as ex:
        slot = ex.make_slot(0, 2)
        slot.host[:] = 1
        ex.submit(slot, 2)
        assert np.isnan(slot.resources.host_out.array).all()  # the fake is asynchronous
        assert ex.collect(slot).tolist() == [1.0, 1.0]  # collect synchronizes first


def test_close_from_another_thread_releases_the_primary_context(fake_gpu, plan):
    import threading

    ex = trt_backend.open_trt_executor(trt_manifest(), plan)
    ex.make_slot(0, 4)
    closer = threading.Thread(target=ex.close)
    closer.start()
    closer.join()
    assert len(fake_gpu.released) == 1 and ("detach-skipped", fake_gpu.released[0]) not in fake_gpu.log
    assert fake_gpu.context_depth == 0 and not fake_gpu.memory


def test_tensorrt_before_10_is_refused_with_the_reason(fake_gpu, plan, monkeypatch):
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(fake_gpu, version="8.6.1"))
    with pytest.raises(BackendUnavailable, match=r"TensorRT 8\.6\.1 is older than 10\.0"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def test_a_plan_built_on_another_platform_is_refused(fake_gpu, plan, monkeypatch):
    jetson = dict(PLATFORM, arch="aarch64", jetpack="6")
    monkeypatch.setattr(trt_backend, "describe_platform", lambda: jetson)
    with pytest.raises(EngineMismatchError, match=r"built on Linux x86_64 \(not a Jetson\); "
                                                  r"this is Linux aarch64 \(Jetson, JetPack 6\)"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def test_close_frees_all_device_and_pinned_memory_inside_the_context(fake_gpu, plan):
    ex = trt_backend.open_trt_executor(trt_manifest(), plan)
    ex.make_slot(0, 16)
    ex.make_slot(1, 16)
    assert len(fake_gpu.memory) == 4 and len(fake_gpu.pinned) == 4
    ex.close()
    ex.close()  # idempotent
    assert not fake_gpu.memory and not fake_gpu.pinned
    assert fake_gpu.context_depth == 0 and ("detach",) in fake_gpu.log and fake_gpu.released


def test_pipeline_over_the_trt_executor_keeps_input_order(fake_gpu, plan, tmp_path):
    from tests.score.helpers import write_patch_folder

    paths = write_patch_folder(tmp_path / "patches", 21)
    with trt_backend.open_trt_executor(trt_manifest(min_batch=2), plan) as ex:
        pipe = ScoringPipeline(ex, PipelineConfig(batch=4, slots=3))
        results = list(pipe.run(paths))
        assert pipe.times.copy == pytest.approx(2 * 6 * 1e-3)  # h2d + d2h of 6 batches
    assert [p for r in results for p in r.paths] == paths
    assert [len(r) for r in results] == [4, 4, 4, 4, 4, 1]


def test_a_plan_that_does_not_deserialize_names_the_file_and_the_rebuild(fake_gpu, tmp_path):
    bad = tmp_path / "model.plan"
    bad.write_bytes(b"garbage")
    with pytest.raises(EngineError, match=r"cannot deserialize .*model\.plan: Serialization.*build-engine"):
        trt_backend.open_trt_executor(trt_manifest(), bad)
    assert fake_gpu.context_depth == 0 and not fake_gpu.memory


def test_an_engine_with_another_input_dtype_is_refused(fake_gpu, plan, monkeypatch):
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(fake_gpu, input_dtype=np.float16))
    with pytest.raises(ModelError, match="input float16"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def test_another_tensorrt_release_is_refused_before_deserializing(fake_gpu, plan, monkeypatch):
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(fake_gpu, version="10.14.1.48"))
    with pytest.raises(EngineMismatchError, match=r"TensorRT 10\.13\.0\.35 and this is TensorRT 10\.14"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def test_version_compatible_plans_allow_host_code(fake_gpu, plan, monkeypatch):
    created = []
    fake = fake_tensorrt(fake_gpu, version="10.14.1.48")
    original = fake.Runtime

    def runtime(logger):
        created.append(original(logger))
        return created[-1]

    fake.Runtime = runtime
    monkeypatch.setattr(trt_backend, "trt", fake)
    trt_backend.open_trt_executor(trt_manifest(version_compatible=True), plan).close()
    assert created[0].engine_host_code_allowed is True


def test_without_tensorrt_the_error_names_the_cpu_alternative(monkeypatch, plan):
    monkeypatch.setattr(trt_backend, "trt", None)
    with pytest.raises(BackendUnavailable, match="TensorRT is not installed.*--backend onnxruntime"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def test_without_pycuda_the_error_names_the_cpu_alternative(monkeypatch, plan):
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(FakeCuda()))
    monkeypatch.setattr(cuda_mem, "cuda", None)
    with pytest.raises(BackendUnavailable, match="pycuda is not installed.*--backend onnxruntime"):
        trt_backend.open_trt_executor(trt_manifest(), plan)


def _real_gpu_reason() -> str | None:
    from hcd_edge.backends.tensorrt import probe as tensorrt_missing_reason

    return tensorrt_missing_reason()


@pytest.mark.gpu
def test_real_tensorrt_engine_scores_like_onnxruntime(tmp_path, capsys):
    reason = _real_gpu_reason()
    if reason is not None:
        with capsys.disabled():
            print(f"\nskipping the TensorRT GPU test: {reason}")
        pytest.skip(f"needs TensorRT, pycuda and an NVIDIA GPU: {reason}")
    from hcd_edge.backends.engine_folder import open_executor
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor
    from hcd_edge.builders import BuildRequest, build_engine
    from tests.tiny_models import write_tiny_cnn

    model = write_tiny_cnn(tmp_path / "tiny.onnx")
    built = build_engine(BuildRequest(onnx=model, precision=Precision.FP32, backend="tensorrt",
                                      out=tmp_path / "trt", gate=False))
    x = np.random.default_rng(2).normal(size=(37, 3, 96, 96)).astype(np.float32)
    with open_executor(built.engine_dir) as ex, OrtExecutor(model, TINY_SPEC) as ref:
        assert ex.backend == "tensorrt"
        assert np.allclose(ex.infer(x), ref.infer(x), atol=1e-3)


def test_tensor_names_come_from_the_manifest(fake_gpu, plan, monkeypatch):
    from hcd_edge.manifest import TensorInfo

    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(fake_gpu, output_name="output0"))
    with pytest.raises(ModelError, match="an output 'logit'.*found tensors \\['input', 'output0'\\]"):
        trt_backend.open_trt_executor(trt_manifest(), plan)
    manifest = trt_manifest()
    manifest.outputs = [TensorInfo("output0", [-1, 1], "float32")]  # a torch-tensorrt plan
    x = np.random.default_rng(4).normal(size=(5, 3, 96, 96)).astype(np.float32)
    with trt_backend.open_trt_executor(manifest, plan) as ex:
        assert np.allclose(ex.infer(x), x.reshape(5, -1).mean(axis=1), atol=1e-6)
