"""Manifest assembly: everything an engine folder must say about itself, in one place."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from hcd_edge import __version__
from hcd_edge.backends.base import EngineFiles
from hcd_edge.manifest import BatchProfile, Manifest, TensorInfo, sha256_file
from hcd_edge.model_info import ModelInfo
from hcd_edge.spec import Precision

_ONNX_DTYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    7: "int64",
    10: "float16",
    11: "float64",
    16: "bfloat16",
}


def io_tensors(onnx_path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """Graph inputs (not initializers) and outputs of an ONNX: names, shapes (symbols kept), dtypes."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    inputs = [_tensor_info(v) for v in graph.input if v.name not in initializers]
    return inputs, [_tensor_info(v) for v in graph.output]


def _tensor_info(value) -> TensorInfo:
    tensor = value.type.tensor_type
    dims = [
        d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else -1)
        for d in tensor.shape.dim
    ]
    return TensorInfo(
        name=value.name, shape=dims, dtype=_ONNX_DTYPES.get(tensor.elem_type, str(tensor.elem_type))
    )


def make_manifest(
    *,
    name: str,
    folder: Path,
    files: EngineFiles,
    precision: Precision,
    stage: str,
    source_path: Path,
    source_sha256: str,
    info: ModelInfo,
    batch: BatchProfile,
    quantization: dict | None,
    calibration: dict | None,
) -> Manifest:
    """The manifest of an engine folder whose engine file is already written (parity added later)."""
    engine = Path(folder) / files.engine_file
    inputs, outputs = io_tensors(engine) if engine.suffix == ".onnx" else io_tensors(source_path)
    return Manifest(
        name=name,
        precision=precision,
        backend=files.backend,
        backend_version=files.backend_version,
        engine_file=files.engine_file,
        engine_sha256=sha256_file(engine),
        source_onnx=str(Path(source_path).resolve()),
        source_onnx_sha256=source_sha256,
        device=files.device,
        batch=batch,
        inputs=inputs,
        outputs=outputs,
        preprocess=info.spec,
        threshold=info.threshold,
        hcd_edge_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        stage=stage,
        quantization=quantization,
        calibration=calibration,
        build_options=files.build_options,
        model={
            "architecture": info.architecture,
            "metrics": info.metrics,
            "provenance": info.provenance,
        },
    )
