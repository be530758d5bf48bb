"""Backend resolution: auto (GPU first, else the CPU backends to measure), named backends,
TensorRT without TensorRT, the portable stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hcd_edge.backends import registry
from hcd_edge.builders import BuildRequest, Stage
from hcd_edge.builders.backend_plan import resolve_backend
from hcd_edge.errors import BackendUnavailable
from hcd_edge.spec import Precision


def _req(**kw):
    return BuildRequest(onnx=Path("m.onnx"), precision=Precision.INT8, **kw)


def _with_probes(monkeypatch, **reasons):
    """Replace the probes of the named backends (None = usable, a string = why not)."""
    patched = tuple(
        dataclasses.replace(b, probe=(lambda r=reasons[b.name]: r)) if b.name in reasons else b
        for b in registry.BACKENDS
    )
    monkeypatch.setattr(registry, "BACKENDS", patched)


def test_auto_on_a_cpu_with_two_backends_measures_both(monkeypatch):
    _with_probes(monkeypatch, tensorrt="tensorrt is not installed", openvino=None, onnxruntime=None)
    plan = resolve_backend(_req())
    assert [b.name for b in plan.candidates] == ["openvino", "onnxruntime"]
    assert plan.backend.name == "onnxruntime" and plan.stage is Stage.ENGINE
    assert "tensorrt is not installed" in plan.note


def test_auto_without_openvino_or_tensorrt_is_onnxruntime(monkeypatch):
    _with_probes(monkeypatch, tensorrt="tensorrt is not installed", openvino="not installed")
    plan = resolve_backend(_req())
    assert plan.backend.name == "onnxruntime" and plan.candidates == ()


def test_auto_prefers_a_usable_gpu_backend(monkeypatch):
    _with_probes(monkeypatch, tensorrt=None, openvino=None, onnxruntime=None)
    tensorrt = registry.get_backend("tensorrt")
    monkeypatch.setattr(registry, "BACKENDS", tuple(
        dataclasses.replace(b, describe_device=lambda: {"name": "Orin"}) if b.name == "tensorrt"
        else b for b in registry.BACKENDS
    ))
    plan = resolve_backend(_req())
    assert plan.backend.name == tensorrt.name and plan.gpu == {"name": "Orin"}


def test_tensorrt_without_tensorrt_defers_to_the_onnx_stage(monkeypatch):
    _with_probes(monkeypatch, tensorrt="tensorrt is not installed")
    plan = resolve_backend(_req(backend="tensorrt"))
    assert (plan.backend.name, plan.stage, plan.deferred_reason) == (
        "tensorrt", Stage.ONNX, "tensorrt is not installed",
    )


def test_a_named_cpu_backend_that_cannot_run_says_why(monkeypatch):
    _with_probes(monkeypatch, openvino="openvino is not installed (pip install 'hcd-edge[openvino]')")
    with pytest.raises(BackendUnavailable, match=r"hcd-edge\[openvino\]"):
        resolve_backend(_req(backend="openvino"))


def test_tensorrt_onnx_stage_needs_no_gpu(monkeypatch):
    monkeypatch.setattr(registry, "BACKENDS", tuple(
        dataclasses.replace(b, probe=lambda: pytest.fail("must not probe for a GPU"))
        for b in registry.BACKENDS
    ))
    plan = resolve_backend(_req(backend="tensorrt", stage="onnx"))
    assert plan.backend.name == "tensorrt" and plan.deferred_reason is None


def test_tensorrt_probe_sees_through_tensorrt_stubs():
    reason = registry.get_backend("tensorrt").probe()
    try:
        import tensorrt

        real = hasattr(tensorrt, "Builder")
    except ImportError:
        real = False
    if not real:
        assert reason is not None and "not installed" in reason


def test_hardware_compatibility_on_a_jetson_is_refused_before_any_build_work(monkeypatch):
    orin = {"name": "Orin", "compute_capability": "8.7", "arch": "aarch64", "os": "Linux",
            "jetpack": "6"}
    monkeypatch.setattr(registry, "BACKENDS", tuple(
        dataclasses.replace(b, probe=lambda: None, describe_device=lambda: orin)
        if b.name == "tensorrt" else b for b in registry.BACKENDS
    ))
    with pytest.raises(BackendUnavailable, match="ampere_plus is not supported on Jetson"):
        resolve_backend(_req(backend="tensorrt", hardware_compatibility="ampere_plus"))
    plan = resolve_backend(_req(backend="tensorrt"))
    assert plan.gpu["jetpack"] == "6"  # the platform goes into the manifest's device
