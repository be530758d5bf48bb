"""What CPU this is (architecture, brand, features), as recorded in engine manifests.

The GPU is described by hcd_edge.backends.tensorrt.cuda_mem.describe_gpu (it needs pycuda).
"""

from __future__ import annotations

import platform
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
