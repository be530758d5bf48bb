"""ONNX Runtime's pre-quantization pass: shape inference and basic fusions (Conv+BatchNorm).

Quantizing after the fusion puts one Q/DQ pair where the fused convolution will run instead
of around a BatchNorm that disappears later, which is both faster and more accurate.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.errors import EngineError

# Modules this pass needs beyond onnxruntime itself: without them ONNX Runtime silently skips a
# step, and the same command builds a different engine. They are runtime dependencies of
# hcd-edge (pyproject.toml); a build refuses to run without them rather than differ.
REQUIRED_MODULES = {"sympy": "symbolic shape inference"}


def check_required_modules() -> None:
    """Raise EngineError naming each REQUIRED_MODULES entry that cannot be imported."""
    import importlib

    missing = []
    for name, purpose in REQUIRED_MODULES.items():
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(f"{name} ({purpose})")
    if missing:
        names = " ".join(m.split()[0] for m in missing)
        raise EngineError(
            f"INT8 preprocessing needs {', '.join(missing)}, which is not installed; without it "
            f"the build would differ from one on a machine that has it. Install it: pip install {names} "
            "(hcd-edge depends on it; reinstalling hcd-edge brings it too)"
        )


def prepare_for_quantization(src: Path, dst: Path) -> dict:
    """Write src with shapes inferred and basic fusions applied to dst; returns what was done."""
    check_required_modules()
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
