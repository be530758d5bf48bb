"""Can a TensorRT plan run here? Its manifest against this GPU and TensorRT release (pure Python).

A plan runs only on the TensorRT release that built it, unless built version-compatible (then
on that release or later), and only on the GPU model it was built for, unless built with a
hardware-compatibility level (ampere_plus: any GPU of compute capability 8.0 or later;
same_compute_capability: any GPU of the same compute capability).
"""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from hcd_edge.errors import EngineMismatchError
from hcd_edge.manifest import Manifest

AMPERE = Version("8.0")


def check_tensorrt_compatible(manifest: Manifest, gpu: dict, trt_version: str, engine: Path) -> None:
    """Raise EngineMismatchError, saying what to rebuild, when the plan cannot run on `gpu`."""
    problem = version_problem(manifest, trt_version) or gpu_problem(manifest, gpu)
    if problem is None:
        return
    name = gpu.get("name", "this GPU")
    raise EngineMismatchError(
        f"{engine}: {problem}. Rebuild it here, on the {name}: hcd-edge build-engine "
        f"{manifest.source_onnx} --precision {manifest.precision.value} --backend tensorrt --force"
        " (or score on the CPU with an ONNX Runtime engine: --backend onnxruntime)"
    )


def version_problem(manifest: Manifest, trt_version: str) -> str | None:
    """Why this TensorRT release cannot load the plan, or None."""
    built, here = _version(manifest.backend_version), _version(trt_version)
    if built is None or here is None:
        return f"TensorRT versions cannot be compared (built {manifest.backend_version!r}, here {trt_version!r})"
    if manifest.build_options.get("version_compatible", False):
        if here < built:
            return (f"it was built version-compatible with TensorRT {built}, which runs on that "
                    f"release or later; this is TensorRT {here}")
        return None
    if here != built:
        return f"it was built with TensorRT {built} and this is TensorRT {here}"
    return None


def gpu_problem(manifest: Manifest, gpu: dict) -> str | None:
    """Why the plan cannot run on `gpu` ({"name", "compute_capability"}), or None."""
    level = str(manifest.build_options.get("hardware_compatibility_level", "NONE")).upper()
    built_cc = _version(str(manifest.device.get("compute_capability", "")))
    here_cc = _version(str(gpu.get("compute_capability", "")))
    built_name, here_name = manifest.device.get("name"), gpu.get("name")
    if here_cc is None:
        return "the compute capability of this GPU is unknown"
    if level == "AMPERE_PLUS":
        return None if here_cc >= AMPERE else (
            f"it was built for Ampere or later GPUs (compute capability 8.0+); this GPU is {here_cc}")
    if built_cc != here_cc:
        return (f"it was built for compute capability {built_cc} ({built_name}); this GPU "
                f"({here_name}) is {here_cc}")
    if level != "SAME_COMPUTE_CAPABILITY" and built_name != here_name:
        return f"it was built for the {built_name}; this GPU is the {here_name}"
    return None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
