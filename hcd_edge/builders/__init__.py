"""Engine building: precision passes (FP16, INT8 Q/DQ), ONNX Runtime and TensorRT compiles,
the manifest and the parity gate.

    from hcd_edge.builders import BuildRequest, build_engine
    result = build_engine(BuildRequest(onnx=Path("model.onnx"), precision=Precision.INT8,
                                       calib=Path("patches/")))
"""

from ..manifest import BatchProfile
from .build import build_engine
from .progress import BuildProgress, ConsoleProgress, SilentProgress
from .request import (
    ActivationForm,
    Backend,
    BuildRequest,
    BuildResult,
    CalibMethod,
    GateThresholds,
    Stage,
    default_out_dir,
    parse_batch_profile,
)

__all__ = [
    "ActivationForm",
    "Backend",
    "BatchProfile",
    "BuildProgress",
    "BuildRequest",
    "BuildResult",
    "CalibMethod",
    "ConsoleProgress",
    "GateThresholds",
    "SilentProgress",
    "Stage",
    "build_engine",
    "default_out_dir",
    "parse_batch_profile",
]
