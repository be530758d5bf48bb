"""The engine `hcd-edge score` uses without --engine: the packaged starter model, built on first use.

The first run builds an engine of hcd_edge/starter/starter.onnx with `--backend auto` (TensorRT
when tensorrt, pycuda and a GPU are present, else the fastest CPU backend installed, measured):
INT8 when it passes the parity gate, else FP32. It is cached under the user cache folder
(<cache>/engines/starter-<sha256>-<backends and versions>-<device>/{int8,fp32}), so later runs
on this machine reuse it; a new starter model, backend release or device gets a new folder.

INT8 is calibrated on the first patches being scored (and gated on others held back from
them): they come from the user's own scanner and stain, which is what the activation ranges
must cover. A bundled set would have to be real tissue, which the package cannot ship, or
generated patches, whose colour statistics would calibrate the ranges badly. Fewer than
INT8_MIN_PATCHES patches cannot calibrate and gate INT8, so such a run builds FP32 (and a
later, larger run builds INT8 then).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hcd_edge.atomic import write_text_atomic
from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.cache_dir import CACHE_ENV, user_cache_dir
from hcd_edge.errors import DataError, EngineError, ParityGateError
from hcd_edge.manifest import sha256_file
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.score.sources import PatchRef, PatchSet
from hcd_edge.spec import Precision

STARTER_ENV = "HCD_EDGE_STARTER_MODEL"  # read by the CLI only: another starter ONNX (tests, dev)
CALIB_PATCHES = 512  # calibration patches at most
VAL_PATCHES = 512  # parity patches at most, held back from the calibration source
INT8_MIN_PATCHES = 128  # the build holds back a quarter for parity, which needs 32
REFUSED_MARKER = "int8-refused.json"  # INT8 failed the gate here: do not retry on every run


@dataclass(frozen=True)
class DefaultEngine:
    """The engine folder chosen for a run without --engine."""

    engine: EngineFolder  # opened and verified
    precision: Precision
    built: bool  # True when this call built it
    model: Path  # the starter ONNX it was built from

    @property
    def engine_dir(self) -> Path:
        """The engine folder's path."""
        return self.engine.path


@dataclass(frozen=True)
class _Target:
    backends: str  # the usable backends and their releases, e.g. openvino2026.4.1-onnxruntime1.23.2
    device: str  # slug, e.g. cpu-x86_64-1a2b3c4d or nvidia-jetson-orin-sm87


def packaged_starter() -> Path:
    """hcd_edge/starter/starter.onnx inside the installed package (it may not exist yet)."""
    return Path(__file__).resolve().parents[1] / "starter" / "starter.onnx"


def missing_starter_message(model: Path) -> str:
    """What to do when there is no --engine and no starter model."""
    why = " (this hcd-edge was installed without it)" if model == packaged_starter() else ""
    return (
        f"no --engine given and the starter model {model} is not there{why}. Build an engine "
        "from your own model and pass it:\n"
        "  hcd-edge build-engine MODEL.onnx --precision int8 --calib PATCHES/\n"
        "  hcd-edge score PATCHES/ --engine engines/MODEL-int8-onnxruntime"
    )


def default_engine(
    refs: Sequence[PatchRef],
    *,
    model: Path | None = None,
    threads: int | None = None,
    progress: ProgressReporter | None = None,
) -> DefaultEngine:
    """The cached starter engine for this machine, built first (calibrated on refs) when missing.

    model: the starter ONNX (default: the packaged one). Raises EngineError when it is missing.
    """
    model = Path(model) if model is not None else packaged_starter()
    progress = progress or SilentProgress()
    if not model.is_file():
        raise EngineError(missing_starter_message(model))
    target = _best_target()
    folder = cache_folder(sha256_file(model), target)
    with _cache_errors(folder), _build_lock(folder):
        found = _cached(folder, len(refs))
        if found is not None:
            progress.note(f"using the cached starter engine {found.path} ({found.manifest.backend})")
            return DefaultEngine(found, Precision(found.path.name), built=False, model=model)
        return _build(model, folder, target, refs, threads, progress)


def cache_folder(model_sha256: str, target: _Target) -> Path:
    """<user cache>/engines/starter-<sha>-<backends and versions>-<device>."""
    name = f"starter-{model_sha256[:16]}-{target.backends}-{target.device}"
    return user_cache_dir() / "engines" / _slug(name)


