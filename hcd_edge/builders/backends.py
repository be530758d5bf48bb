"""Which backend a build targets and whether this machine can compile for it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..device_info import describe_gpu
from .request import Backend, BuildRequest, Stage


@dataclass(frozen=True)
class BackendPlan:
    """The resolved backend and stage of a build."""

    backend: Backend  # ONNXRUNTIME or TENSORRT, never AUTO
    stage: Stage
    gpu: dict | None  # describe_gpu() when building a TensorRT engine here
    deferred_reason: str | None = None  # TensorRT asked for but not here: why (stage is ONNX)
    note: str | None = None


def tensorrt_missing_reason() -> str | None:
    """Why TensorRT engines cannot be built here, or None when tensorrt, pycuda and a GPU are present."""
    for module, attr, hint in (
        ("tensorrt", "Builder", "pip install 'hcd-edge[gpu]'"),
        ("pycuda.driver", "Device", "pip install pycuda"),
    ):
        try:
            found = hasattr(importlib.import_module(module), attr)
        except ImportError:
            found = False
        if not found:  # tensorrt-stubs alone makes `import tensorrt` succeed, empty
            return f"{module.split('.')[0]} is not installed ({hint})"
    if describe_gpu() is None:
        return "no NVIDIA GPU or CUDA driver is visible"
    return None


def resolve_backend(request: BuildRequest) -> BackendPlan:
    """AUTO -> TensorRT when it can build here, else ONNX Runtime; TensorRT without it -> stage onnx."""
    wanted, stage = request.backend_choice, request.stage_choice
    if wanted is Backend.ONNXRUNTIME or (wanted is Backend.TENSORRT and stage is Stage.ONNX):
        return BackendPlan(backend=wanted, stage=stage, gpu=None)
    reason = tensorrt_missing_reason()
    if wanted is Backend.AUTO and reason is not None:
        return BackendPlan(
            Backend.ONNXRUNTIME, stage, None, note=f"backend auto: ONNX Runtime ({reason})"
        )
    if wanted is Backend.AUTO and stage is Stage.ONNX:
        return BackendPlan(Backend.TENSORRT, stage, None, note="backend auto: TensorRT")
    if reason is not None:
        return BackendPlan(Backend.TENSORRT, Stage.ONNX, None, deferred_reason=reason)
    return BackendPlan(Backend.TENSORRT, stage, describe_gpu(), note="backend: TensorRT")
