"""The OpenVINO backend: INT8 / FP32 builds gated like the others, engine folders holding only
the blob and the manifest, compatibility checks, and auto measuring it against ONNX Runtime."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from hcd_edge.backends import registry
from hcd_edge.backends.engine_folder import EngineFolder, open_executor
from hcd_edge.builders import BuildRequest, build_engine
from hcd_edge.errors import BackendUnavailable, EngineMismatchError
from hcd_edge.manifest import read_manifest, write_manifest
from hcd_edge.spec import Precision

openvino = pytest.importorskip("openvino", reason="the openvino extra is not installed")


def _build(patches, out, precision, **kw):
    request = BuildRequest(
        onnx=patches.model, precision=precision, out=out, backend="openvino",
        calib=patches.root, calib_n=32, **kw,
    )
    return build_engine(request)


@pytest.fixture(scope="module")
def ov_int8(tmp_path_factory, patches):
    return _build(patches, tmp_path_factory.mktemp("ov") / "tiny-int8-openvino", Precision.INT8)


def test_int8_build_passes_the_gate_and_holds_only_engine_and_manifest(ov_int8):
    manifest = ov_int8.manifest
    assert manifest.backend == "openvino" and manifest.precision is Precision.INT8
    assert manifest.parity["passed"] and manifest.parity["n"] >= 32
    assert sorted(p.name for p in ov_int8.engine_dir.iterdir()) == ["manifest.json", "model.blob"]
    assert manifest.backend_version == openvino.__version__.split("-")[0]
    assert "features" in manifest.device


def test_openvino_logits_match_onnxruntime_fp32(ov_int8, patches, tmp_path):
    fp32 = _build(patches, tmp_path / "ov-fp32", Precision.FP32)
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor

    spec = fp32.manifest.preprocess
    x = np.random.default_rng(0).normal(size=spec.input_shape(7)).astype(np.float32)
    with open_executor(fp32.engine_dir, threads=1) as ov, OrtExecutor(
        patches.model, spec, threads=1
    ) as ort:
        assert np.allclose(ov.infer(x), ort.infer(x), atol=1e-4)


def test_async_slots_return_each_batch_in_order(ov_int8):
    with open_executor(ov_int8.engine_dir, threads=1) as ex:
        spec = ex.spec
        slots = [ex.make_slot(i, 8) for i in range(2)]
        rng = np.random.default_rng(1)
        batches = [rng.normal(size=spec.input_shape(n)).astype(np.float32) for n in (8, 5)]
        for slot, batch in zip(slots, batches):
            slot.host[: len(batch)] = batch
            ex.submit(slot, len(batch))
        got = [ex.collect(slot) for slot in slots]
        want = [ex.infer(b) for b in batches]
    assert [g.shape for g in got] == [(8,), (5,)]
    assert all(np.allclose(g, w, atol=1e-5) for g, w in zip(got, want))


def test_blob_from_another_openvino_release_is_refused(ov_int8, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(ov_int8.engine_dir, copy)
    manifest = read_manifest(copy)
    manifest.backend_version = "2023.0.0"
    write_manifest(copy, manifest)
    with pytest.raises(EngineMismatchError, match="rebuild"):
        open_executor(copy)


def test_without_openvino_the_probe_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino -> ImportError
    reason = registry.get_backend("openvino").probe()
    assert reason is not None and "pip install 'hcd-edge[openvino]'" in reason
    with pytest.raises(BackendUnavailable, match=r"hcd-edge\[openvino\]"):
        registry.require_usable("openvino")


def test_auto_on_this_cpu_measures_both_and_records_it(patches, tmp_path, monkeypatch):
    import dataclasses

    monkeypatch.setattr(registry, "BACKENDS", tuple(
        dataclasses.replace(b, probe=lambda: "no GPU here") if b.device_kind == "gpu" else b
        for b in registry.BACKENDS
    ))
    request = BuildRequest(onnx=patches.model, precision=Precision.FP32, out=tmp_path / "auto",
                           backend="auto", calib=patches.root, calib_n=32)
    result = build_engine(request)
    choice = result.manifest.build_options["auto_choice"]
    assert set(choice["measured_patches_per_s"]) == {"openvino", "onnxruntime"}
    rates = choice["measured_patches_per_s"]
    assert choice["chosen"] == max(rates, key=rates.get) == result.manifest.backend
    assert sorted(p.name for p in result.engine_dir.iterdir()) == sorted(
        ["manifest.json", result.manifest.engine_file]
    )
    assert EngineFolder.open(result.engine_dir).backend.name == choice["chosen"]
    json.dumps(result.manifest.to_dict())  # the record is plain JSON
