"""Which backend and stage a build resolves to on this machine (the `auto` choice)."""

from __future__ import annotations

from dataclasses import dataclass

from hcd_edge.backends.registry import Backend, tensorrt_missing_reason
from hcd_edge.backends.tensorrt.compat import hardware_compatibility_problem
from hcd_edge.builders.request import BuildRequest, Stage
from hcd_edge.device_info import describe_gpu
from hcd_edge.errors import BackendUnavailable


@dataclass(frozen=True)
class BackendPlan:
    """The resolved backend and stage of a build."""

    backend: Backend  # ONNXRUNTIME or TENSORRT, never AUTO
    stage: Stage
    gpu: dict | None  # describe_gpu() when building a TensorRT engine here
    deferred_reason: str | None = None  # TensorRT asked for but not here: why (stage is ONNX)
    note: str | None = None


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
    gpu = describe_gpu() or {}
    problem = hardware_compatibility_problem(request.hardware_compatibility, gpu)
    if problem is not None:  # refused here, before any calibration or parity work
        raise BackendUnavailable(problem)
    return BackendPlan(Backend.TENSORRT, stage, gpu, note="backend: TensorRT")
