"""Which TensorRT plans may run on which GPU and TensorRT release (manifest checks, no GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcd_edge.backends.tensorrt.compat import (
    check_tensorrt_compatible,
    gpu_problem,
    hardware_compatibility_problem,
    platform_problem,
    tensorrt_release_problem,
    version_problem,
)
from hcd_edge.errors import EngineMismatchError
from tests.backends.test_trt_executor import trt_manifest

SERVER = {"arch": "x86_64", "os": "Linux", "jetpack": None}
JETSON = {"arch": "aarch64", "os": "Linux", "jetpack": "6"}
ORIN = {"name": "Orin", "compute_capability": "8.7", **JETSON}
A100 = {"name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0", **SERVER}
T4 = {"name": "Tesla T4", "compute_capability": "7.5", **SERVER}
H100 = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", **SERVER}


def manifest_for(gpu: dict, **options):
    m = trt_manifest(**options)
    m.device = dict(gpu, kind="gpu")
    return m


def test_same_gpu_and_release_is_accepted():
    check_tensorrt_compatible(manifest_for(ORIN), ORIN, "10.13.0.35", Path("e/model.plan"))


def test_another_release_needs_a_rebuild_with_the_command_named():
    with pytest.raises(EngineMismatchError, match=r"10\.13\.0\.35 and this is TensorRT 10\.3.*"
                                                  r"on the Orin: hcd-edge build-engine tiny\.onnx "
                                                  r"--precision fp32 --backend tensorrt --force"):
        check_tensorrt_compatible(manifest_for(ORIN), ORIN, "10.3.0.26", Path("e/model.plan"))


def test_version_compatible_plans_run_on_later_releases_only():
    m = manifest_for(ORIN, version_compatible=True)
    assert version_problem(m, "11.1.0.1") is None
    assert "runs on that release or later" in version_problem(m, "10.3.0.26")


def test_another_gpu_model_is_refused_even_with_the_same_compute_capability():
    other = {"name": "NVIDIA GeForce RTX 3050", "compute_capability": "8.7"}
    assert "built for the Orin" in gpu_problem(manifest_for(ORIN), other)
    relaxed = manifest_for(ORIN, hardware_compatibility_level="SAME_COMPUTE_CAPABILITY")
    assert gpu_problem(relaxed, other) is None
    assert "compute capability 8.7" in gpu_problem(relaxed, A100)


def test_ampere_plus_plans_run_on_any_ampere_or_later_gpu_of_the_same_platform():
    m = manifest_for(A100, hardware_compatibility_level="AMPERE_PLUS")
    check_tensorrt_compatible(m, H100, "10.13.0.35", Path("e/model.plan"))
    assert "Ampere or later" in gpu_problem(m, T4)


def test_an_ampere_plus_plan_from_a_server_is_refused_on_a_jetson():
    m = manifest_for(A100, hardware_compatibility_level="AMPERE_PLUS")
    with pytest.raises(EngineMismatchError, match=r"built on Linux x86_64 \(not a Jetson\); this "
                                                  r"is Linux aarch64 \(Jetson, JetPack 6\)"):
        check_tensorrt_compatible(m, ORIN, "10.13.0.35", Path("e/model.plan"))


def test_another_jetpack_release_is_another_platform():
    assert "JetPack 6" in platform_problem(manifest_for(ORIN), dict(ORIN, jetpack="7"))


def test_a_manifest_without_the_platform_is_refused_not_guessed():
    m = manifest_for(A100)
    for key in ("arch", "os", "jetpack"):
        m.device.pop(key)
    assert "does not record the platform" in platform_problem(m, A100)


def test_hardware_compatibility_is_refused_on_jetson_only():
    assert "not supported on Jetson" in hardware_compatibility_problem("ampere_plus", ORIN)
    assert hardware_compatibility_problem("none", ORIN) is None
    assert hardware_compatibility_problem("ampere_plus", A100) is None


def test_tensorrt_before_10_is_refused_by_version_not_text():
    assert "older than 10.0" in tensorrt_release_problem("8.6.1")
    assert tensorrt_release_problem("10.3.0.26") is None and tensorrt_release_problem("11.1.0") is None
    assert "cannot be read" in tensorrt_release_problem("ten")
    with pytest.raises(EngineMismatchError, match="older than 10.0"):
        check_tensorrt_compatible(manifest_for(A100), A100, "8.6.1", Path("e/model.plan"))


def test_unparseable_versions_are_reported_not_compared_as_text():
    assert "cannot be compared" in version_problem(manifest_for(ORIN), "unknown")


def test_the_platform_is_read_from_nv_tegra_release(tmp_path):
    from hcd_edge.device_info import describe_platform

    release = tmp_path / "nv_tegra_release"
    release.write_text("# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, "
                       "EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n")
    jetson = describe_platform(release)
    assert (jetson["jetpack"], jetson["l4t"]) == ("6", "R36.4.3")
    server = describe_platform(tmp_path / "absent")
    assert server["jetpack"] is None and server["arch"] and server["os"]


def test_the_gpu_description_carries_the_platform(monkeypatch):
    from hcd_edge.backends.tensorrt import cuda_mem
    from hcd_edge.device_info import describe_gpu
    from tests.backends.fake_gpu import FakeCuda

    monkeypatch.setattr(cuda_mem, "cuda", FakeCuda())
    gpu = describe_gpu()
    assert (gpu["kind"], gpu["driver"], gpu["memory_mb"]) == ("gpu", "12.6", 8192)
    assert {"arch", "os", "jetpack", "l4t"} <= set(gpu)
    monkeypatch.setattr(cuda_mem, "cuda", None)
    assert describe_gpu() is None


def test_only_cuda_mem_imports_pycuda():
    import ast

    package = Path(__file__).resolve().parents[2] / "hcd_edge"
    importers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "pycuda" for n in names):
                importers.append(path.relative_to(package).as_posix())
    assert importers == ["backends/tensorrt/cuda_mem.py"]
