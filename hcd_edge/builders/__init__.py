"""Engine building: precision passes (FP16, INT8 Q/DQ), ONNX Runtime and TensorRT compiles,
the manifest and the parity gate.

    from hcd_edge.builders import BuildRequest, build_engine
    result = build_engine(BuildRequest(onnx=Path("model.onnx"), precision=Precision.INT8,
                                       calib=Path("patches/")))
"""

from hcd_edge.builders.build import build_engine
from hcd_edge.builders.request import (
    ActivationForm,
    BuildRequest,
    BuildResult,
    CalibMethod,
    GateThresholds,
    Stage,
    default_out_dir,
    parse_batch_profile,
)
from hcd_edge.manifest import BatchProfile
from hcd_edge.progress import ProgressReporter, SilentProgress

__all__ = [
    "ActivationForm",
    "BatchProfile",
    "BuildRequest",
    "BuildResult",
    "CalibMethod",
    "GateThresholds",
    "ProgressReporter",
    "SilentProgress",
    "Stage",
    "build_engine",
    "default_out_dir",
    "parse_batch_profile",
]
