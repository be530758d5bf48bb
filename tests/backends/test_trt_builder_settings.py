"""The TensorRT builder settings, run on a CPU against a fake `tensorrt` builder module.

What the review of the never-run build code found: FP32 plans computing in TF32, TensorRT 8.x
falling back to an implicit-batch network, a corrupt timing cache raising instead of being
replaced, and hardware compatibility asked for on a Jetson.
"""

from __future__ import annotations

import importlib
import sys

import pytest

from hcd_edge.errors import BackendUnavailable
from hcd_edge.manifest import BatchProfile
from hcd_edge.progress import SilentProgress
from tests.backends.fake_gpu import FAKE_PLAN, GPU, fake_tensorrt_builder
from tests.tiny_models import TINY_SPEC

COMPILE = "hcd_edge.backends.tensorrt.compile"


def load_compile(monkeypatch, fake):
    """hcd_edge.backends.tensorrt.compile imported afresh against the fake module."""
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.delitem(sys.modules, COMPILE, raising=False)
    monkeypatch.delitem(sys.modules, "hcd_edge.backends.tensorrt.progress", raising=False)
    module = importlib.import_module(COMPILE)
    monkeypatch.delitem(sys.modules, COMPILE)  # the next test imports its own
    return module


def build(compile_module, tmp_path, gpu=GPU, **options):
    opts = compile_module.TrtOptions(batch=BatchProfile(1, 16, 64), workspace_mb=64,
                                     timing_cache=tmp_path / "tc.cache", **options)
    return compile_module.compile_tensorrt(tmp_path / "m.onnx", tmp_path / "model.plan",
                                           TINY_SPEC, opts, dict(gpu), SilentProgress())


def test_tf32_is_cleared_so_float32_layers_compute_in_float32(monkeypatch, tmp_path):
    fake = fake_tensorrt_builder()
    settings = build(load_compile(monkeypatch, fake), tmp_path)
    assert "TF32" not in fake.built[0]["flags"] and settings["tf32"] is False
    assert (tmp_path / "model.plan").read_bytes() == FAKE_PLAN
    assert fake.built[0]["network_flags"] == 1 << 5  # strongly typed


def test_tf32_can_be_allowed_explicitly_and_is_recorded(monkeypatch, tmp_path):
    fake = fake_tensorrt_builder()
    settings = build(load_compile(monkeypatch, fake), tmp_path, allow_tf32=True)
    assert "TF32" in fake.built[0]["flags"] and settings["tf32"] is True


def test_tensorrt_8_is_refused_before_building(monkeypatch, tmp_path):
    fake = fake_tensorrt_builder(version="8.6.1", strongly_typed=False)
    with pytest.raises(BackendUnavailable, match=r"TensorRT 8\.6\.1 is older than 10\.0"):
        build(load_compile(monkeypatch, fake), tmp_path)
    assert fake.built == []


def test_a_release_without_strong_typing_is_refused_not_built_implicit_batch(monkeypatch, tmp_path):
    fake = fake_tensorrt_builder(strongly_typed=False)
    with pytest.raises(BackendUnavailable, match="no strongly typed networks"):
        build(load_compile(monkeypatch, fake), tmp_path)
    assert fake.built == []


@pytest.mark.parametrize("error", [TypeError, RuntimeError, None])
def test_a_corrupt_timing_cache_is_replaced_by_a_fresh_one(monkeypatch, tmp_path, error):
    (tmp_path / "tc.cache").write_bytes(b"\x00garbage")
    fake = fake_tensorrt_builder(corrupt_cache_error=error)
    settings = build(load_compile(monkeypatch, fake), tmp_path)
    assert settings["timing_cache_loaded"].startswith("ignored")
    assert fake.built[0]["cache"] is not None  # built with a fresh cache
    assert (tmp_path / "tc.cache").read_bytes().startswith(b"CACHE")  # and overwrote the bad one


def test_a_good_timing_cache_is_reused(monkeypatch, tmp_path):
    (tmp_path / "tc.cache").write_bytes(b"CACHE-from-an-earlier-build")
    settings = build(load_compile(monkeypatch, fake_tensorrt_builder()), tmp_path)
    assert settings["timing_cache_loaded"].startswith("reused")


def test_hardware_compatibility_on_a_jetson_is_refused_before_building(monkeypatch, tmp_path):
    fake = fake_tensorrt_builder()
    orin = dict(GPU, name="Orin", arch="aarch64", jetpack="6")
    with pytest.raises(BackendUnavailable, match="not supported on Jetson"):
        build(load_compile(monkeypatch, fake), tmp_path, gpu=orin,
              hardware_compatibility="ampere_plus")
    assert fake.built == []
