"""hcd_edge.builders.model_check: the model's input/output against the preprocessing spec."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hcd_edge.builders.model_check import check_model_io, expected_input_shape
from hcd_edge.errors import ModelError
from hcd_edge.spec import Layout, PreprocessSpec

NCHW = PreprocessSpec(mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
NHWC = PreprocessSpec(mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2), layout=Layout.NHWC, dtype="uint8")


def _save(tmp_path, elem, shape, out_shape=("N", 1)):
    """input -> Cast(float) -> ReduceMean over all but the batch -> Gemm -> logit."""
    nodes = [helper.make_node("Cast", ["input"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Flatten", ["f"], ["flat"]),
             helper.make_node("ReduceMean", ["flat"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Gemm", ["m", "w", "b"], ["logit"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", elem, list(shape))],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, list(out_shape))],
        [numpy_helper.from_array(np.ones((1, 1), np.float32), "w"),
         numpy_helper.from_array(np.zeros(1, np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


def test_the_spec_decides_the_expected_shape():
    assert expected_input_shape(NCHW) == ["N", 3, 96, 96]
    assert expected_input_shape(NHWC) == ["N", 96, 96, 3]


def test_models_that_fit_their_spec_pass(tmp_path):
    check_model_io(_save(tmp_path, TensorProto.FLOAT, ("batch", 3, 96, 96)), NCHW)
    check_model_io(_save(tmp_path, TensorProto.UINT8, ("N", 96, 96, 3)), NHWC)


@pytest.mark.parametrize("elem,shape,spec,found", [
    (TensorProto.FLOAT, ("N", 96, 96, 3), NCHW, "['N', 96, 96, 3] float32"),  # NHWC float, NCHW spec
    (TensorProto.UINT8, ("N", 3, 96, 96), NHWC, "['N', 3, 96, 96] uint8"),
    (TensorProto.FLOAT, (4, 3, 96, 96), NCHW, "[4, 3, 96, 96]"),
    (TensorProto.FLOAT16, ("N", 3, 96, 96), NCHW, "float16"),
])
def test_a_mismatch_names_what_was_expected_and_found(tmp_path, elem, shape, spec, found):
    with pytest.raises(ModelError, match="expected") as err:
        check_model_io(_save(tmp_path, elem, shape), spec)
    assert found in str(err.value)


def test_an_output_that_is_not_one_logit_per_patch_is_refused(tmp_path):
    with pytest.raises(ModelError, match=r"expected one output 'logit' \['N', 1\]"):
        check_model_io(_save(tmp_path, TensorProto.FLOAT, ("N", 3, 96, 96), out_shape=("N", 2)), NCHW)
