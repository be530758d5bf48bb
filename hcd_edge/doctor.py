"""`hcd-edge doctor`: the first contact with a new device, walked one named step at a time.

Each step reports ok, skipped (with why) or failed (with what to do). The steps build on each
other: Python and the packages, the native decoder, ONNX Runtime, OpenVINO, then the GPU path
in the order it can break -- NVIDIA driver, pycuda and the GPU, TensorRT, pinned memory and a
copy round trip -- and last a smoke test on every usable backend: build a small engine of the
starter model (FP32, and INT8), score generated patches through the real pipeline, compare
with ONNX Runtime FP32 and time it. A step whose prerequisite is missing is skipped, naming
it; on a CPU-only machine the GPU steps are skipped, not failed. Exit code: 0 when every step
it could try worked, 1 when one failed (the report names the first failing step and the fix).
"""

from __future__ import annotations

import functools
import importlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from hcd_edge import __version__
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.spec import Precision

NVIDIA_DRIVER_VERSION = Path("/proc/driver/nvidia/version")  # desktop and server drivers
NVIDIA_CONTROL_DEVICE = Path("/dev/nvidiactl")  # what a container may show instead
SMOKE_PRECISIONS = {"onnxruntime": (Precision.FP32, Precision.INT8),
                    "openvino": (Precision.FP32, Precision.INT8),
                    "tensorrt": (Precision.FP32, Precision.FP16, Precision.INT8)}
GPU_EXTRA = "pip install 'hcd-edge[gpu]' (on Jetson: TensorRT comes with JetPack 6)"


class Status(str, Enum):
    """Outcome of one step."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class Check:
    """One step of the walk: its name, outcome, what was found, and the fix when it failed."""

    step: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return dict(asdict(self), status=self.status.value)


@dataclass
class DoctorReport:
    """Every step in order; exit_code 1 when any failed."""

    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        """The failed steps, in order."""
        return [c for c in self.checks if c.status is Status.FAILED]

    @property
    def exit_code(self) -> int:
        """0 when every step that could run worked, 1 otherwise."""
        return 1 if self.failed else 0

    def step(self, name: str) -> Check | None:
        """The check of a step by name, or None."""
        return next((c for c in self.checks if c.step == name), None)

    def to_dict(self) -> dict:
        """JSON-ready dict: version, exit code, failed step names, every check."""
        return {"hcd_edge_version": __version__, "exit_code": self.exit_code,
                "failed_steps": [c.step for c in self.failed],
                "checks": [c.to_dict() for c in self.checks]}


@dataclass(frozen=True)
class DoctorOptions:
    """What the walk may do: the smoke test's size and where it writes."""

    smoke: bool = True  # build, score and compare on every usable backend
    patches: int = 64  # generated patches scored per smoke test
    work: Path | None = None  # scratch folder; None: a temporary one, removed afterwards
    model: Path | None = None  # ONNX for the smoke test; None: the packaged starter model
    threads: int | None = None


def run_doctor(options: DoctorOptions | None = None,
               progress: ProgressReporter | None = None) -> DoctorReport:
    """Walk every step in order and return the report (never raises for a failed step)."""
    options, progress = options or DoctorOptions(), progress or SilentProgress()
    checks: list[Check] = []
    for name, probe in (("python", check_python), ("packages", check_packages),
                        ("native decoder", check_native_decoder), ("onnxruntime", check_onnxruntime),
                        ("openvino", check_openvino), ("gpu driver", check_gpu_driver)):
        checks.append(_guarded(name, probe))
        progress.note(_line(checks[-1]))
    checks += _gpu_steps(checks[-1], progress)
    if options.smoke:
        checks += _smoke_all(checks, options, progress)
    return DoctorReport(checks)


def _guarded(step: str, probe: Callable[[], Check]) -> Check:
    """The probe's check, or a failed check naming the unexpected exception."""
    try:
        return probe()
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure as a step
        return Check(step, Status.FAILED, f"{type(exc).__name__}: {exc}",
                     fix="report this with the output of `hcd-edge doctor --json`")


def _line(check: Check) -> str:
    return f"{check.step}: {check.status.value} — {check.detail}"


# -- host ---------------------------------------------------------------------------------
def check_python() -> Check:
    """The interpreter and the machine."""
    detail = (f"Python {platform.python_version()} ({sys.executable}) on {platform.system()} "
              f"{platform.machine()}, {os.cpu_count()} CPUs")
    return Check("python", Status.OK, detail,
                 data={"version": platform.python_version(), "executable": sys.executable,
                       "os": platform.system(), "arch": platform.machine()})


