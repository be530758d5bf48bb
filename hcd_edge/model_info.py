"""What hcd-edge stores in, and reads from, an ONNX model's metadata_props."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hcd_edge.errors import ModelError
from hcd_edge.spec import PreprocessSpec, parse_json_object

KEY_SPEC = "hcd_edge.preprocess"  # JSON of PreprocessSpec
KEY_THRESHOLD = "hcd_edge.threshold"  # decimal probability in [0, 1]
KEY_METRICS = "hcd_edge.metrics"  # JSON object of validation metrics
KEY_PROVENANCE = "hcd_edge.provenance"  # JSON object: data source, split, seed, commit
KEY_ARCHITECTURE = "hcd_edge.architecture"  # model name, e.g. "cnn"


@dataclass(frozen=True)
class ModelInfo:
    """The hcd-edge metadata of one ONNX model."""

    spec: PreprocessSpec
    threshold: float = 0.5  # probability at or above which a patch is labelled 1
    architecture: str = "unknown"
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def to_props(self) -> dict[str, str]:
        """The metadata_props key/value strings that encode this info."""
        return {
            KEY_SPEC: self.spec.to_json(),
            KEY_THRESHOLD: repr(float(self.threshold)),
            KEY_ARCHITECTURE: self.architecture,
            KEY_METRICS: json.dumps(self.metrics, sort_keys=True),
            KEY_PROVENANCE: json.dumps(self.provenance, sort_keys=True),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelInfo:
        """Parse metadata_props; raises ModelError when the spec is absent or malformed."""
        if KEY_SPEC not in props:
            raise ModelError(
                f"{source} has no hcd-edge preprocessing spec (metadata key {KEY_SPEC!r}); "
                "export it with `hcd-edge export`, or give --mean and --std"
            )
        spec = PreprocessSpec.from_json(props[KEY_SPEC])
        return cls(
            spec=spec,
            threshold=_parse_threshold(props.get(KEY_THRESHOLD, "0.5"), source),
            architecture=props.get(KEY_ARCHITECTURE, "unknown"),
            metrics=parse_json_object(props.get(KEY_METRICS, "{}"), f"{source}: metadata {KEY_METRICS!r}"),
            provenance=parse_json_object(props.get(KEY_PROVENANCE, "{}"), f"{source}: metadata {KEY_PROVENANCE!r}"),
        )


def read_props(model_path: Path) -> dict[str, str]:
    """The metadata_props of an ONNX file, read without loading its weights."""
    import onnx

    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"ONNX model {path} does not exist")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, google.protobuf errors, OSError
        raise ModelError(f"{path} is not a valid ONNX model: {exc}") from exc
    return {p.key: p.value for p in proto.metadata_props}


def read_model_info(model_path: Path) -> ModelInfo:
    """The ModelInfo stored in an ONNX file; raises ModelError when missing or malformed."""
    return ModelInfo.from_props(read_props(model_path), source=str(model_path))


def write_props(proto, props: dict[str, str]) -> None:
    """Set (replace) metadata_props entries on an onnx.ModelProto in place."""
    kept = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for p in kept:
        proto.metadata_props.add(key=p.key, value=p.value)
    for key, value in sorted(props.items()):
        proto.metadata_props.add(key=key, value=value)


def _parse_threshold(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ModelError(f"{source}: threshold {text!r} is not a number") from exc
    if not 0.0 <= value <= 1.0:
        raise ModelError(f"{source}: threshold {value} is outside [0, 1]")
    return value


def graph_precision(model_path: Path):
    """The Precision an ONNX graph computes in: INT8 with Q/DQ nodes, FP16 with fp16 weights."""
    import onnx

    from hcd_edge.spec import Precision

    proto = onnx.load(str(model_path), load_external_data=False)
    ops = {node.op_type for node in proto.graph.node}
    if ops & {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger", "MatMulInteger"}:
        return Precision.INT8
    if any(init.data_type == onnx.TensorProto.FLOAT16 for init in proto.graph.initializer):
        return Precision.FP16
    return Precision.FP32
