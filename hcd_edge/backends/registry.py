"""The backends hcd-edge knows, and whether each can be used on this machine (and why not)."""

from __future__ import annotations

import importlib
from enum import Enum

from hcd_edge.backends.tensorrt.compat import installed_tensorrt_problem
from hcd_edge.device_info import describe_gpu


class Backend(str, Enum):
    """Where an engine runs."""

    AUTO = "auto"  # TensorRT when tensorrt, pycuda and a GPU are present, else ONNX Runtime
    ONNXRUNTIME = "onnxruntime"
    TENSORRT = "tensorrt"


def tensorrt_missing_reason() -> str | None:
    """Why TensorRT engines cannot be built here, or None when tensorrt, pycuda and a GPU are present."""
    for module, attr, hint in (
        ("tensorrt", "Builder", "pip install 'hcd-edge[gpu]'"),
        ("pycuda.driver", "Device", "pip install pycuda"),
    ):
        try:
            found = hasattr(importlib.import_module(module), attr)
        except ImportError:
            found = False
        if not found:  # tensorrt-stubs alone makes `import tensorrt` succeed, empty
            return f"{module.split('.')[0]} is not installed ({hint})"
    if describe_gpu() is None:
        return "no NVIDIA GPU or CUDA driver is visible"
    return installed_tensorrt_problem()
