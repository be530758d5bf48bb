"""TensorRT code is type-checked against tensorrt-stubs; TensorRT 11 removals stay out of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .trt_stubs import (
    mypy_available,
    patch_stub_text,
    run_mypy,
    stubs_installed,
    write_patched_stubs,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hcd_edge"
# Everything that may reach TensorRT: the runtime, the benchmarks (torch-tensorrt rows) and train/.
SCANNED = (PACKAGE, ROOT / "benchmarks", ROOT / "train")

# Gone in TensorRT 11 (deprecated since 10.1): precision must live in the ONNX graph instead.
REMOVED_BUILDER_FLAGS = {"INT8", "FP16"}  # as BuilderFlag.INT8 / BuilderFlag.FP16
REMOVED_NAMES = {"int8_calibrator", "IInt8Calibrator", "IInt8EntropyCalibrator2",
                 "IInt8EntropyCalibrator", "IInt8MinMaxCalibrator", "IInt8LegacyCalibrator",
                 "set_calibration_profile", "get_calibration_profile", "CalibrationAlgoType"}

needs_mypy = pytest.mark.skipif(
    not (mypy_available() and stubs_installed()),
    reason="mypy and tensorrt-stubs are needed (pip install mypy; pip install --no-deps tensorrt-stubs)",
)


def tensorrt_modules() -> list[Path]:
    """Modules of the package that import tensorrt."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "tensorrt" or n.startswith("tensorrt.") for n in names):
                found.append(path)
                break
    return found


def test_stub_patch_fixes_keyword_default_and_libs_import():
    text = (
        "import tensorrt_libs as tensorrt_libs\n"
        "def f(self, in: list[int], out: list[int]) -> int: ...\n"
        "def add_scale_nd(self, input: ITensor, mode: ScaleMode, shift: Weights = None, "
        "scale: Weights = None, power: Weights = None, channel_axis: int) -> IScaleLayer: ...\n"
        "__all__ = ['a', 'tensorrt_libs', 'b']\n"
    )
    patched = patch_stub_text(text)
    assert "tensorrt_libs" not in patched
    assert "in_: list[int]" in patched and " in: " not in patched
    assert "channel_axis: int = 0)" in patched


@needs_mypy
def test_tensorrt_modules_pass_mypy_with_stubs(tmp_path):
    modules = tensorrt_modules()
    assert modules, "no module imports tensorrt: the TensorRT backend and builder are missing"
    result = run_mypy(modules, write_patched_stubs(tmp_path / "stubs"))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_mypy
def test_mypy_with_stubs_catches_misspelled_tensorrt_api(tmp_path):
    bad = tmp_path / "bad_trt.py"
    bad.write_text(
        "import tensorrt as trt\n\n"
        "def f(ctx: trt.IExecutionContext, stream: int) -> None:\n"
        "    ctx.execute_async_v4(stream)\n"
        "    print(trt.BuilderFlag.FP17)\n"
    )
    result = run_mypy([bad], write_patched_stubs(tmp_path / "stubs"))
    assert result.returncode != 0
    assert "execute_async_v4" in result.stdout and "FP17" in result.stdout


def removed_api_uses(source: str) -> list[tuple[int, str]]:
    """(line, name) of every use of an API TensorRT 11 removed in Python source text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if name in REMOVED_NAMES:
            found.append((node.lineno, name))
        elif isinstance(node, ast.Attribute) and name in REMOVED_BUILDER_FLAGS:
            owner = node.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if owner_name == "BuilderFlag":
                found.append((node.lineno, f"BuilderFlag.{name}"))
    return found


def test_removed_api_detector_flags_builder_flags_and_calibrators_only():
    source = (
        "import tensorrt as trt\n"
        "config.set_flag(trt.BuilderFlag.INT8)\n"
        "config.set_flag(trt.BuilderFlag.FP16)\n"
        "config.int8_calibrator = cal\n"
        "class C(trt.IInt8EntropyCalibrator2): pass\n"
        "p = Precision.INT8\n"
        "q = Precision.FP16\n"
        "config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)\n"
    )
    names = [name for _, name in removed_api_uses(source)]
    assert names.count("BuilderFlag.INT8") == 1 and names.count("BuilderFlag.FP16") == 1
    assert "int8_calibrator" in names and "IInt8EntropyCalibrator2" in names
    assert len(names) == 4


def test_no_tensorrt11_removed_api_in_package_benchmarks_or_train():
    offenders = []
    for path in sorted(p for folder in SCANNED for p in folder.rglob("*.py")):
        for line, name in removed_api_uses(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not offenders, "TensorRT 11 removed these; put precision in the ONNX graph:\n" + "\n".join(offenders)
