"""Backend resolution: auto, TensorRT without TensorRT, portable stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcd_edge.builders import Backend, BuildRequest, Stage
from hcd_edge.builders import backend_plan as backends
from hcd_edge.spec import Precision


def _req(**kw):
    return BuildRequest(onnx=Path("m.onnx"), precision=Precision.INT8, **kw)


@pytest.fixture()
def no_tensorrt(monkeypatch):
    monkeypatch.setattr(backends, "tensorrt_missing_reason", lambda: "tensorrt is not installed")


def test_auto_without_tensorrt_is_onnxruntime(no_tensorrt):
    plan = backends.resolve_backend(_req())
    assert (
        plan.backend is Backend.ONNXRUNTIME
        and plan.stage is Stage.ENGINE
        and "tensorrt" in plan.note
    )


def test_tensorrt_without_tensorrt_defers_to_the_onnx_stage(no_tensorrt):
    plan = backends.resolve_backend(_req(backend="tensorrt"))
    assert (plan.backend, plan.stage, plan.deferred_reason) == (
        Backend.TENSORRT,
        Stage.ONNX,
        "tensorrt is not installed",
    )


def test_tensorrt_onnx_stage_needs_no_gpu(monkeypatch):
    monkeypatch.setattr(
        backends, "tensorrt_missing_reason", lambda: pytest.fail("must not probe for a GPU")
    )
    plan = backends.resolve_backend(_req(backend="tensorrt", stage="onnx"))
    assert plan.backend is Backend.TENSORRT and plan.deferred_reason is None


def test_missing_reason_sees_through_tensorrt_stubs():
    reason = backends.tensorrt_missing_reason()
    try:
        import tensorrt

        real = hasattr(tensorrt, "Builder")
    except ImportError:
        real = False
    if not real:
        assert reason is not None and "not installed" in reason


def test_hardware_compatibility_on_a_jetson_is_refused_before_any_build_work(monkeypatch):
    from hcd_edge.errors import BackendUnavailable

    orin = {"name": "Orin", "compute_capability": "8.7", "arch": "aarch64", "os": "Linux",
            "jetpack": "6"}
    monkeypatch.setattr(backends, "tensorrt_missing_reason", lambda: None)
    monkeypatch.setattr(backends, "describe_gpu", lambda: orin)
    with pytest.raises(BackendUnavailable, match="ampere_plus is not supported on Jetson"):
        backends.resolve_backend(_req(backend="tensorrt", hardware_compatibility="ampere_plus"))
    plan = backends.resolve_backend(_req(backend="tensorrt"))
    assert plan.gpu["jetpack"] == "6"  # the platform goes into the manifest's device
