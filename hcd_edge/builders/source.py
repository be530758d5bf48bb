"""The ONNX a build starts from: checked, identified, and its hcd-edge metadata resolved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcd_edge.builders.portable import PortableInfo, read_portable
from hcd_edge.errors import ModelError
from hcd_edge.manifest import sha256_file
from hcd_edge.model_info import KEY_SPEC, ModelInfo
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, Layout, Precision, PreprocessSpec

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


@dataclass(frozen=True)
class SourceModel:
    """A loaded, checked source ONNX and what hcd-edge knows about it."""

    path: Path
    sha256: str
    name: str  # model name for default output folders (the FP32 stem, also for portable ONNX)
    info: ModelInfo  # spec (possibly from --mean/--std), threshold, architecture, ...
    portable: PortableInfo | None  # set when the file is a portable precision ONNX
    external_qdq: bool  # Q/DQ nodes present but not written by hcd-edge
    spec_overridden: bool  # the spec came from --mean/--std

    @property
    def prequantized(self) -> bool:
        """True when the graph already holds its precision (no precision pass needed)."""
        return self.portable is not None or self.external_qdq

    def graph_precision(self) -> Precision | None:
        """The precision the graph already has, when known."""
        if self.portable is not None:
            return self.portable.precision
        return Precision.INT8 if self.external_qdq else None


def load_source(path: Path, mean: tuple | None = None, std: tuple | None = None) -> SourceModel:
    """Load and check an ONNX; raises ModelError naming the file and the fix."""
    path = Path(path)
    proto = _load_checked(path)
    props = {p.key: p.value for p in proto.metadata_props}
    info, overridden = _model_info(props, path, mean, std)
    portable = read_portable(props, str(path))
    qdq = any(node.op_type in QDQ_OPS for node in proto.graph.node)
    name = (portable.source.get("name") if portable else None) or path.stem
    return SourceModel(
        path=path,
        sha256=sha256_file(path),
        name=str(name),
        info=info,
        portable=portable,
        external_qdq=qdq and portable is None,
        spec_overridden=overridden,
    )


def check_precision(source: SourceModel, precision: Precision) -> None:
    """Refuse a precision the graph cannot be given (e.g. fp16 of an INT8 Q/DQ model)."""
    have = source.graph_precision()
    if have is None or have is precision:
        return
    raise ModelError(
        f"{source.path} already holds {have.value} precision; build it with --precision {have.value}, "
        f"or start from the FP32 ONNX for {precision.value}"
    )


def _load_checked(path: Path):
    import onnx

    proto = _load(path)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"{path} is not a valid ONNX model: {exc}") from exc
    inputs = [
        i.name for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}
    ]
    outputs = [o.name for o in proto.graph.output]
    if inputs != [INPUT_NAME] or OUTPUT_NAME not in outputs:
        raise ModelError(
            f"{path}: hcd-edge models have one input {INPUT_NAME!r} and an output {OUTPUT_NAME!r}; "
            f"this one has inputs {inputs} and outputs {outputs} (export it with hcd-edge export)"
        )
    return proto


def _model_info(
    props: dict[str, str], path: Path, mean: tuple | None, std: tuple | None
) -> tuple[ModelInfo, bool]:
    if mean is None or std is None:
        return ModelInfo.from_props(props, source=str(path)), False
    props = dict(props)
    old = PreprocessSpec.from_json(props[KEY_SPEC]) if KEY_SPEC in props else None
    spec = PreprocessSpec(
        mean=tuple(mean),
        std=tuple(std),  # type: ignore[arg-type]
        layout=old.layout if old else Layout.NCHW,
        dtype=old.dtype if old else "float32",
    )
    props[KEY_SPEC] = spec.to_json()
    return ModelInfo.from_props(props, source=str(path)), True


def declared_precision(path: Path) -> Precision:
    """The precision an ONNX's graph already has (portable or Q/DQ), else FP32; read without weights."""
    proto = _load(Path(path), with_weights=False)
    portable = read_portable({p.key: p.value for p in proto.metadata_props}, str(path))
    if portable is not None:
        return portable.precision
    return Precision.INT8 if any(n.op_type in QDQ_OPS for n in proto.graph.node) else Precision.FP32


def _load(path: Path, with_weights: bool = True):
    import onnx

    if not path.is_file():
        raise ModelError(f"ONNX model {path} does not exist")
    try:
        return onnx.load(str(path), load_external_data=with_weights)
    except Exception as exc:  # onnx raises DecodeError, google.protobuf errors, OSError, ...
        raise ModelError(f"{path} is not a valid ONNX model: {exc}") from exc
