"""What a build is asked to do (BuildRequest) and what it produced (BuildResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from hcd_edge.backends.registry import backend_choices
from hcd_edge.errors import EngineError
from hcd_edge.manifest import BatchProfile, Manifest
from hcd_edge.score.sources import PatchSet
from hcd_edge.spec import Precision

MIN_CALIB_PATCHES = 32  # fewer readable calibration patches than this give unstable ranges
MIN_VAL_PATCHES = 32  # fewer validation patches than this make the parity numbers meaningless
DEFAULT_ENGINES_DIR = Path("engines")
DEFAULT_WORKSPACE_MB = 1024
HARDWARE_COMPATIBILITY = ("none", "ampere_plus", "same_compute_capability")  # TensorRT levels


class Stage(str, Enum):
    """How far a build goes."""

    ENGINE = "engine"  # a compiled engine for the backend
    ONNX = "onnx"  # stop after the precision pass: a portable precision ONNX for another machine


class CalibMethod(str, Enum):
    """How calibration turns observed activations into quantization ranges."""

    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


class ActivationForm(str, Enum):
    """Q/DQ activation type for an ONNX Runtime INT8 build (TensorRT always gets symmetric int8)."""

    AUTO = "auto"  # the faster of the two, measured on this machine
    UINT8 = "uint8"  # asymmetric uint8 activations, int8 weights (ORT's native x86 kernels)
    INT8 = "int8"  # symmetric int8 activations and weights (the TensorRT form)


@dataclass(frozen=True)
class GateThresholds:
    """Limits of the parity gate; None = not gated."""

    max_auc_loss: float | None  # AUC(reference) - AUC(engine), labelled sets only
    min_agreement: float | None  # fraction of patches given the same label at the model threshold
    max_abs_dprob: float | None  # largest |p_engine - p_reference|, unlabelled sets only


@dataclass(frozen=True)
class BuildRequest:
    """One `hcd-edge build-engine` invocation (see docs of each field for units)."""

    onnx: Path
    precision: Precision
    out: Path | None = None  # None: engines/<model>-<precision>-<backend>[-onnx]
    backend: str = "auto"  # auto or a registered backend name (hcd_edge.backends.registry)
    # calibration patches: a folder, Kaggle layout, class folders or list file, or a PatchSet
    calib: Path | PatchSet | None = None
    calib_n: int = 512  # calibration patches used at most
    calib_method: str = "minmax"  # minmax | entropy | percentile
    val: Path | None = None  # parity patches; None: patches of --calib held back from calibration
    val_n: int = 1000  # parity patches scored at most
    batch: BatchProfile = field(default_factory=BatchProfile)
    workspace_mb: int = DEFAULT_WORKSPACE_MB  # TensorRT builder workspace limit, MiB
    gate: bool = True  # fail the build when parity is out of bounds
    force: bool = False  # replace an existing output folder
    stage: str = "engine"  # engine | onnx
    mean: tuple[float, float, float] | None = (
        None  # overrides / supplies the model's spec (pixel/255)
    )
    std: tuple[float, float, float] | None = None
    threads: int | None = None  # CPU threads for decoding, ONNX Runtime and calibration; None = all
    activation_form: str = "auto"  # ONNX Runtime INT8: auto | uint8 | int8
    version_compatible: bool = (
        False  # TensorRT: plan runs on later TensorRT releases (lean runtime)
    )
    hardware_compatibility: str = "none"  # TensorRT: none | ampere_plus | same_compute_capability
    timing_cache: Path | None = None  # TensorRT timing cache; None: under the user cache folder
    thresholds: GateThresholds | None = None  # None: the defaults for the precision
    keep_work: bool = False  # keep the intermediate ONNX files in <out>.work/ (for debugging)

    def __post_init__(self) -> None:
        if self.backend not in backend_choices():
            raise EngineError(
                f"backend {self.backend!r} is not one of {', '.join(backend_choices())}"
            )
        _check_choice("stage", self.stage, Stage)
        _check_choice("calibration method", self.calib_method, CalibMethod)
        _check_choice("activation form", self.activation_form, ActivationForm)
        if self.hardware_compatibility not in HARDWARE_COMPATIBILITY:
            raise EngineError(
                f"hardware compatibility {self.hardware_compatibility!r} is not one of "
                f"{', '.join(HARDWARE_COMPATIBILITY)}"
            )
        if self.calib_n < MIN_CALIB_PATCHES:
            raise EngineError(
                f"--calib-n {self.calib_n} is below the minimum of {MIN_CALIB_PATCHES}"
            )
        if self.val_n < MIN_VAL_PATCHES:
            raise EngineError(f"val_n {self.val_n} is below the minimum of {MIN_VAL_PATCHES}")
        check_batch_profile(self.batch)
        if self.workspace_mb < 1:
            raise EngineError(f"--workspace-mb must be positive, got {self.workspace_mb}")
        if (self.mean is None) != (self.std is None):
            raise EngineError(
                "give --mean and --std together (3 values each, in units of pixel/255)"
            )
        if self.threads is not None and self.threads < 1:
            raise EngineError(f"--threads must be at least 1, got {self.threads}")

    @property
    def stage_choice(self) -> Stage:
        """The requested stage as an enum."""
        return Stage(self.stage)


@dataclass
class BuildResult:
    """What a build wrote: the engine folder, its manifest, and what the user should know."""

    engine_dir: Path
    manifest: Manifest
    engine_path: Path
    notes: list[str] = field(default_factory=list)  # e.g. "TensorRT is not installed here; …"
    next_step: str | None = None  # the command to run on the device after a portable stage


def check_batch_profile(batch: BatchProfile) -> None:
    """Raise EngineError unless 1 <= min <= opt <= max."""
    if not 1 <= batch.min <= batch.opt <= batch.max:
        raise EngineError(
            f"batch profile {batch.min}:{batch.opt}:{batch.max} must satisfy 1 <= MIN <= OPT <= MAX"
        )


def parse_batch_profile(text: str) -> BatchProfile:
    """A BatchProfile from 'MIN:OPT:MAX' (e.g. '1:64:256'); raises EngineError when malformed."""
    parts = text.split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3:
        raise EngineError(f"--batch {text!r} is not MIN:OPT:MAX, e.g. 1:64:256")
    profile = BatchProfile(*values)
    check_batch_profile(profile)
    return profile


def default_out_dir(model_name: str, precision: Precision, backend: str, stage: Stage) -> Path:
    """engines/<model>-<precision>-<backend>, with '-onnx' for a portable precision ONNX."""
    suffix = "-onnx" if stage is Stage.ONNX else ""
    return DEFAULT_ENGINES_DIR / f"{model_name}-{precision.value}-{backend}{suffix}"


def _check_choice(what: str, value: str, enum: type[Enum]) -> None:
    allowed = [m.value for m in enum]  # type: ignore[var-annotated]
    if value not in allowed:
        raise EngineError(f"{what} {value!r} is not one of {', '.join(allowed)}")
