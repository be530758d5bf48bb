"""What every benchmark records beside its numbers: the machine, the versions, the data used."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path

from hcd_edge.atomic import write_text_atomic
from hcd_edge.device_info import describe_cpu, describe_gpu

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"
PACKAGES = ("hcd-edge", "numpy", "onnxruntime", "onnx", "torch", "tifffile", "tensorrt", "pycuda")


def describe_machine() -> dict:
    """CPU (features, cores), GPU if any, OS, Python and package versions, and the time (UTC)."""
    return {
        "cpu": describe_cpu(),
        "gpu": describe_gpu(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _git_commit(),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def real_patches() -> Path | None:
    """The unpacked real Kaggle patches (../shared/data via its unpack.sh), or None when absent."""
    unpack = SHARED_DATA / "unpack.sh"
    if not unpack.is_file():
        return None
    out = subprocess.run(["bash", str(unpack)], capture_output=True, text=True, timeout=900,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{unpack} failed: {out.stderr.strip()}")
    return Path(out.stdout.strip().splitlines()[-1])


def write_results(name: str, payload: dict, path: Path | None = None) -> Path:
    """Write benchmarks/results/<name>.json (or path) with the machine description added."""
    target = Path(path) if path else RESULTS_DIR / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "machine": describe_machine(), **payload}
    write_text_atomic(target, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return target
