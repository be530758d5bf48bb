"""Can a TensorRT plan run here? Its manifest against this GPU and TensorRT release (pure Python).

A plan runs only on the TensorRT release that built it, unless built version-compatible (then
on that release or later), and only on the GPU model it was built for, unless built with a
hardware-compatibility level (ampere_plus: any GPU of compute capability 8.0 or later;
same_compute_capability: any GPU of the same compute capability) -- and in every case only on
the platform it was built on (CPU architecture, OS, Jetson or not, JetPack release): hardware
compatibility is not supported on Jetson, and a plan built on an x86 server never runs on an
Orin. TensorRT releases before 10 are refused outright (no strongly typed networks, no
IExecutionContext.set_input_shape / execute_async_v3).
"""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from hcd_edge.errors import EngineMismatchError
from hcd_edge.manifest import Manifest

AMPERE = Version("8.0")
MIN_TENSORRT = Version("10.0")
PLATFORM_KEYS = ("arch", "os", "jetpack")  # device_info.describe_platform()


def tensorrt_release_problem(trt_version: str) -> str | None:
    """Why this TensorRT release is not supported (older than 10.0, or unreadable), or None."""
    here = _version(trt_version)
    if here is None:
        return f"the TensorRT version {trt_version!r} cannot be read"
    if here < MIN_TENSORRT:
        return (f"TensorRT {here} is older than {MIN_TENSORRT}, the oldest release hcd-edge supports "
                "(strongly typed networks, execute_async_v3); install TensorRT 10 or later "
                "(JetPack 6 on Jetson; pip install 'hcd-edge[gpu]' elsewhere)")
    return None


def hardware_compatibility_problem(level: str, gpu: dict) -> str | None:
    """Why `--hardware-compatibility level` cannot be built on `gpu` (a Jetson), or None."""
    if level.lower() == "none" or not gpu.get("jetpack"):
        return None
    return (f"--hardware-compatibility {level} is not supported on Jetson (JetPack "
            f"{gpu['jetpack']}): TensorRT builds hardware-compatible plans only on x86-64 and "
            "SBSA servers; build with --hardware-compatibility none")


def check_tensorrt_compatible(manifest: Manifest, gpu: dict, trt_version: str, engine: Path) -> None:
    """Raise EngineMismatchError, saying what to rebuild, when the plan cannot run on `gpu`."""
    problem = (
        tensorrt_release_problem(trt_version)
        or version_problem(manifest, trt_version)
        or platform_problem(manifest, gpu)
        or gpu_problem(manifest, gpu)
    )
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


def platform_problem(manifest: Manifest, gpu: dict) -> str | None:
    """Why a plan built on another platform (arch, OS, Jetson / JetPack) cannot run here, or None."""
    built = {k: manifest.device.get(k) for k in PLATFORM_KEYS}
    here = {k: gpu.get(k) for k in PLATFORM_KEYS}
    if built["arch"] is None or built["os"] is None:
        return ("its manifest does not record the platform it was built on (CPU architecture, "
                "OS, JetPack), so it cannot be checked")
    if built == here:
        return None
    return f"it was built on {_platform_text(built)}; this is {_platform_text(here)}"


def _platform_text(platform: dict) -> str:
    jetson = f"Jetson, JetPack {platform['jetpack']}" if platform.get("jetpack") else "not a Jetson"
    return f"{platform.get('os')} {platform.get('arch')} ({jetson})"


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


def installed_tensorrt_problem() -> str | None:
    """Why the installed tensorrt module is not supported (a release before 10.0), or None."""
    import tensorrt

    return tensorrt_release_problem(str(getattr(tensorrt, "__version__", "unknown")))
