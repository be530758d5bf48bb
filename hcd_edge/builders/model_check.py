"""A model's input and output checked against its preprocessing spec before a build starts.

`score` feeds an engine (N, 3, 96, 96) float32/float16 (NCHW spec) or (N, 96, 96, 3) uint8
(NHWC spec) batches of any size N and reads one (N, 1) float logit per patch; a model that
wants anything else would build an engine that cannot run, so it is refused up front.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.errors import ModelError
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, PATCH_SIZE, Layout, PreprocessSpec

ELEM_TYPES = {1: "float32", 2: "uint8", 10: "float16"}  # onnx.TensorProto codes used here


def expected_input_shape(spec: PreprocessSpec) -> list:
    """The input shape the spec implies: ['N', 3, 96, 96] (NCHW) or ['N', 96, 96, 3] (NHWC)."""
    if spec.layout is Layout.NHWC:
        return ["N", PATCH_SIZE, PATCH_SIZE, 3]
    return ["N", 3, PATCH_SIZE, PATCH_SIZE]


def check_model_io(path: Path, spec: PreprocessSpec) -> None:
    """ModelError (saying what was expected and what was found) unless the model's one input
    matches the spec with a dynamic batch and its one output is an (N, 1) float logit."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    want_in = f"one input {INPUT_NAME!r} {_shape_text(expected_input_shape(spec))} {spec.dtype}"
    want_out = f"one output {OUTPUT_NAME!r} ['N', 1] float32"
    problems = []
    if len(inputs) != 1 or not _matches(inputs[0], INPUT_NAME, expected_input_shape(spec), (spec.dtype,)):
        problems.append(f"expected {want_in}, found {_describe(inputs)}")
    outputs = list(graph.output)
    if len(outputs) != 1 or not _matches(outputs[0], OUTPUT_NAME, ["N", 1], ("float32", "float16"),
                                         unknown_ok=True):
        problems.append(f"expected {want_out}, found {_describe(outputs)}")
    if problems:
        raise ModelError(f"{path} does not fit hcd-edge's {spec.layout.value} {spec.dtype} "
                         f"preprocessing (any batch size N): " + "; ".join(problems))


def _dims(value_info) -> list | None:
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim]


def _matches(value_info, name: str, shape: list, dtypes: tuple[str, ...],
             unknown_ok: bool = False) -> bool:
    dims = _dims(value_info)
    dtype = ELEM_TYPES.get(value_info.type.tensor_type.elem_type)
    if value_info.name != name or dtype not in dtypes:
        return False
    if dims is None:
        return unknown_ok  # an output without declared shape is checked by the parity run
    if len(dims) != len(shape):
        return False
    batch_dynamic = isinstance(dims[0], str)  # a fixed batch (even 1) cannot take other sizes
    return batch_dynamic and all(d == s for d, s in zip(dims[1:], shape[1:]))


def _describe(values) -> str:
    if not values:
        return "none"
    parts = []
    for v in values:
        dtype = ELEM_TYPES.get(v.type.tensor_type.elem_type, f"type {v.type.tensor_type.elem_type}")
        dims = _dims(v)
        parts.append(f"{v.name!r} {_shape_text(dims) if dims is not None else '(unknown shape)'} {dtype}")
    return ("one " if len(parts) == 1 else f"{len(parts)}: ") + ", ".join(parts)


def _shape_text(dims: list) -> str:
    return "[" + ", ".join(repr(d) if isinstance(d, str) else str(d) for d in dims) + "]"
