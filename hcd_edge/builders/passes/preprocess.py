"""ONNX Runtime's pre-quantization pass: shape inference and basic fusions (Conv+BatchNorm).

Quantizing after the fusion puts one Q/DQ pair where the fused convolution will run instead
of around a BatchNorm that disappears later, which is both faster and more accurate.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.errors import EngineError


def prepare_for_quantization(src: Path, dst: Path) -> dict:
    """Write src with shapes inferred and basic fusions applied to dst; returns what was done."""
    from onnxruntime.quantization import quant_pre_process

    try:
        quant_pre_process(str(src), str(dst))
        return {"preprocessed": "symbolic shape inference + basic optimization"}
    except Exception as first:  # noqa: BLE001 (symbolic shape inference fails on exotic graphs; retry without)
        try:
            quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        except Exception as exc:
            raise EngineError(f"onnxruntime cannot prepare {src} for quantization: {exc}") from exc
        return {"preprocessed": f"basic optimization (symbolic shape inference failed: {first})"}
