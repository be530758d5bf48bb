"""The portable precision ONNX (`--stage onnx`): what its metadata says about how it was made.

A precision ONNX written by `build-engine --stage onnx` carries, beside the model's own
hcd-edge metadata (spec, threshold), the precision, the backend its Q/DQ form targets, the
calibration summary, the parity measured with ONNX Runtime on CPU and the FP32 source it came
from. A later `build-engine` given this file skips the precision pass and calibration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hcd_edge.errors import ModelError
from hcd_edge.spec import Precision

KEY_STAGE = "hcd_edge.build_stage"
STAGE_VALUE = "precision-onnx"
KEY_PRECISION = "hcd_edge.precision"
KEY_TARGET = "hcd_edge.target_backend"
KEY_QUANTIZATION = "hcd_edge.quantization"
KEY_CALIBRATION = "hcd_edge.calibration"
KEY_PARITY = "hcd_edge.parity"
KEY_SOURCE = "hcd_edge.source_onnx"  # {"path", "sha256", "name"} of the FP32 model
KEY_VALIDATION = "hcd_edge.validation"  # how the default parity set was drawn, to redraw it later


@dataclass(frozen=True)
class PortableInfo:
    """The build metadata of a portable precision ONNX."""

    precision: Precision
    target_backend: str
    source: dict  # path, sha256, name of the FP32 ONNX it was made from
    quantization: dict | None = None
    calibration: dict | None = None
    parity: dict | None = None
    validation: dict = field(default_factory=dict)

    def to_props(self) -> dict[str, str]:
        """metadata_props strings encoding this info."""
        props = {
            KEY_STAGE: STAGE_VALUE,
            KEY_PRECISION: self.precision.value,
            KEY_TARGET: self.target_backend,
            KEY_SOURCE: json.dumps(self.source, sort_keys=True),
            KEY_VALIDATION: json.dumps(self.validation, sort_keys=True),
        }
        for key, value in (
            (KEY_QUANTIZATION, self.quantization),
            (KEY_CALIBRATION, self.calibration),
            (KEY_PARITY, self.parity),
        ):
            if value is not None:
                props[key] = json.dumps(value, sort_keys=True)
        return props


def read_portable(props: dict[str, str], source: str) -> PortableInfo | None:
    """The PortableInfo in a model's metadata_props, or None for an ordinary model."""
    if props.get(KEY_STAGE) != STAGE_VALUE:
        return None
    try:
        precision = Precision(props[KEY_PRECISION])
        return PortableInfo(
            precision=precision,
            target_backend=props[KEY_TARGET],
            source=_json(props, KEY_SOURCE, source) or {},
            quantization=_json(props, KEY_QUANTIZATION, source),
            calibration=_json(props, KEY_CALIBRATION, source),
            parity=_json(props, KEY_PARITY, source),
            validation=_json(props, KEY_VALIDATION, source) or {},
        )
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"{source}: its hcd-edge build metadata is damaged ({exc}); rebuild it with "
            "hcd-edge build-engine FP32_MODEL.onnx --stage onnx"
        ) from exc


def _json(props: dict[str, str], key: str, source: str) -> dict | None:
    if key not in props:
        return None
    try:
        value = json.loads(props[key])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{source}: metadata {key!r} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ModelError(f"{source}: metadata {key!r} must be a JSON object")
    return value
