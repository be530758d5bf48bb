"""Which TensorRT plans may run on which GPU and TensorRT release (manifest checks, no GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcd_edge.backends.tensorrt.compat import (
    check_tensorrt_compatible,
    gpu_problem,
    version_problem,
)
from hcd_edge.errors import EngineMismatchError
from tests.backends.test_trt_executor import trt_manifest

ORIN = {"name": "Orin", "compute_capability": "8.7"}
A100 = {"name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0"}
T4 = {"name": "Tesla T4", "compute_capability": "7.5"}


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


def test_ampere_plus_plans_run_on_any_ampere_or_later_gpu():
    m = manifest_for(A100, hardware_compatibility_level="AMPERE_PLUS")
    assert gpu_problem(m, ORIN) is None
    assert "Ampere or later" in gpu_problem(m, T4)


def test_unparseable_versions_are_reported_not_compared_as_text():
    assert "cannot be compared" in version_problem(manifest_for(ORIN), "unknown")