def check_packages() -> Check:
    """hcd-edge's version and every required dependency installed at a version it accepts."""
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    found, problems = {}, []
    for text in requires("hcd-edge") or []:
        req = Requirement(text)
        if req.marker is not None:  # extras (gpu, train, ...) are probed by their own steps
            continue
        try:
            found[req.name] = version(req.name)
        except PackageNotFoundError:
            problems.append(f"{req.name} is missing")
            continue
        if not req.specifier.contains(found[req.name], prereleases=True):
            problems.append(f"{req.name} {found[req.name]} does not satisfy {req.specifier}")
    if problems:
        return Check("packages", Status.FAILED, "; ".join(problems), fix="pip install -e . "
                     "(or pip install hcd-edge) to install the required versions", data=found)
    return Check("packages", Status.OK, f"hcd-edge {__version__}; {len(found)} required "
                 "packages at accepted versions", data={"hcd_edge": __version__, **found})


def check_native_decoder() -> Check:
    """The compiled TIFF decoder and the pixel kernel it picks on this CPU."""
    from hcd_edge import decode

    reason = decode.native_unavailable_reason()
    if reason is not None:
        status = Status.SKIPPED if os.environ.get("HCD_EDGE_SKIP_NATIVE") == "1" else Status.FAILED
        return Check("native decoder", status, reason,
                     fix=None if status is Status.SKIPPED else "pip install -e . with a C compiler")
    from hcd_edge import _tiffdec

    kernels = _tiffdec.supported_kernels()
    return Check("native decoder", Status.OK, f"hcd_edge._tiffdec, SIMD kernel {kernels[-1]} "
                 f"(this CPU runs: {', '.join(kernels)})",
                 data={"kernel": kernels[-1], "kernels": kernels})


