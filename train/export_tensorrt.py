"""torch-tensorrt route: a checkpoint -> a serialized TensorRT engine folder for the torch-free runtime.

torch.export traces the model with a dynamic batch; torch_tensorrt (dynamo) compiles the
ExportedProgram straight to a serialized plan (convert_exported_program_to_serialized_trt_engine)
with explicit typing -- precision comes from the module's dtypes, never from the deprecated
`enabled_precisions` (TensorRT 11 dropped the FP16 builder flag) -- and TF32 off. FP16 runs
the model in float16 between a float32 input and a float32 logit, so the plan has the same
I/O as every other hcd-edge engine. The folder gets a manifest like build-engine's (device and
platform, TensorRT version, batch profile, the plan's own tensor names) and a parity report
against torch FP32 on generated patches; `hcd-edge score --engine` loads it without torch.
Needs an NVIDIA GPU with torch-tensorrt; elsewhere BackendUnavailable says so.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from hcd_edge import __version__
from hcd_edge.errors import BackendUnavailable, EngineError
from hcd_edge.manifest import BatchProfile, Manifest, sha256_file, write_manifest
from hcd_edge.spec import PATCH_SIZE, Precision, PreprocessSpec
from hcd_edge.train.checkpoint import load_model_checkpoint
from hcd_edge.train.export import model_info
from hcd_edge.train.models import build_model

PLAN_FILE = "model.plan"
PARITY_PATCHES = 64
DTYPES = {Precision.FP32: torch.float32, Precision.FP16: torch.float16}


@dataclass(frozen=True)
class TrtExportRequest:
    """One `hcd-edge export --tensorrt` run."""

    checkpoint: Path
    out: Path  # the engine folder to write
    precision: Precision = Precision.FP16
    batch: BatchProfile = field(default_factory=BatchProfile)
    force: bool = False


class TypedModel(torch.nn.Module):
    """The model run in `dtype` between a float32 input and a float32 logit of shape (N, 1)."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype):
        super().__init__()
        self.model, self.dtype = model.to(dtype), dtype

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.model(input.to(self.dtype)).float().reshape(-1, 1)


def require_torch_tensorrt():
    """The torch_tensorrt module when it and a CUDA GPU are here; BackendUnavailable naming why not."""
    try:
        module = importlib.import_module("torch_tensorrt")
    except ImportError as exc:
        raise BackendUnavailable(
            f"torch-tensorrt is not installed ({exc}); on a GPU machine: pip install torch-tensorrt "
            "(matching your torch), or take the ONNX route: hcd-edge export CHECKPOINT -o model.onnx "
            "and hcd-edge build-engine model.onnx --backend tensorrt"
        ) from exc
    if not torch.cuda.is_available():
        raise BackendUnavailable("torch-tensorrt needs an NVIDIA GPU and torch built with CUDA; "
                                 "none is visible to torch here")
    return module


def export_tensorrt(request: TrtExportRequest, torch_tensorrt=None) -> Manifest:
    """Compile the checkpoint with torch-tensorrt and write the engine folder; returns its manifest."""
    if request.precision not in DTYPES:
        raise EngineError(f"export --tensorrt builds fp32 or fp16, not {request.precision.value}; "
                          "for INT8 use hcd-edge build-engine MODEL.onnx --precision int8 --backend tensorrt")
    from hcd_edge.builders.staging import Staging, check_output_free

    check_output_free(Path(request.out), request.force)
    tt = torch_tensorrt or require_torch_tensorrt()
    ckpt = load_model_checkpoint(request.checkpoint)
    model = build_model(ckpt.model, pretrained=False)
    model.load_state_dict(ckpt.state_dict)
    model.eval()
    typed = TypedModel(copy.deepcopy(model), DTYPES[request.precision])
    plan = compile_plan(typed.cuda().eval(), request.batch, tt)
    staging = Staging(Path(request.out), request.force)
    with staging as work:
        (work / PLAN_FILE).write_bytes(plan)
        manifest = engine_manifest(request, ckpt, work, plan, str(getattr(tt, "__version__", "?")))
        manifest.parity = torch_parity(model.float().cuda(), work, ckpt.spec, manifest)
        write_manifest(work, manifest)
        staging.commit()
    return manifest