def _best_target() -> _Target:
    from hcd_edge.backends.registry import usable
    from hcd_edge.device_info import describe_cpu

    gpu = usable("gpu")
    backends = gpu[:1] or usable("cpu")
    label = "-".join(f"{b.name}{b.version()}" for b in backends)
    if gpu:
        info = gpu[0].describe_device() or {}
        cc = str(info.get("compute_capability", "")).replace(".", "")
        return _Target(label, f"{info.get('name', 'gpu')}-sm{cc}")
    features = ",".join(describe_cpu()["features"])
    device = f"cpu-{platform.machine()}-{hashlib.sha256(features.encode()).hexdigest()[:8]}"
    return _Target(label, device)


def _cached(folder: Path, n_patches: int) -> EngineFolder | None:
    """The usable cached engine: int8, else fp32 when int8 was refused or cannot be built now."""
    int8 = _intact(folder / Precision.INT8.value)
    if int8 is not None:
        return int8
    fp32 = _intact(folder / Precision.FP32.value)
    int8_possible = n_patches >= INT8_MIN_PATCHES and not (folder / REFUSED_MARKER).exists()
    if fp32 is not None and not int8_possible:
        return fp32
    return None


def _intact(engine_dir: Path) -> EngineFolder | None:
    if not engine_dir.is_dir():
        return None
    try:
        return EngineFolder.open(engine_dir)
    except EngineError:
        return None


def _build(model: Path, folder: Path, target: _Target, refs: Sequence[PatchRef],
           threads: int | None, progress: ProgressReporter) -> DefaultEngine:
    enough = len(refs) >= INT8_MIN_PATCHES and not (folder / REFUSED_MARKER).exists()
    calib = _calibration_set(refs) if len(refs) >= INT8_MIN_PATCHES else None
    if enough:
        progress.note(
            f"no starter engine is cached for this machine yet: building one (INT8 if it passes "
            f"the parity gate, else FP32), calibrated on the first "
            f"{min(len(refs), CALIB_PATCHES + VAL_PATCHES)} patches being scored; it is cached "
            f"in {folder} for later runs"
        )
        try:
            return _run_build(model, folder, Precision.INT8, calib, threads, progress)
        except (ParityGateError, DataError) as exc:
            _refuse_int8(folder, exc, progress)
            if isinstance(exc, DataError):  # too few readable patches: FP32 without parity
                calib = None
    elif len(refs) < INT8_MIN_PATCHES:
        progress.note(
            f"building the FP32 starter engine in {folder} (INT8 needs at least "
            f"{INT8_MIN_PATCHES} patches to calibrate and gate; a larger run builds it)"
        )
    return _run_build(model, folder, Precision.FP32, calib, threads, progress)


def _run_build(model: Path, folder: Path, precision: Precision, calib: PatchSet | None,
               threads: int | None, progress: ProgressReporter) -> DefaultEngine:
    from hcd_edge.builders import BuildRequest, build_engine

    request = BuildRequest(
        onnx=model, precision=precision, out=folder / precision.value, backend="auto",
        calib=calib, calib_n=CALIB_PATCHES, val_n=VAL_PATCHES, threads=threads, force=True,
    )
    result = build_engine(request, progress)
    progress.note(f"built the starter {precision.value} engine: {result.engine_dir}")
    return DefaultEngine(EngineFolder.open(result.engine_dir), precision, built=True, model=model)


def _refuse_int8(folder: Path, exc: Exception, progress: ProgressReporter) -> None:
    if isinstance(exc, ParityGateError):
        write_text_atomic(folder / REFUSED_MARKER, json.dumps({"reason": str(exc)}, indent=2) + "\n")
    progress.note(f"INT8 starter engine not kept ({exc}); building FP32 instead")


def _calibration_set(refs: Sequence[PatchRef]) -> PatchSet:
    """The first patches being scored, handed to the build as they are (no list file)."""
    first = tuple(refs[: CALIB_PATCHES + VAL_PATCHES])
    return PatchSet(refs=first, labels=None, source=f"the first {len(first)} patches being scored")


@contextlib.contextmanager
def _cache_errors(folder: Path) -> Iterator[None]:
    """Create the cache folder; an unusable one (a file, read-only) becomes one clear EngineError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".lock").touch()
    except OSError as exc:
        raise EngineError(
            f"cannot use the cache folder {user_cache_dir()} for the starter engine "
            f"({exc.strerror or exc}: {exc.filename or folder}); set {CACHE_ENV} to a writable "
            "folder, or pass --engine"
        ) from exc
    yield


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """One build per cache folder at a time (two first runs at once would race otherwise)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the build's staging rename still keeps files whole
        yield
        return
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower()
