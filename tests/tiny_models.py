"""Tiny ONNX models built with onnx.helper (no torch), carrying hcd-edge metadata, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hcd_edge.model_info import ModelInfo, write_props
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, PreprocessSpec

TINY_SPEC = PreprocessSpec(mean=(0.70, 0.55, 0.70), std=(0.15, 0.20, 0.15))


def tiny_cnn_proto(seed: int = 0, channels: int = 8, opset: int = 17) -> onnx.ModelProto:
    """Conv3x3(s2)-Relu-Conv3x3(s2)-Relu-GlobalAvgPool-Flatten-Gemm -> (N, 1) logit, dynamic batch."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.3, (channels, 3, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (channels, channels, 3, 3)).astype(np.float32)
    wf = rng.normal(0, 0.5, (1, channels)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, channels).astype(np.float32), "b1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, channels).astype(np.float32), "b2"),
        numpy_helper.from_array(wf, "wf"),
        numpy_helper.from_array(np.array([0.1], np.float32), "bf"),
    ]
    nodes = [
        helper.make_node("Conv", [INPUT_NAME, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "wf", "bf"], [OUTPUT_NAME], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, 96, 96])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_tiny_cnn(path: Path, *, seed: int = 0, spec: PreprocessSpec = TINY_SPEC,
                   threshold: float = 0.5, with_info: bool = True) -> Path:
    """Save a tiny CNN (with hcd-edge metadata unless with_info=False) to path."""
    model = tiny_cnn_proto(seed)
    if with_info:
        info = ModelInfo(spec=spec, threshold=threshold, architecture="tiny-test-cnn",
                         provenance={"data": "none (random weights, tests only)"})
        write_props(model, info.to_props())
    onnx.save(model, str(path))
    return Path(path)
