"""Which backend and stage a build resolves to on this machine (the `auto` choice)."""

from __future__ import annotations

from dataclasses import dataclass

from hcd_edge.backends import registry
from hcd_edge.backends.base import Backend
from hcd_edge.builders.request import BuildRequest, Stage
from hcd_edge.errors import BackendUnavailable


@dataclass(frozen=True)
class BackendPlan:
    """The resolved backend and stage of a build."""

    backend: Backend  # never auto; with candidates, the fallback when measuring is not needed
    stage: Stage
    gpu: dict | None  # the GPU description when building for a GPU backend here
    # auto on a CPU with several usable backends: the build measures them on the precision
    # ONNX and keeps the fastest (recorded in the manifest).
    candidates: tuple[Backend, ...] = ()
    deferred_reason: str | None = None  # a device backend asked for but not here: why
    note: str | None = None


def resolve_backend(request: BuildRequest) -> BackendPlan:
    """auto -> a usable GPU backend, else the fastest usable CPU backend (measured by the build);
    a named backend -> itself, or its portable stage when it defers to its device."""
    stage = request.stage_choice
    if request.backend != registry.AUTO:
        return _checked(_named(registry.get_backend(request.backend), stage), request)
    gpu = registry.usable("gpu")
    why_not_gpu = "; ".join(
        f"{b.title}: {b.probe()}" for b in registry.BACKENDS if b.device_kind == "gpu"
    )
    if gpu:
        plan = BackendPlan(gpu[0], stage, _device(gpu[0], stage), note=f"backend auto: {gpu[0].title}")
        return _checked(plan, request)
    cpu = registry.usable("cpu")
    if not cpu:
        raise BackendUnavailable(f"no backend can run here ({registry.probe_all()})")
    reference = cpu[-1]  # the last CPU backend is the reference runtime (ONNX Runtime)
    if len(cpu) == 1 or stage is Stage.ONNX:
        return BackendPlan(reference, stage, None, note=f"backend auto: {reference.title} ({why_not_gpu})")
    names = " and ".join(b.title for b in cpu)
    return BackendPlan(
        reference, stage, None, candidates=tuple(cpu),
        note=f"backend auto: the faster of {names} on this CPU, measured after the precision pass "
        f"({why_not_gpu})",
    )


def _named(backend: Backend, stage: Stage) -> BackendPlan:
    if stage is Stage.ONNX:
        return BackendPlan(backend, stage, None)
    reason = backend.probe()
    if reason is None:
        return BackendPlan(backend, stage, _device(backend, stage), note=f"backend: {backend.title}")
    if backend.defers_to_device:
        return BackendPlan(backend, Stage.ONNX, None, deferred_reason=reason)
    raise BackendUnavailable(f"the {backend.title} backend cannot build here: {reason}")


def _device(backend: Backend, stage: Stage) -> dict | None:
    if backend.device_kind != "gpu" or stage is Stage.ONNX:
        return None
    return backend.describe_device()


def _checked(plan: BackendPlan, request: BuildRequest) -> BackendPlan:
    """The plan, after its backend's preflight has accepted the request for this device."""
    if plan.stage is Stage.ENGINE and plan.backend.preflight is not None:
        plan.backend.preflight(request, plan.gpu)
    return plan
