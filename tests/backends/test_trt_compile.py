"""TensorRT compile on a real GPU (skipped, with the reason, where TensorRT or a GPU is missing)."""

from __future__ import annotations

import pytest

from hcd_edge.backends.tensorrt import probe as tensorrt_missing_reason
from hcd_edge.builders import BuildRequest, build_engine
from hcd_edge.manifest import BatchProfile, read_manifest
from hcd_edge.spec import Precision

MISSING = tensorrt_missing_reason()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(MISSING is not None, reason=f"TensorRT build needs a GPU: {MISSING}"),
]


@pytest.mark.parametrize("precision", list(Precision))
def test_tensorrt_engine_builds_and_passes_parity(patches, tmp_path, precision):
    request = BuildRequest(
        onnx=patches.model,
        precision=precision,
        out=tmp_path / "eng",
        backend="tensorrt",
        calib=patches.root,
        calib_n=32,
        batch=BatchProfile(1, 16, 64),
        timing_cache=tmp_path / "tc.cache",
    )
    result = build_engine(request)
    m = read_manifest(result.engine_dir)
    assert m.backend == "tensorrt" and m.engine_file == "model.plan" and m.parity["passed"]
    assert {"name", "compute_capability", "driver", "arch", "os", "jetpack"} <= set(m.device)
    assert m.build_options["strongly_typed"] and (tmp_path / "tc.cache").is_file()
    assert m.build_options["tf32"] is False  # float32 layers compute in float32


def test_timing_cache_is_reused_by_the_next_build(patches, tmp_path):
    common = {
        "onnx": patches.model,
        "precision": Precision.FP16,
        "backend": "tensorrt",
        "calib": patches.root,
        "timing_cache": tmp_path / "tc.cache",
    }
    build_engine(BuildRequest(out=tmp_path / "a", **common))
    second = build_engine(BuildRequest(out=tmp_path / "b", **common))
    assert second.manifest.build_options["timing_cache_loaded"].startswith("reused")
