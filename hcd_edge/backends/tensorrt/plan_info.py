"""What a serialized TensorRT plan holds: its I/O tensors' names, shapes and dtypes.

Used for plans hcd-edge did not build from an ONNX (the torch-tensorrt route), whose tensor
names (e.g. torch-tensorrt's "output0") the manifest must record for the executor. Reading
them deserializes the plan, so it needs TensorRT and a GPU, with a CUDA context current (torch
has made one current when it is called from the export).
"""

from __future__ import annotations

import numpy as np
import tensorrt as trt

from hcd_edge.errors import EngineError
from hcd_edge.manifest import TensorInfo


def plan_io_tensors(plan: bytes) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """(inputs, outputs) of a serialized plan; dynamic dimensions are -1."""
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
    if engine is None:
        raise EngineError("TensorRT cannot deserialize the plan it just built (see its log)")
    inputs: list[TensorInfo] = []
    outputs: list[TensorInfo] = []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name
        shape = engine.get_tensor_shape(name)
        info = TensorInfo(name, [int(shape[i]) for i in range(len(shape))], dtype)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        (inputs if is_input else outputs).append(info)
    return inputs, outputs
