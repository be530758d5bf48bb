"""INT8 Q/DQ pass: forms per target, float logit output."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from hcd_edge.builders.passes.int8 import (
    SYMMETRIC_INT8,
    UINT8_ACTIVATIONS,
    keep_output_float,
    quantize,
)
from hcd_edge.builders.request import CalibMethod
from hcd_edge.progress import SilentProgress
from tests.tiny_models import write_tiny_cnn


@pytest.fixture()
def calib_inputs():
    return np.random.default_rng(0).normal(0, 1, (40, 3, 96, 96)).astype(np.float32)


def _zero_points(path):
    model = onnx.load(str(path))
    return {
        t.name: onnx.numpy_helper.to_array(t)
        for t in model.graph.initializer
        if t.name.endswith("zero_point")
    }


@pytest.mark.parametrize("method", list(CalibMethod))
def test_symmetric_form_has_int8_zero_points_for_tensorrt(tmp_path, calib_inputs, method):
    src = write_tiny_cnn(tmp_path / "m.onnx")
    quantize(src, tmp_path / "q.onnx", calib_inputs, SYMMETRIC_INT8, method, SilentProgress())
    zps = _zero_points(tmp_path / "q.onnx")
    assert zps and all(z.dtype == np.int8 and not z.any() for z in zps.values())
    ops = [n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert ops.count("QuantizeLinear") >= 2 and ops[-1] == "Gemm"  # the logit stays float


def test_uint8_form_quantizes_activations_as_uint8(tmp_path, calib_inputs):
    src = write_tiny_cnn(tmp_path / "m.onnx")
    quantize(
        src,
        tmp_path / "q.onnx",
        calib_inputs,
        UINT8_ACTIVATIONS,
        CalibMethod.MINMAX,
        SilentProgress(),
    )
    zps = _zero_points(tmp_path / "q.onnx")
    assert zps["input_zero_point"].dtype == np.uint8
    assert all(z.dtype == np.int8 for name, z in zps.items() if name.startswith("w"))  # weights


def test_keep_output_float_is_idempotent(tmp_path):
    src = write_tiny_cnn(tmp_path / "m.onnx")
    assert keep_output_float(src) is False  # nothing to remove in a float model
    onnx.checker.check_model(onnx.load(str(src)))


def test_both_activation_forms_get_7_bit_weights_only_on_x86_without_vnni():
    from hcd_edge.builders.passes.int8 import SYMMETRIC_INT8, UINT8_ACTIVATIONS, for_this_cpu

    avx2 = {"arch": "x86_64", "features": ["avx2", "fma"]}
    vnni = {"arch": "x86_64", "features": ["avx2", "avx512_vnni"]}
    arm = {"arch": "aarch64", "features": []}
    assert for_this_cpu(UINT8_ACTIVATIONS, avx2).reduce_range
    assert for_this_cpu(UINT8_ACTIVATIONS, avx2).to_dict()["reduce_range"] is True
    assert not for_this_cpu(UINT8_ACTIVATIONS, vnni).reduce_range
    assert not for_this_cpu(UINT8_ACTIVATIONS, arm).reduce_range
    assert for_this_cpu(SYMMETRIC_INT8, avx2).reduce_range  # shifted to uint8 for the same kernels
    assert for_this_cpu(SYMMETRIC_INT8, vnni) == SYMMETRIC_INT8
