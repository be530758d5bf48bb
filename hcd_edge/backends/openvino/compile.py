"""OpenVINO compile: the precision ONNX compiled for this CPU and exported as a blob.

The blob (OpenVINO's compiled-model export) is specific to the OpenVINO release and the CPU's
instruction set, like ONNX Runtime's offline-optimized graph: the manifest records both and the
executor refuses a mismatch. FP32 and FP16 engines compute in f32 (OpenVINO would otherwise pick
bf16 on CPUs with AMX or AVX512-BF16, which the FP32 parity gate would rightly reject); a Q/DQ
INT8 model runs its quantized convolutions in int8.
"""

from __future__ import annotations

import os
from pathlib import Path

from hcd_edge.atomic import write_bytes_atomic
from hcd_edge.errors import BackendUnavailable, EngineError

DEVICE = "CPU"
INSTALL_HINT = "pip install 'hcd-edge[openvino]'"


def require_openvino():
    """The openvino module; BackendUnavailable saying how to install it."""
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailable(f"openvino is not installed ({INSTALL_HINT})") from exc
    return openvino


def openvino_version() -> str:
    """The installed OpenVINO release, e.g. 2026.4.1."""
    ov = require_openvino()
    return str(ov.__version__).split("-")[0]


def compile_config(threads: int | None) -> dict:
    """CPU plugin settings: `threads` inference threads (None = all cores), f32 where not int8."""
    return {
        "INFERENCE_NUM_THREADS": int(threads or (os.cpu_count() or 1)),
        "INFERENCE_PRECISION_HINT": "f32",
        "PERFORMANCE_HINT": "LATENCY",  # one request uses all threads, as the ORT executor does
    }


def compile_openvino(src: Path, dst: Path, threads: int | None) -> dict:
    """Compile src for this CPU and write the exported blob to dst; returns the settings used."""
    ov = require_openvino()
    config = compile_config(threads)
    try:
        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(src)), DEVICE, config)
        blob = compiled.export_model()
    except RuntimeError as exc:  # OpenVINO raises RuntimeError for unsupported or invalid graphs
        raise EngineError(f"openvino cannot compile {src}: {exc}") from exc
    data = blob.getvalue() if hasattr(blob, "getvalue") else bytes(blob)
    write_bytes_atomic(Path(dst), data)
    return {"device": DEVICE, "format": "openvino compiled-model export", **config}
