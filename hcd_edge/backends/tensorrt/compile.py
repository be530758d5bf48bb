"""TensorRT compile: precision ONNX -> strongly typed network -> serialized plan.

Precision lives in the ONNX (Q/DQ nodes for INT8, FP16-typed tensors for FP16), so the network
is created strongly typed and no precision builder flag is set: the same code builds on
TensorRT 10.x (JetPack 6) and 11.x, where those flags are gone. TF32, on by default and not
turned off by strong typing, is cleared: a float32 tensor then computes in float32 (TF32
rounds convolution inputs to 10 mantissa bits, which moves probabilities by more than the
FP32 parity gate allows). TensorRT before 10.0 is refused. One optimization profile
covers the dynamic batch; a timing cache shared by all builds on this GPU and TensorRT release
makes rebuilds fast; a progress monitor reports the long tactic search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import tensorrt as trt

from hcd_edge.atomic import write_bytes_atomic
from hcd_edge.backends.tensorrt.compat import (
    hardware_compatibility_problem,
    tensorrt_release_problem,
)
from hcd_edge.cache_dir import user_cache_dir
from hcd_edge.errors import BackendUnavailable, EngineError
from hcd_edge.manifest import BatchProfile
from hcd_edge.spec import INPUT_NAME, PreprocessSpec


@dataclass(frozen=True)
class TrtOptions:
    """Builder settings of one TensorRT build."""

    batch: BatchProfile
    workspace_mb: int
    version_compatible: bool = False
    hardware_compatibility: str = "none"  # none | ampere_plus | same_compute_capability
    timing_cache: Path | None = None  # None: default_timing_cache(gpu)
    allow_tf32: bool = False  # True lets float32 convolutions / matmuls compute in TF32


class _TrtLogger(trt.ILogger):
    """Keeps TensorRT's errors for the exception text and passes warnings to the progress notes."""

    def __init__(self, progress) -> None:
        trt.ILogger.__init__(self)
        self.errors: list[str] = []
        self._progress = progress

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        """Called by TensorRT for every message at or above its minimum severity."""
        if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
            self.errors.append(msg)
        elif severity == trt.ILogger.Severity.WARNING:
            self._progress.note(f"TensorRT: {msg}")


def tensorrt_version() -> str:
    """The installed TensorRT version string."""
    return str(trt.__version__)


def default_timing_cache(gpu: dict) -> Path:
    """<user cache>/tensorrt/<trt version>-sm<cc>.timing-cache: one per TensorRT release and GPU."""
    cc = str(gpu.get("compute_capability", "unknown")).replace(".", "")
    return user_cache_dir() / "tensorrt" / f"{tensorrt_version()}-sm{cc}.timing-cache"


def compile_tensorrt(
    onnx_path: Path, plan_path: Path, spec: PreprocessSpec, options: TrtOptions, gpu: dict, progress
) -> dict:
    """Build and write the plan; returns the builder settings for the manifest."""
    problem = tensorrt_release_problem(tensorrt_version()) or hardware_compatibility_problem(
        options.hardware_compatibility, gpu
    )
    if problem is not None:
        raise BackendUnavailable(problem)
    logger = _TrtLogger(progress)
    builder = trt.Builder(logger)
    network = builder.create_network(_strongly_typed_flag())
    parser = trt.OnnxParser(network, logger)
    _parse(parser, onnx_path)
    config = builder.create_builder_config()
    _add_profile(builder, network, config, spec, options.batch)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    settings = _set_compatibility(config, options)
    settings["tf32"] = _set_tf32(config, options.allow_tf32, progress)
    monitor = _attach_progress_monitor(config, progress)
    cache_path = options.timing_cache or default_timing_cache(gpu)
    cache_note = _load_timing_cache(config, cache_path)
    progress.note(
        f"building the TensorRT engine (TensorRT {tensorrt_version()}, {gpu.get('name')})…"
    )
    start = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - start
    if plan is None:
        detail = "\n".join(logger.errors) or "no message from TensorRT"
        raise EngineError(f"TensorRT could not build an engine from {onnx_path}:\n{detail}")
    write_bytes_atomic(plan_path, bytes(memoryview(plan)))
    _save_timing_cache(config, cache_path)
    del monitor  # held until here: TensorRT needs the monitor alive for the whole build
    return {
        "strongly_typed": True,
        "workspace_mb": options.workspace_mb,
        **settings,
        "timing_cache": str(cache_path),
        "timing_cache_loaded": cache_note,
        "build_seconds": round(seconds, 2),
        "tensorrt_version": tensorrt_version(),
    }


