"""The executor interface every backend implements: slots in, logits out, resources owned."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from hcd_edge.spec import Precision, PreprocessSpec

if TYPE_CHECKING:
    from hcd_edge.builders.request import BuildRequest
    from hcd_edge.manifest import Manifest
    from hcd_edge.progress import ProgressReporter


CACHE_LINE = 64  # bytes; aligned input rows keep ORT's vectorized loads on the fast path


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype, align: int = CACHE_LINE) -> np.ndarray:
    """An uninitialized C-contiguous array whose data pointer is a multiple of `align` bytes."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


@dataclass
class Slot:
    """One batch buffer of the pipeline ring: the decoder writes host[:n], the engine reads it.

    On a GPU backend host is pinned memory and the slot also owns device buffers and a
    stream (in `resources`); on CPU host is an aligned numpy array.
    """

    index: int
    host: np.ndarray  # spec.input_shape(capacity), spec.numpy_dtype, C-contiguous
    capacity: int
    resources: object = None  # backend-owned per-slot state (device buffers, stream, events)
    pending: int = 0  # rows submitted and not yet collected
    result: np.ndarray | None = None  # logits of a completed synchronous submit


@dataclass
class StageTimes:
    """Seconds spent per stage across calls (host-to-device copy, compute, device-to-host)."""

    h2d: float = 0.0
    compute: float = 0.0
    d2h: float = 0.0
    batches: int = 0
    per_batch: list = field(default_factory=list)  # (h2d, compute, d2h) seconds per batch

    def add(self, h2d: float, compute: float, d2h: float) -> None:
        """Record one batch's stage seconds."""
        self.h2d += h2d
        self.compute += compute
        self.d2h += d2h
        self.batches += 1
        self.per_batch.append((h2d, compute, d2h))

    def reset(self) -> None:
        """Forget everything recorded so far (e.g. after warm-up)."""
        self.h2d = self.compute = self.d2h = 0.0
        self.batches = 0
        self.per_batch.clear()


_E = TypeVar("_E", bound="Executor")


class Executor(abc.ABC):
    """A loaded engine. Use as a context manager or call close(); not shared across threads."""

    backend: str = "abstract"
    stage_names: tuple[str, ...] = ("compute",)  # which StageTimes fields this backend fills
    # Batches a caller may submit before collecting the oldest: 1 for a backend whose submit
    # runs the batch (ONNX Runtime); 2 lets a GPU copy one slot while it computes another.
    max_in_flight: int = 1

    def __init__(self, spec: PreprocessSpec, precision: Precision, max_batch: int):
        self.spec = spec
        self.precision = precision
        self.max_batch = max_batch
        self.times = StageTimes()

    @abc.abstractmethod
    def make_slot(self, index: int, capacity: int) -> Slot:
        """A slot holding up to `capacity` patches (capacity <= max_batch)."""

    @abc.abstractmethod
    def submit(self, slot: Slot, n: int) -> None:
        """Start inference on slot.host[:n]; may return before it finishes."""

    @abc.abstractmethod
    def collect(self, slot: Slot) -> np.ndarray:
        """Wait for the slot's submitted batch; returns its logits, float32, shape (n,)."""

    def release_slot(self, slot: Slot) -> None:
        """Free what make_slot allocated for this slot (default: nothing beyond the array)."""
        slot.resources = None

    def close(self) -> None:
        """Release sessions, contexts and buffers; idempotent."""

    def infer(self, inputs: np.ndarray) -> np.ndarray:
        """Logits (n,) float32 of an input array in the engine layout, in chunks of max_batch."""
        expected = self.spec.input_shape(len(inputs))
        if tuple(inputs.shape) != expected:
            raise ValueError(f"input shape {inputs.shape} is not the engine's {expected}")
        chunk = max(1, min(self.max_batch, len(inputs)))
        slot = self.make_slot(0, chunk)
        try:
            out = []
            for start in range(0, len(inputs), chunk):
                part = inputs[start : start + chunk]
                slot.host[: len(part)] = part
                self.submit(slot, len(part))
                out.append(self.collect(slot))
            return np.concatenate(out) if out else np.zeros(0, np.float32)
        finally:
            self.release_slot(slot)

    def __enter__(self: _E) -> _E:  # noqa: PYI019 - typing.Self is 3.11+, we support 3.10
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits, float64 and overflow-safe."""
    x = np.asarray(logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


@dataclass(frozen=True)
class EngineFiles:
    """What a backend's compile wrote into the engine folder, for the manifest."""

    engine_file: str  # file name inside the engine folder
    backend: str  # registry name (for a portable ONNX: the backend it is meant for)
    backend_version: str
    device: dict  # what the engine is bound to (CPU features, GPU model and compute capability)
    build_options: dict


@dataclass(frozen=True)
class CompileJob:
    """What a backend's compiler gets: the precision ONNX and the folder its engine goes to."""

    model: Path  # the precision ONNX (FP32, FP16, or Q/DQ INT8)
    folder: Path  # the engine folder being built (a staging folder until the build succeeds)
    work: Path  # scratch folder for intermediate files (removed unless --keep-work)
    spec: PreprocessSpec
    precision: Precision
    request: BuildRequest
    device: dict | None  # the GPU description for GPU backends, None on CPU
    progress: ProgressReporter


@dataclass(frozen=True)
class OpenRequest:
    """What a backend's open gets: a verified engine file and its manifest."""

    manifest: Manifest
    engine_path: Path
    threads: int | None = None  # CPU threads for inference; None = all cores


@dataclass(frozen=True)
class Backend:
    """One inference backend: its name and the four things the rest of hcd-edge asks of it.

    Every function imports the backend's libraries lazily, so the registry costs nothing to
    import on a machine without them.
    """

    name: str  # CLI choice and manifest value, e.g. "onnxruntime"
    title: str  # for people, e.g. "ONNX Runtime"
    device_kind: str  # "gpu" or "cpu": auto prefers a usable GPU backend
    probe: Callable[[], str | None]  # None when usable here, else why not and how to fix it
    version: Callable[[], str]  # the installed release (part of an engine's identity)
    describe_device: Callable[[], dict | None]  # what its engines are bound to here
    compile: Callable[[CompileJob], EngineFiles]  # precision ONNX -> engine file in job.folder
    check: Callable[[Manifest, Path], None]  # raise EngineMismatchError when not runnable here
    open: Callable[[OpenRequest], Executor]
    symmetric_int8_only: bool = False  # INT8 Q/DQ must use symmetric int8 activations
    defers_to_device: bool = False  # without it here, a build writes the portable ONNX for it
    # Refuses a build request this device cannot honour, before any slow step (None: no checks).
    preflight: Callable[[BuildRequest, dict | None], None] | None = None