def compile_plan(module: torch.nn.Module, batch: BatchProfile, tt) -> bytes:
    """The serialized TensorRT plan of `module` over a dynamic batch of batch.min..batch.max."""
    device = next(module.parameters()).device
    example = torch.zeros(batch.opt, 3, PATCH_SIZE, PATCH_SIZE, device=device)
    n = torch.export.Dim("N", min=batch.min, max=batch.max)
    with torch.no_grad():
        program = torch.export.export(module, (example,), dynamic_shapes=({0: n},))
    shape = (3, PATCH_SIZE, PATCH_SIZE)
    spec = tt.Input(min_shape=(batch.min, *shape), opt_shape=(batch.opt, *shape),
                    max_shape=(batch.max, *shape), dtype=torch.float32)
    plan = tt.dynamo.convert_exported_program_to_serialized_trt_engine(
        program, arg_inputs=[spec], use_explicit_typing=True, disable_tf32=True)
    return bytes(plan)


def engine_manifest(request: TrtExportRequest, ckpt, folder: Path, plan: bytes,
                    torch_tensorrt_version: str) -> Manifest:
    """The manifest of the written plan: this GPU and platform, TensorRT, the plan's tensors."""
    from hcd_edge.backends.tensorrt.plan_info import plan_io_tensors
    from hcd_edge.device_info import describe_gpu

    inputs, outputs = plan_io_tensors(plan)
    info = model_info(ckpt)
    return Manifest(
        name=Path(request.out).name, precision=request.precision, backend="tensorrt",
        backend_version=str(importlib.import_module("tensorrt").__version__),
        engine_file=PLAN_FILE, engine_sha256=sha256_file(folder / PLAN_FILE),
        source_onnx=f"(torch-tensorrt from {Path(request.checkpoint).resolve()})",
        source_onnx_sha256=sha256_file(request.checkpoint), device=describe_gpu() or {},
        batch=request.batch, inputs=inputs, outputs=outputs, preprocess=ckpt.spec,
        threshold=ckpt.threshold, hcd_edge_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_options={"route": "torch-tensorrt (dynamo)", "explicit_typing": True, "tf32": False,
                       "torch": torch.__version__, "torch_tensorrt": torch_tensorrt_version},
        model={"architecture": info.architecture, "metrics": info.metrics,
               "provenance": info.provenance},
    )


def torch_parity(model: torch.nn.Module, folder: Path, spec: PreprocessSpec,
                 manifest: Manifest) -> dict:
    """The engine against torch FP32 on generated patches (parity gate numbers, not gated)."""
    from hcd_edge.backends.base import sigmoid
    from hcd_edge.backends.tensorrt.executor import open_trt_executor
    from hcd_edge.builders.parity import DEFAULT_THRESHOLDS, evaluate

    x = generated_inputs(spec, PARITY_PATCHES)
    with torch.no_grad():
        reference = model(torch.from_numpy(x).to(next(model.parameters()).device)).float()
    p_ref = sigmoid(reference.reshape(-1).cpu().numpy())
    with open_trt_executor(manifest, folder / PLAN_FILE) as engine:
        p_eng = sigmoid(engine.infer(x))
    report = evaluate(p_ref, p_eng, None, manifest.threshold, DEFAULT_THRESHOLDS[manifest.precision])
    return dict(report, reference="torch FP32 (CUDA, eager)", val_source="generated patches",
                gated=False)


def generated_inputs(spec: PreprocessSpec, n: int) -> np.ndarray:
    """n generated patches normalized by `spec` into the engine layout (N, 3, 96, 96) float32."""
    from hcd_edge.synthetic import generate_patches

    pixels = generate_patches(n, seed=7).pixels.astype(np.float32) / 255.0  # (n, 96, 96, 3)
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(0, 3, 1, 2))
