"""ONNX Runtime compile: apply every graph optimization once, at build time, and save the result.

The saved graph (fused Q/DQ -> QLinearConv, NCHWc layouts, ...) is specific to this onnxruntime
release and CPU's instruction set; the manifest records both and the loader refuses a mismatch.
At run time the executor loads it with optimizations off: a faster start, the same graph.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.errors import EngineError

PROVIDERS = ["CPUExecutionProvider"]
ORT_QUIET = (
    3  # onnxruntime log severity: errors only (it warns that the saved graph is CPU-specific)
)


def onnxruntime_version() -> str:
    """The installed onnxruntime version string."""
    import onnxruntime as ort

    return str(ort.__version__)


def compile_onnxruntime(src: Path, dst: Path, threads: int | None) -> dict:
    """Optimize src with ORT_ENABLE_ALL and save the optimized model to dst; returns session options."""
    import onnxruntime as ort

    from hcd_edge.backends.onnxruntime.executor import session_options

    opts = session_options(threads, offline_optimized=False)
    opts.optimized_model_filepath = str(dst)
    opts.log_severity_level = ORT_QUIET
    try:
        ort.InferenceSession(str(src), sess_options=opts, providers=PROVIDERS)
    except Exception as exc:  # ORT raises Fail / InvalidGraph / NotImplemented for bad graphs
        raise EngineError(f"onnxruntime cannot optimize {src}: {exc}") from exc
    if not dst.is_file():
        raise EngineError(f"onnxruntime did not write the optimized model {dst}")
    return {
        "optimized_offline": True,
        "graph_optimization_level": "ORT_ENABLE_ALL",
        "load_graph_optimization_level": "ORT_DISABLE_ALL",
        "providers": PROVIDERS,
        "execution_mode": "ORT_SEQUENTIAL",
        "intra_op_num_threads": opts.intra_op_num_threads,
        "inter_op_num_threads": opts.inter_op_num_threads,
    }
