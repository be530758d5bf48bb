"""ONNX Runtime backend: the graph optimized once at build time, run on the CPU."""

from __future__ import annotations

from pathlib import Path

from hcd_edge.backends.base import Backend, CompileJob, EngineFiles, Executor, OpenRequest
from hcd_edge.device_info import describe_cpu
from hcd_edge.manifest import Manifest

ENGINE_FILE = "model.onnx"


def probe() -> str | None:
    """None: onnxruntime is a core dependency, importable wherever hcd-edge installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (pip install onnxruntime)"
    return None


def version() -> str:
    """The installed onnxruntime release."""
    from hcd_edge.backends.onnxruntime.compile import onnxruntime_version

    return onnxruntime_version()


def compile_engine(job: CompileJob) -> EngineFiles:
    """Optimize the precision ONNX for this CPU and save it as the engine file."""
    from hcd_edge.backends.onnxruntime.compile import compile_onnxruntime

    job.progress.note("optimizing the graph with ONNX Runtime…")
    options = compile_onnxruntime(job.model, job.folder / ENGINE_FILE, job.request.threads)
    return EngineFiles(ENGINE_FILE, BACKEND.name, version(), describe_cpu(), options)


def check(manifest: Manifest, engine_dir: Path) -> None:
    """Refuse an engine optimized offline for another ORT release or for CPU features missing here."""
    from hcd_edge.backends.cpu_compat import check_cpu_features, check_release

    if not manifest.build_options.get("optimized_offline", False):
        return  # a plain or portable ONNX runs on any ORT release and CPU
    check_release("onnxruntime", manifest, engine_dir, version())
    check_cpu_features(manifest, engine_dir)


def open_engine(request: OpenRequest) -> Executor:
    """An OrtExecutor of the engine file (a portable or plain ONNX is optimized at load)."""
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor

    manifest = request.manifest
    optimized = bool(manifest.build_options.get("optimized_offline", False))
    return OrtExecutor(
        request.engine_path,
        manifest.preprocess,
        precision=manifest.precision,
        max_batch=manifest.batch.max,
        threads=request.threads,
        offline_optimized=optimized and manifest.stage != "onnx",
    )


BACKEND = Backend(
    name="onnxruntime",
    title="ONNX Runtime",
    device_kind="cpu",
    probe=probe,
    version=version,
    describe_device=describe_cpu,
    compile=compile_engine,
    check=check,
    open=open_engine,
)
