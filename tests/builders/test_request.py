"""BuildRequest validation, batch profiles, default output folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcd_edge.builders import BuildRequest, Stage, default_out_dir, parse_batch_profile
from hcd_edge.errors import EngineError
from hcd_edge.manifest import BatchProfile
from hcd_edge.spec import Precision


def test_parse_batch_profile_reads_min_opt_max():
    assert parse_batch_profile("1:32:128") == BatchProfile(1, 32, 128)


@pytest.mark.parametrize("text", ["64", "1:64", "a:b:c", "0:1:2", "8:4:16", "1:64:32"])
def test_parse_batch_profile_refuses_malformed_or_unordered(text):
    with pytest.raises(EngineError, match="MIN"):
        parse_batch_profile(text)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"backend": "cuda"}, "backend"),
        ({"stage": "plan"}, "stage"),
        ({"calib_method": "kl"}, "calibration method"),
        ({"calib_n": 8}, "minimum of 32"),
        ({"mean": (0.5, 0.5, 0.5)}, "--mean and --std together"),
        ({"workspace_mb": 0}, "workspace"),
        ({"hardware_compatibility": "turing"}, "hardware compatibility"),
        ({"activation_form": "int4"}, "activation form"),
    ],
)
def test_request_refuses_bad_options(kwargs, match):
    with pytest.raises(EngineError, match=match):
        BuildRequest(onnx=Path("m.onnx"), precision=Precision.FP32, **kwargs)


def test_request_is_frozen_with_documented_defaults():
    request = BuildRequest(onnx=Path("m.onnx"), precision=Precision.INT8)
    assert (request.backend, request.calib_n, request.calib_method, request.stage) == (
        "auto",
        512,
        "minmax",
        "engine",
    )
    assert request.batch == BatchProfile() and request.gate and request.workspace_mb == 1024
    with pytest.raises(AttributeError):
        request.calib_n = 3  # type: ignore[misc]


def test_default_out_dir_names_model_precision_backend():
    assert default_out_dir("seed", Precision.INT8, "tensorrt", Stage.ENGINE) == Path(
        "engines/seed-int8-tensorrt"
    )
    assert (
        default_out_dir("seed", Precision.FP16, "tensorrt", Stage.ONNX).name
        == "seed-fp16-tensorrt-onnx"
    )
