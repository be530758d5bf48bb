"""OpenVINO backend: the precision ONNX compiled for this CPU (what Intel-based edge boxes ship).

An optional extra: pip install 'hcd-edge[openvino]'.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.backends.base import Backend, CompileJob, EngineFiles, Executor, OpenRequest
from hcd_edge.device_info import describe_cpu
from hcd_edge.manifest import Manifest

ENGINE_FILE = "model.blob"


def probe() -> str | None:
    """None when the openvino package and its CPU plugin are usable here, else why not."""
    from hcd_edge.backends.openvino.compile import DEVICE, INSTALL_HINT

    try:
        import openvino
    except ImportError:
        return f"openvino is not installed ({INSTALL_HINT})"
    try:
        devices = openvino.Core().available_devices
    except RuntimeError as exc:
        return f"openvino cannot start: {exc}"
    return None if DEVICE in devices else f"openvino sees no {DEVICE} device (found {devices})"


def version() -> str:
    """The installed OpenVINO release."""
    from hcd_edge.backends.openvino.compile import openvino_version

    return openvino_version()


def compile_engine(job: CompileJob) -> EngineFiles:
    """Compile the precision ONNX for this CPU and export the blob as the engine file."""
    from hcd_edge.backends.openvino.compile import compile_openvino

    job.progress.note("compiling with OpenVINO for this CPU…")
    options = compile_openvino(job.model, job.folder / ENGINE_FILE, job.request.threads)
    return EngineFiles(ENGINE_FILE, BACKEND.name, version(), describe_cpu(), options)


def check(manifest: Manifest, engine_dir: Path) -> None:
    """Refuse a blob exported by another OpenVINO release or for CPU features missing here."""
    from hcd_edge.backends.cpu_compat import check_cpu_features, check_release

    if manifest.stage == "onnx":
        return
    check_release("openvino", manifest, engine_dir, version())
    check_cpu_features(manifest, engine_dir)


def open_engine(request: OpenRequest) -> Executor:
    """An OpenVinoExecutor of the engine file."""
    from hcd_edge.backends.openvino.executor import OpenVinoExecutor

    manifest = request.manifest
    return OpenVinoExecutor(
        request.engine_path,
        manifest.preprocess,
        precision=manifest.precision,
        max_batch=manifest.batch.max,
        threads=request.threads,
    )


BACKEND = Backend(
    name="openvino",
    title="OpenVINO",
    device_kind="cpu",
    probe=probe,
    version=version,
    describe_device=describe_cpu,
    compile=compile_engine,
    check=check,
    open=open_engine,
)
