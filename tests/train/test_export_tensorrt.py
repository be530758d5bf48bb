"""`hcd-edge export --tensorrt`: the torch-tensorrt route to an engine folder.

On a CPU the compile call is checked against a fake torch_tensorrt (what it is given), and the
folder it writes is opened by the torch-free runtime on the fake GPU; the whole route runs only
where torch-tensorrt and a GPU are (the `gpu` test skips with the reason elsewhere).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.errors import BackendUnavailable, EngineError
from hcd_edge.manifest import BatchProfile, TensorInfo, read_manifest, verify_engine_file
from hcd_edge.spec import Precision
from hcd_edge.train import export_tensorrt as route
from tests.backends.fake_gpu import FAKE_PLAN, GPU, FakeCuda, fake_tensorrt


def fake_torch_tensorrt() -> types.SimpleNamespace:
    calls: dict = {}

    class Input:
        def __init__(self, **kwargs) -> None:
            self.kwargs = kwargs

    def convert(program, **kwargs):
        calls.update(program=program, **kwargs)
        return FAKE_PLAN

    return types.SimpleNamespace(__version__="2.99.0", Input=Input, calls=calls,
                                 dynamo=types.SimpleNamespace(
                                     convert_exported_program_to_serialized_trt_engine=convert))


def tiny_net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(4, 1)).eval()


def test_fp16_runs_the_model_in_half_between_float32_input_and_logit():
    typed = route.TypedModel(tiny_net(), torch.float16)
    out = typed(torch.zeros(2, 3, 96, 96))
    assert out.dtype == torch.float32 and out.shape == (2, 1)
    assert next(typed.model.parameters()).dtype == torch.float16


def test_compile_uses_explicit_typing_no_tf32_and_one_dynamic_batch_profile():
    tt = fake_torch_tensorrt()
    plan = route.compile_plan(route.TypedModel(tiny_net(), torch.float32), BatchProfile(2, 8, 32), tt)
    assert plan == FAKE_PLAN
    calls = tt.calls
    assert calls["use_explicit_typing"] is True and calls["disable_tf32"] is True
    assert "enabled_precisions" not in calls  # ignored by explicit typing, gone with TensorRT 11
    (spec,) = calls["arg_inputs"]
    assert spec.kwargs["min_shape"] == (2, 3, 96, 96) and spec.kwargs["max_shape"] == (32, 3, 96, 96)
    assert isinstance(calls["program"], torch.export.ExportedProgram)
    ranges = [str(r) for r in calls["program"].range_constraints.values()]
    assert any("2" in r and "32" in r for r in ranges), ranges  # the batch stays dynamic


def a_checkpoint(path):
    """A checkpoint's model part, without training one (the manifest needs no weights)."""
    from hcd_edge.spec import IMAGENET_SPEC
    from hcd_edge.train import ModelConfig
    from hcd_edge.train.checkpoint import ModelCheckpoint

    path.write_bytes(b"checkpoint bytes")
    return ModelCheckpoint(model=ModelConfig(widths=(8, 16, 32, 64)), state_dict={},
                           spec=IMAGENET_SPEC, threshold=0.4, metrics={"auc": 0.9},
                           provenance={"data": "generated"}, epoch=3)


def test_the_written_folder_is_loaded_by_the_torch_free_runtime(tmp_path, monkeypatch):
    from hcd_edge.backends.tensorrt import cuda_mem, plan_info
    from hcd_edge.backends.tensorrt import executor as trt_backend

    names = ([TensorInfo("input", [-1, 3, 96, 96], "float32")], [TensorInfo("output0", [-1, 1], "float32")])
    monkeypatch.setattr(plan_info, "plan_io_tensors", lambda plan: names)
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="10.13.0.35"))
    monkeypatch.setattr("hcd_edge.device_info.describe_gpu", lambda: dict(GPU, kind="gpu"))
    folder = tmp_path / "engine"
    folder.mkdir()
    (folder / route.PLAN_FILE).write_bytes(FAKE_PLAN)
    checkpoint = tmp_path / "best.pt"
    ckpt = a_checkpoint(checkpoint)
    request = route.TrtExportRequest(checkpoint, folder, Precision.FP16, BatchProfile(1, 8, 64))
    manifest = route.engine_manifest(request, ckpt, folder, FAKE_PLAN, "2.99.0")
    from hcd_edge.manifest import write_manifest

    write_manifest(folder, manifest)
    read = read_manifest(folder)
    verify_engine_file(folder, read)
    assert (read.backend, read.outputs[0].name, read.device["arch"]) == ("tensorrt", "output0", GPU["arch"])
    assert read.build_options["explicit_typing"] and read.build_options["tf32"] is False

    cuda = FakeCuda()
    monkeypatch.setattr(cuda_mem, "cuda", cuda)
    monkeypatch.setattr(trt_backend, "trt", fake_tensorrt(cuda, output_name="output0"))
    monkeypatch.setattr(trt_backend, "describe_platform",
                        lambda: {k: GPU[k] for k in ("arch", "os", "jetpack")})
    from hcd_edge.backends.engine_folder import open_executor

    x = route.generated_inputs(read.preprocess, 6)
    with open_executor(folder) as ex:
        assert np.allclose(ex.infer(x), x.reshape(6, -1).mean(axis=1), atol=1e-5)


def test_int8_is_sent_to_the_onnx_route(tmp_path):
    request = route.TrtExportRequest(tmp_path / "best.pt", tmp_path / "e", Precision.INT8)
    with pytest.raises(EngineError, match="build-engine MODEL.onnx --precision int8"):
        route.export_tensorrt(request, torch_tensorrt=fake_torch_tensorrt())


def test_without_torch_tensorrt_the_cli_names_both_routes(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)  # import fails
    with pytest.raises(BackendUnavailable, match="torch-tensorrt is not installed"):
        route.require_torch_tensorrt()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "best.pt"), "-o",
                                       str(tmp_path / "engine"), "--tensorrt"])
    assert result.exit_code == 1
    assert "pip install torch-tensorrt" in result.output and "build-engine model.onnx" in result.output


def _torch_tensorrt_missing() -> str | None:
    try:
        route.require_torch_tensorrt()
    except BackendUnavailable as exc:
        return str(exc)
    return None


MISSING = _torch_tensorrt_missing()


@pytest.mark.gpu
@pytest.mark.skipif(MISSING is not None, reason=f"needs torch-tensorrt and a GPU: {MISSING}")
def test_real_torch_tensorrt_export_scores_like_torch(trained_run, tmp_path):
    manifest = route.export_tensorrt(route.TrtExportRequest(
        trained_run.best, tmp_path / "engine", Precision.FP16, BatchProfile(1, 16, 64)))
    assert manifest.parity["passed"], manifest.parity
