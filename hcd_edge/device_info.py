"""What machine this is: CPU features and NVIDIA GPU identity, as recorded in engine manifests."""

from __future__ import annotations

import platform
import re
from pathlib import Path

# CPU features that change which kernels ONNX Runtime picks (and so what an offline-optimized
# model may depend on); the rest of the flag list is noise in a manifest.
RELEVANT_CPU_FEATURES = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
    "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
    "asimd", "asimddp", "asimdhp", "sve", "i8mm",
)


def describe_cpu() -> dict:
    """{"kind": "cpu", "arch", "brand", "cores", "features": [...]} of this machine."""
    import os

    flags, brand = _cpu_flags_and_brand()
    return {
        "kind": "cpu",
        "arch": platform.machine(),
        "brand": brand,
        "cores": os.cpu_count() or 1,
        "features": sorted(f for f in flags if f in RELEVANT_CPU_FEATURES),
    }


def _cpu_flags_and_brand() -> tuple[set[str], str]:
    proc = Path("/proc/cpuinfo")
    if proc.is_file():  # fast on Linux; py-cpuinfo spawns a subprocess and takes ~1 s
        return _parse_proc_cpuinfo(proc.read_text(errors="replace"))
    import cpuinfo

    info = cpuinfo.get_cpu_info()
    return set(info.get("flags", [])), str(info.get("brand_raw", "unknown"))


def _parse_proc_cpuinfo(text: str) -> tuple[set[str], str]:
    flags: set[str] = set()
    brand = "unknown"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features") and not flags:
            flags = set(value.split())
        elif key in ("model name", "cpu model", "hardware") and brand == "unknown":
            brand = value.strip()
    return flags, brand


# L4T (Linux for Tegra) major release -> JetPack major release, from NVIDIA's JetPack archive.
JETPACK_OF_L4T = {32: "4", 34: "5", 35: "5", 36: "6", 38: "7"}
TEGRA_RELEASE = Path("/etc/nv_tegra_release")


def describe_platform(tegra_release: Path | None = None) -> dict:
    """{"arch", "os", "jetpack", "l4t"} of this machine; jetpack and l4t are None off Jetson."""
    l4t = _l4t_release(tegra_release or TEGRA_RELEASE)
    major = int(l4t[1:].split(".")[0]) if l4t else None
    return {
        "arch": platform.machine(),
        "os": platform.system(),
        "jetpack": JETPACK_OF_L4T.get(major, f"unknown (L4T {l4t})") if major else None,
        "l4t": l4t,
    }


def _l4t_release(path: Path) -> str | None:
    """"R36.4.0" from '# R36 (release), REVISION: 4.0, ...' in /etc/nv_tegra_release, or None."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r"\bR(\d+)\b.*?REVISION:\s*([\d.]+)", text)
    return f"R{match.group(1)}.{match.group(2)}" if match else None


def describe_gpu(device: int = 0) -> dict | None:
    """{"kind": "gpu", "name", "compute_capability", "driver", "memory_mb", platform...} or None."""
    from hcd_edge.backends.tensorrt.cuda_mem import describe_device  # the one pycuda module

    found = describe_device(device)
    return None if found is None else {"kind": "gpu", **found, **describe_platform()}
