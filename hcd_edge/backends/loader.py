"""Open an engine folder as an Executor: verify the manifest, check compatibility, pick the backend."""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from hcd_edge.backends.base import Executor
from hcd_edge.device_info import describe_cpu
from hcd_edge.errors import EngineError, EngineMismatchError
from hcd_edge.manifest import Manifest, read_manifest, verify_engine_file

BACKEND_ONNXRUNTIME = "onnxruntime"
BACKEND_TENSORRT = "tensorrt"


def open_executor(
    engine_dir: Path,
    *,
    threads: int | None = None,
    allow_portable: bool = False,
) -> Executor:
    """The Executor of an engine folder; raises EngineError/EngineMismatchError saying what to rebuild.

    A folder from `build-engine --stage onnx` (a precision ONNX awaiting TensorRT on its device)
    opens with ONNX Runtime only when allow_portable is set (parity checks, benchmarks).
    """
    engine_dir = Path(engine_dir)
    manifest = read_manifest(engine_dir)
    engine_path = verify_engine_file(engine_dir, manifest)
    if manifest.stage == "onnx":
        if not allow_portable:
            raise EngineError(
                f"{engine_dir} holds a portable precision ONNX, not an engine; on the device run "
                f"`hcd-edge build-engine {engine_path} --backend {manifest.backend}`"
            )
        return _open_ort(manifest, engine_path, threads, offline_optimized=False)
    if manifest.backend == BACKEND_ONNXRUNTIME:
        check_onnxruntime_compatible(manifest, engine_dir)
        optimized = bool(manifest.build_options.get("optimized_offline", False))
        return _open_ort(manifest, engine_path, threads, offline_optimized=optimized)
    if manifest.backend == BACKEND_TENSORRT:
        from hcd_edge.backends.tensorrt.executor import open_trt_executor

        return open_trt_executor(manifest, engine_path)
    raise EngineError(f"{engine_dir}: unknown backend {manifest.backend!r} in the manifest")


def _open_ort(manifest: Manifest, engine_path: Path, threads: int | None, offline_optimized: bool) -> Executor:
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor

    return OrtExecutor(
        engine_path,
        manifest.preprocess,
        precision=manifest.precision,
        max_batch=manifest.batch.max,
        threads=threads,
        offline_optimized=offline_optimized,
    )


def check_onnxruntime_compatible(manifest: Manifest, engine_dir: Path) -> None:
    """Refuse an ORT engine optimized offline for another ORT release or for missing CPU features."""
    if not manifest.build_options.get("optimized_offline", False):
        return  # a plain ONNX runs on any ORT release and CPU
    import onnxruntime as ort

    built, here = _release(manifest.backend_version), _release(ort.__version__)
    if built != here:
        raise EngineMismatchError(
            f"{engine_dir} was optimized by onnxruntime {manifest.backend_version}, this is "
            f"{ort.__version__}; rebuild it: hcd-edge build-engine {manifest.source_onnx} "
            f"--precision {manifest.precision.value} --backend onnxruntime --force"
        )
    missing = set(manifest.device.get("features", [])) - set(describe_cpu()["features"])
    if missing:
        raise EngineMismatchError(
            f"{engine_dir} was optimized for a CPU with {', '.join(sorted(missing))}, which this "
            f"CPU lacks; rebuild it here: hcd-edge build-engine {manifest.source_onnx} --force"
        )


def _release(version: str) -> tuple[int, int]:
    try:
        v = Version(version)
    except InvalidVersion:
        return (-1, -1)
    return (v.major, v.minor)
