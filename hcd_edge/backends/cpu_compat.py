"""Whether a CPU engine runs here: made by this major.minor release of its backend, for CPU
features this CPU has (an offline-optimized graph or compiled blob holds CPU-specific kernels)."""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from hcd_edge.device_info import describe_cpu
from hcd_edge.errors import EngineMismatchError
from hcd_edge.manifest import Manifest


def check_release(package: str, manifest: Manifest, engine_dir: Path, here: str) -> None:
    """Refuse an engine made by another major.minor release of `package` than the one here."""
    if release(manifest.backend_version) != release(here):
        raise EngineMismatchError(
            f"{engine_dir} was built by {package} {manifest.backend_version}, this is {here}; "
            f"rebuild it: hcd-edge build-engine {manifest.source_onnx} "
            f"--precision {manifest.precision.value} --backend {manifest.backend} --force"
        )


def check_cpu_features(manifest: Manifest, engine_dir: Path) -> None:
    """Refuse an engine compiled for CPU features (AVX-512, AMX, ...) this CPU lacks."""
    missing = set(manifest.device.get("features", [])) - set(describe_cpu()["features"])
    if missing:
        raise EngineMismatchError(
            f"{engine_dir} was optimized for a CPU with {', '.join(sorted(missing))}, which this "
            f"CPU lacks; rebuild it here: hcd-edge build-engine {manifest.source_onnx} --force"
        )


def release(version: str) -> tuple[int, int]:
    """(major, minor) of a version string; (-1, -1) when it does not parse."""
    try:
        v = Version(version.split("-")[0])
    except InvalidVersion:
        return (-1, -1)
    return (v.major, v.minor)
