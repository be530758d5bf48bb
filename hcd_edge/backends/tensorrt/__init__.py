"""TensorRT backend: serialized plans built and run on NVIDIA GPUs (Jetson or datacenter).

cuda_mem.py is the only module that imports pycuda.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from hcd_edge.backends.base import Backend, CompileJob, EngineFiles, Executor, OpenRequest
from hcd_edge.manifest import Manifest

ENGINE_FILE = "model.plan"


def probe() -> str | None:
    """Why TensorRT engines cannot be built or run here, or None when tensorrt, pycuda and a GPU are present."""
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
    from hcd_edge.backends.tensorrt.compat import installed_tensorrt_problem

    return installed_tensorrt_problem()


def describe_gpu() -> dict | None:
    """The GPU TensorRT would build for, with its platform (None without pycuda or a GPU)."""
    from hcd_edge.device_info import describe_gpu as describe

    return describe()


def preflight(request, device: dict | None) -> None:
    """Refuse, before any calibration, what this GPU cannot build (hardware compatibility on Jetson)."""
    from hcd_edge.backends.tensorrt.compat import hardware_compatibility_problem
    from hcd_edge.errors import BackendUnavailable

    problem = hardware_compatibility_problem(request.hardware_compatibility, device or {})
    if problem is not None:
        raise BackendUnavailable(problem)


def version() -> str:
    """The installed TensorRT release."""
    from hcd_edge.backends.tensorrt.compile import tensorrt_version

    return tensorrt_version()


def compile_engine(job: CompileJob) -> EngineFiles:
    """Build the serialized plan of the precision ONNX for this GPU."""
    from hcd_edge.backends.tensorrt.compile import TrtOptions, compile_tensorrt

    request, gpu = job.request, job.device or {}
    options = TrtOptions(
        batch=request.batch,
        workspace_mb=request.workspace_mb,
        version_compatible=request.version_compatible,
        hardware_compatibility=request.hardware_compatibility,
        timing_cache=request.timing_cache,
    )
    settings = compile_tensorrt(
        job.model, job.folder / ENGINE_FILE, job.spec, options, gpu, job.progress
    )
    return EngineFiles(ENGINE_FILE, BACKEND.name, version(), gpu, settings)


def check(manifest: Manifest, engine_dir: Path) -> None:
    """Nothing before opening: the plan is checked at open, against the GPU it opens on."""


def open_engine(request: OpenRequest) -> Executor:
    """A TrtExecutor of the plan (BackendUnavailable without TensorRT, pycuda and a GPU)."""
    from hcd_edge.backends.tensorrt.executor import open_trt_executor

    return open_trt_executor(request.manifest, request.engine_path)


BACKEND = Backend(
    name="tensorrt",
    title="TensorRT",
    device_kind="gpu",
    probe=probe,
    version=version,
    describe_device=describe_gpu,
    compile=compile_engine,
    check=check,
    open=open_engine,
    symmetric_int8_only=True,
    defers_to_device=True,
    preflight=preflight,
)