def check_onnxruntime() -> Check:
    """ONNX Runtime (the CPU backend and the parity reference)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return Check("onnxruntime", Status.FAILED, f"cannot import onnxruntime ({exc})",
                     fix="pip install onnxruntime")
    providers = ort.get_available_providers()
    return Check("onnxruntime", Status.OK, f"onnxruntime {ort.__version__}, providers "
                 f"{', '.join(providers)}", data={"version": ort.__version__, "providers": providers})


def check_openvino() -> Check:
    """OpenVINO, when installed (optional): its registry probe and release."""
    from hcd_edge.backends.registry import get_backend

    backend = get_backend("openvino")
    reason = backend.probe()
    if reason is not None:
        return Check("openvino", Status.SKIPPED, f"{reason} (optional)")
    version = backend.version()
    return Check("openvino", Status.OK, f"openvino {version}", data={"version": version})


def check_gpu_driver(driver_file: Path = NVIDIA_DRIVER_VERSION) -> Check:
    """An NVIDIA driver (or a Jetson's L4T) on this machine; skipped on a CPU-only machine."""
    from hcd_edge.device_info import describe_platform

    where = describe_platform()
    if where["jetpack"]:
        return Check("gpu driver", Status.OK, f"Jetson, JetPack {where['jetpack']} "
                     f"(L4T {where['l4t']})", data=where)
    if driver_file.is_file():
        first = driver_file.read_text(errors="replace").splitlines()[:1]
        return Check("gpu driver", Status.OK, first[0].strip() if first else str(driver_file),
                     data=where)
    if NVIDIA_CONTROL_DEVICE.exists():  # containers may hide /proc/driver/nvidia
        return Check("gpu driver", Status.OK, f"{NVIDIA_CONTROL_DEVICE} present (driver "
                     f"version not visible: {driver_file} absent)", data=where)
    return Check("gpu driver", Status.SKIPPED, "no NVIDIA driver on this machine "
                 f"({driver_file} absent, not a Jetson): CPU only, the GPU steps are skipped",
                 data=where)


# -- GPU ----------------------------------------------------------------------------------
def _gpu_steps(driver: Check, progress: ProgressReporter) -> list[Check]:
    steps: list[Check] = []
    for name, probe in (("cuda", check_cuda), ("tensorrt", check_tensorrt),
                        ("pinned memory", check_pinned_memory)):
        blocked = next((c for c in [driver, *steps] if c.status is not Status.OK), None)
        if blocked is not None:
            steps.append(Check(name, Status.SKIPPED, f"needs the {blocked.step} step, which was "
                               f"{blocked.status.value}"))
        else:
            steps.append(_guarded(name, probe))
        progress.note(_line(steps[-1]))
    return steps


def check_cuda() -> Check:
    """pycuda imports, the CUDA driver starts, and GPU 0 describes itself."""
    from hcd_edge.backends.tensorrt import cuda_mem
    from hcd_edge.device_info import describe_gpu
    from hcd_edge.errors import BackendUnavailable

    try:
        cuda_mem.require_cuda()
    except BackendUnavailable as exc:
        return Check("cuda", Status.FAILED, str(exc),
                     fix="pip install pycuda (on Jetson first: export PATH=/usr/local/cuda/bin:$PATH)")
    gpu = describe_gpu()
    if gpu is None:
        return Check("cuda", Status.FAILED, "pycuda started but GPU 0 cannot be described",
                     fix="check nvidia-smi (or tegrastats on Jetson) and CUDA_VISIBLE_DEVICES")
    return Check("cuda", Status.OK, f"{gpu['name']}, compute capability "
                 f"{gpu['compute_capability']}, {gpu['memory_mb']} MiB, driver CUDA "
                 f"{gpu['driver']}", data=gpu)


def check_tensorrt() -> Check:
    """TensorRT 10 or later imports with its builder."""
    from hcd_edge.backends.tensorrt.compat import tensorrt_release_problem

    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as exc:
        return Check("tensorrt", Status.FAILED, f"cannot import tensorrt ({exc})", fix=GPU_EXTRA)
    if not hasattr(trt, "Builder"):  # tensorrt-stubs alone: an empty module
        return Check("tensorrt", Status.FAILED, "tensorrt is only type stubs here", fix=GPU_EXTRA)
    version = str(trt.__version__)
    problem = tensorrt_release_problem(version)
    if problem is not None:
        return Check("tensorrt", Status.FAILED, problem, fix=GPU_EXTRA)
    return Check("tensorrt", Status.OK, f"TensorRT {version}", data={"version": version})


def check_pinned_memory(patches: int = 64) -> Check:
    """Pinned and device memory for one batch, and a host->device->host round trip."""
    from hcd_edge.backends.tensorrt import cuda_mem

    shape = (patches, 3, 96, 96)
    context = cuda_mem.CudaContext()
    try:
        with context.activate():
            src, dst = (cuda_mem.PinnedArray(shape, np.dtype(np.float32)) for _ in range(2))
            device, stream = cuda_mem.DeviceBuffer(src.nbytes), cuda_mem.CudaStream()
            src.array[...] = np.arange(src.array.size, dtype=np.float32).reshape(shape)
            cuda_mem.copy_to_device(device, src.array, stream)
            cuda_mem.copy_to_host(dst.array, device, stream)
            stream.synchronize()
            same = bool(np.array_equal(src.array, dst.array))
            for owner in (stream, device, src, dst):
                owner.close()
    finally:
        context.close()
    mib = src.nbytes / (1 << 20)
    if not same:
        return Check("pinned memory", Status.FAILED, "a host->device->host copy came back "
                     "changed", fix="check the GPU with the CUDA samples (bandwidthTest)")
    return Check("pinned memory", Status.OK, f"2 x {mib:.1f} MiB pinned + {mib:.1f} MiB device, "
                 "copy round trip intact", data={"mib": round(mib, 2)})


# -- smoke test ---------------------------------------------------------------------------
def _smoke_all(checks: list[Check], options: DoctorOptions,
               progress: ProgressReporter) -> list[Check]:
    usable = _usable_backends(checks)
    with tempfile.TemporaryDirectory(prefix="hcd-edge-doctor-") as tmp:
        work = Path(options.work or tmp)
        try:
            smoke = _SmokeTest(work, options, progress)
        except Exception as exc:  # noqa: BLE001 - reported as the failing step
            return [Check("smoke setup", Status.FAILED, f"{type(exc).__name__}: {exc}",
                          fix="run `hcd-edge synth` and `hcd-edge score` by hand to see why")]
        results = []
        for backend, reason in usable.items():
            for precision in SMOKE_PRECISIONS[backend]:
                name = f"smoke {backend} {precision.value}"
                check = (Check(name, Status.SKIPPED, reason) if reason is not None
                         else _guarded(name, functools.partial(smoke.run, backend, precision)))
                results.append(check)
                progress.note(_line(check))
        return results


def _usable_backends(checks: list[Check]) -> dict[str, str | None]:
    """backend -> None when it can be smoke-tested, else why not."""
    report = DoctorReport(checks)
    ort, openvino = report.step("onnxruntime"), report.step("openvino")
    gpu_blocker = next((c for c in checks if c.step in ("gpu driver", "cuda", "tensorrt",
                                                       "pinned memory")
                        and c.status is not Status.OK), None)
    return {
        "onnxruntime": None if ort and ort.status is Status.OK else "onnxruntime is not usable",
        "openvino": None if openvino and openvino.status is Status.OK else (
            f"the openvino step was {openvino.status.value if openvino else 'not run'}"),
        "tensorrt": None if gpu_blocker is None else (
            f"needs the {gpu_blocker.step} step, which was {gpu_blocker.status.value}"),
    }


def smoke_limits(precision: Precision):
    """The parity limits of a smoke test: the build gate's, without the label agreement.

    Generated patches are not tissue, and the starter scores many of them close to its
    threshold, so a probability change well inside the gate (INT8: ~0.01) flips some of their
    labels. The size of the change (max |dprob|) is what tells a broken engine here.
    """
    from hcd_edge.builders.parity import with_agreement

    return with_agreement(precision, None)


class _SmokeTest:
    """Generated patches, the FP32 ONNX Runtime reference over them, then one build per call."""

    def __init__(self, work: Path, options: DoctorOptions, progress: ProgressReporter):
        from hcd_edge.model_info import read_model_info
        from hcd_edge.score.default_engine import packaged_starter
        from hcd_edge.synthetic import write_synthetic_set

        self.work, self.options, self.progress = work, options, progress
        self.model = Path(options.model or packaged_starter())
        self.info = read_model_info(self.model)
        patch_root = work / "patches"
        write_synthetic_set(patch_root, max(options.patches, 32), seed=12, force=True)
        self.patch_root = patch_root
        self.paths = sorted((patch_root / "train").glob("*.tif"))[: options.patches]
        from hcd_edge.backends.onnxruntime.executor import OrtExecutor

        with OrtExecutor(self.model, self.info.spec, threads=options.threads) as reference:
            self.reference, _ = self._score(reference)

    def run(self, backend: str, precision: Precision) -> Check:
        """Build, score and compare one backend and precision."""
        from hcd_edge.backends.engine_folder import open_executor
        from hcd_edge.builders import BuildRequest, build_engine
        from hcd_edge.builders.parity import describe, evaluate

        name = f"smoke {backend} {precision.value}"
        started = time.perf_counter()
        try:
            built = build_engine(BuildRequest(
                onnx=self.model, precision=precision, backend=backend, gate=False, force=True,
                out=self.work / "engines" / f"{backend}-{precision.value}",
                calib=self.patch_root if precision is Precision.INT8 else None,
                val=self.patch_root, calib_n=max(32, self.options.patches),
                val_n=max(32, self.options.patches), threads=self.options.threads))
        except Exception as exc:  # noqa: BLE001 - named as the build sub-step
            return Check(f"{name} (build)", Status.FAILED, f"{type(exc).__name__}: {exc}",
                         fix=f"hcd-edge build-engine {self.model} --backend {backend} "
                             f"--precision {precision.value} shows the full error")
        build_s = time.perf_counter() - started
        with open_executor(built.engine_dir, threads=self.options.threads) as engine:
            probs, rate = self._score(engine)
        report = evaluate(self.reference, probs, None, self.info.threshold, smoke_limits(precision))
        data = {"build_seconds": round(build_s, 2), "patches_per_second": round(rate, 1),
                "n": len(probs), **{k: report[k] for k in ("agreement", "max_abs_dprob")}}
        detail = (f"built in {build_s:.1f} s, scored {len(probs)} patches at {rate:,.0f}/s, vs "
                  f"ONNX Runtime FP32: {describe(report)}")
        if not report["passed"]:
            return Check(f"{name} (compare)", Status.FAILED, detail + " — " +
                         "; ".join(report["failures"]), fix="build this engine with `hcd-edge "
                         "build-engine --val` real patches to see the parity gate's verdict there",
                         data=data)
        return Check(name, Status.OK, detail, data=data)

    def _score(self, executor) -> tuple[np.ndarray, float]:
        """Probabilities of self.paths through the scoring pipeline, and patches per second."""
        from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline

        pipeline = ScoringPipeline(executor, PipelineConfig(batch=32, slots=3,
                                                            decode_threads=self.options.threads))
        list(pipeline.run(self.paths[:32]))  # warm-up: first-call allocations and autotuning
        started = time.perf_counter()
        results = list(pipeline.run(self.paths))
        seconds = time.perf_counter() - started
        probs = np.concatenate([r.probabilities for r in results])
        if np.isnan(probs).any():
            raise RuntimeError(f"{int(np.isnan(probs).sum())} generated patches were not scored")
        return probs, len(probs) / max(seconds, 1e-9)