def _strongly_typed_flag() -> int:
    # TensorRT 11 networks are always strongly typed and the flag is still accepted there.
    # Without it (TensorRT 8.x) flags=0 would mean implicit batch: refuse rather than fall back.
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if flag is None:
        raise BackendUnavailable(
            f"TensorRT {tensorrt_version()} has no strongly typed networks "
            "(NetworkDefinitionCreationFlag.STRONGLY_TYPED); install TensorRT 10 or later"
        )
    return 1 << int(flag)


def _set_tf32(config: trt.IBuilderConfig, allow: bool, progress) -> bool:
    """Clear (or keep) BuilderFlag.TF32; returns whether float32 layers may compute in TF32."""
    flag = getattr(trt.BuilderFlag, "TF32", None)
    if flag is None:  # a release without the flag: nothing to clear, and say so
        progress.note("this TensorRT has no BuilderFlag.TF32; float32 layers use its default math")
        return False
    if allow:
        config.set_flag(flag)
    else:
        config.clear_flag(flag)
    return bool(config.get_flag(flag))


def _parse(parser: trt.OnnxParser, onnx_path: Path) -> None:
    if parser.parse_from_file(str(onnx_path)):
        return
    errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
    raise EngineError(
        f"TensorRT's ONNX parser rejected {onnx_path} ({len(errors)} errors):\n" + "\n".join(errors)
    )


def _add_profile(
    builder: trt.Builder,
    network: trt.INetworkDefinition,
    config: trt.IBuilderConfig,
    spec: PreprocessSpec,
    batch: BatchProfile,
) -> None:
    fixed = int(network.get_input(0).shape[0])  # -1 when the batch is dynamic
    if fixed != -1 and not batch.min == batch.opt == batch.max == fixed:
        raise EngineError(
            f"the ONNX input has a fixed batch of {fixed}; re-export it with a dynamic batch "
            f"or build with --batch {fixed}:{fixed}:{fixed}"
        )
    profile = builder.create_optimization_profile()
    shapes = [trt.Dims(list(spec.input_shape(n))) for n in (batch.min, batch.opt, batch.max)]
    profile.set_shape(INPUT_NAME, shapes[0], shapes[1], shapes[2])
    config.add_optimization_profile(profile)


def _set_compatibility(config: trt.IBuilderConfig, options: TrtOptions) -> dict:
    level_name = options.hardware_compatibility.upper()  # e.g. ampere_plus -> AMPERE_PLUS
    try:
        if options.version_compatible:
            config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
        if level_name != "NONE":
            config.hardware_compatibility_level = getattr(
                trt.HardwareCompatibilityLevel, level_name
            )
    except AttributeError as exc:
        raise BackendUnavailable(
            f"TensorRT {tensorrt_version()} lacks this compatibility option ({exc}); "
            "build without --version-compatible / --hardware-compatibility"
        ) from exc
    return {
        "version_compatible": options.version_compatible,
        "hardware_compatibility_level": level_name,
    }


def _attach_progress_monitor(config: trt.IBuilderConfig, progress) -> object | None:
    try:
        from hcd_edge.backends.tensorrt.progress import TrtProgressMonitor

        monitor = TrtProgressMonitor(progress)
        config.progress_monitor = monitor
    except (ImportError, AttributeError):  # a TensorRT without IProgressMonitor
        progress.note("this TensorRT has no progress monitor; the build may be silent for minutes")
        return None
    return monitor


def _load_timing_cache(config: trt.IBuilderConfig, path: Path) -> str:
    data = path.read_bytes() if path.is_file() else b""
    try:
        cache = config.create_timing_cache(data)
        accepted = cache is not None and config.set_timing_cache(cache, False)
    except (TypeError, RuntimeError, ValueError):  # a corrupt file: some releases raise
        accepted = False
    if accepted:
        return f"reused {path}" if data else "new"
    # A cache from another GPU or TensorRT release: start a fresh one, overwrite it afterwards.
    config.set_timing_cache(config.create_timing_cache(b""), False)
    return f"ignored {path} (corrupt, or made for another GPU or TensorRT release)"


def _save_timing_cache(config: trt.IBuilderConfig, path: Path) -> None:
    cache = config.get_timing_cache()
    if cache is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, bytes(memoryview(cache.serialize())))
