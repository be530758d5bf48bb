"""The preprocessing spec and precision enum: one source of truth for training and serving."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np

from hcd_edge.errors import ModelError

PATCH_SIZE = 96  # pixels; Kaggle / PCam patches are 96x96 RGB
PCAM_MPP = 0.972  # micrometres per pixel of Kaggle / PCam patches (10x): what slides are read at
PCAM_MAGNIFICATION = 10  # objective power of Kaggle / PCam patches
INPUT_NAME = "input"  # ONNX graph input: (N, 3, 96, 96) float or (N, 96, 96, 3) uint8
OUTPUT_NAME = "logit"  # ONNX graph output: (N, 1) float32 logit of "centre 32x32 holds tumour"


class Precision(str, Enum):
    """Numeric precision of an engine's graph."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"


class Layout(str, Enum):
    """Memory layout of the engine input the decoder writes."""

    NCHW = "NCHW"  # planar RGB, normalized float32/float16: (pixel/255 - mean)/std
    NHWC = "NHWC"  # raw interleaved uint8 pixels; the graph normalizes


_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}


@dataclass(frozen=True)
class PreprocessSpec:
    """How a 96x96 RGB patch becomes the model input; written into ONNX metadata by train/."""

    mean: tuple[float, float, float]  # per channel, in units of pixel/255
    std: tuple[float, float, float]  # per channel, in units of pixel/255
    size: int = PATCH_SIZE  # pixels, square
    channel_order: str = "RGB"
    layout: Layout = Layout.NCHW
    dtype: str = "float32"  # engine input dtype: float32 | float16 | uint8
    mpp: float = PCAM_MPP  # micrometres per pixel of the training patches (slides are read at it)

    def __post_init__(self) -> None:
        _check(len(self.mean) == 3 and len(self.std) == 3, "mean and std need 3 values (R, G, B)")
        _check(all(math.isfinite(v) for v in (*self.mean, *self.std)), "mean/std must be finite")
        _check(all(v > 0 for v in self.std), f"std must be positive, got {self.std}")
        _check(self.size == PATCH_SIZE, f"only {PATCH_SIZE}x{PATCH_SIZE} patches are supported")
        _check(self.channel_order == "RGB", f"channel order {self.channel_order!r} is not RGB")
        _check(self.dtype in _DTYPES, f"dtype {self.dtype!r} is not one of {sorted(_DTYPES)}")
        uint8_nhwc = (self.layout is Layout.NHWC) == (self.dtype == "uint8")
        _check(uint8_nhwc, "layout NHWC goes with dtype uint8, and NCHW with float32/float16")
        _check(math.isfinite(self.mpp) and self.mpp > 0, f"mpp must be positive, got {self.mpp}")

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype of one engine input element."""
        return np.dtype(_DTYPES[self.dtype])

    def input_shape(self, batch: int) -> tuple[int, int, int, int]:
        """Shape of an input batch of `batch` patches in this layout."""
        if self.layout is Layout.NHWC:
            return (batch, self.size, self.size, 3)
        return (batch, 3, self.size, self.size)

    def with_dtype(self, dtype: str) -> PreprocessSpec:
        """The same spec with another float input dtype (float32 or float16)."""
        return PreprocessSpec(self.mean, self.std, self.size, self.channel_order, self.layout, dtype,
                              self.mpp)

    def to_dict(self) -> dict:
        """A JSON-ready dict (enums as their values)."""
        d = asdict(self)
        d["layout"] = self.layout.value
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    def to_json(self) -> str:
        """Compact JSON, as stored in ONNX metadata and engine manifests."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessSpec:
        """Parse a dict written by to_dict; raises ModelError naming what is wrong."""
        try:
            return cls(
                mean=tuple(float(v) for v in d["mean"]),  # type: ignore[arg-type]
                std=tuple(float(v) for v in d["std"]),  # type: ignore[arg-type]
                size=int(d.get("size", PATCH_SIZE)),
                channel_order=str(d.get("channel_order", "RGB")),
                layout=Layout(d.get("layout", "NCHW")),
                dtype=str(d.get("dtype", "float32")),
                mpp=float(d.get("mpp", PCAM_MPP)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid preprocessing spec {d!r}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> PreprocessSpec:
        """Parse JSON written by to_json; raises ModelError on malformed text."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"preprocessing spec is not valid JSON: {exc}") from exc
        if not isinstance(d, dict):
            raise ModelError(f"preprocessing spec must be a JSON object, got {text!r}")
        return cls.from_dict(d)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ModelError(f"invalid preprocessing spec: {message}")


# torchvision's ImageNet statistics, for ImageNet-pretrained backbones (ResNet50).
IMAGENET_SPEC = PreprocessSpec(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
