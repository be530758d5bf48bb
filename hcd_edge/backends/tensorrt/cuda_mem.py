"""CUDA contexts, pinned and device memory, streams and events: the only module using pycuda.

Every object has one owner and a close(). The context is the device's primary context (the
one the CUDA runtime, and so TensorRT, uses), retained once and made current around each use
with `activate()` (push ... pop) and released with close() (push, detach); nothing stays
current on a thread between calls, so the owner may be used -- and closed -- from one thread
at a time, whichever it is. Allocation, copies and frees
must run inside `activate()`.

Written against the pycuda documentation (driver API: Device.retain_primary_context,
Context.push/pop/detach, pagelocked_empty, mem_alloc, memcpy_htod_async/dtoh_async, Stream,
Event); no GPU exists where this package is developed, so GPU tests run only on a device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from hcd_edge.errors import BackendUnavailable

try:
    import pycuda.driver as cuda
except ImportError:  # a CPU-only install: require_cuda() says what to do instead
    cuda = None

CPU_ALTERNATIVE = (
    "score on the CPU with an ONNX Runtime engine instead: "
    "hcd-edge build-engine MODEL.onnx --backend onnxruntime"
)


def require_cuda():
    """The pycuda.driver module, initialised; BackendUnavailable naming the CPU alternative."""
    if cuda is None:
        raise BackendUnavailable(f"pycuda is not installed (pip install pycuda); {CPU_ALTERNATIVE}")
    try:
        cuda.init()
        if cuda.Device.count() < 1:
            raise BackendUnavailable(f"no CUDA GPU is visible; {CPU_ALTERNATIVE}")
    except cuda.Error as exc:
        raise BackendUnavailable(f"the CUDA driver cannot start ({exc}); {CPU_ALTERNATIVE}") from exc
    return cuda


def describe_device(device: int = 0) -> dict | None:
    """{"name", "compute_capability", "driver", "memory_mb"} of a GPU; None without pycuda or GPU."""
    if cuda is None:
        return None
    try:
        cuda.init()
        dev = cuda.Device(device)
        major, minor = dev.compute_capability()
        driver = cuda.get_driver_version()  # e.g. 12040 -> "12.4"
        return {
            "name": dev.name(),
            "compute_capability": f"{major}.{minor}",
            "driver": f"{driver // 1000}.{driver % 1000 // 10}",
            "memory_mb": dev.total_memory() // (1 << 20),
        }
    except cuda.Error:
        return None


def _driver():
    """pycuda.driver after require_cuda() succeeded once (a CudaContext exists)."""
    if cuda is None:
        raise BackendUnavailable(f"pycuda is not installed (pip install pycuda); {CPU_ALTERNATIVE}")
    return cuda


class CudaContext:
    """The primary context of one GPU, retained until close()."""

    def __init__(self, device: int = 0):
        driver = require_cuda()
        try:
            self._device = driver.Device(device)
            self._context = self._device.retain_primary_context()
        except driver.Error as exc:
            raise BackendUnavailable(f"cannot open CUDA device {device}: {exc}; {CPU_ALTERNATIVE}") from exc

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Make the context current on this thread for the block (push, then pop)."""
        if self._context is None:
            raise RuntimeError("the CUDA context was closed")
        self._context.push()
        try:
            yield
        finally:
            _driver().Context.pop()

    def describe(self) -> dict:
        """{"name", "compute_capability"} of the device, as engine manifests record them."""
        major, minor = self._device.compute_capability()
        return {"name": self._device.name(), "compute_capability": f"{major}.{minor}"}

    def close(self) -> None:
        """Release the retained primary context, from whichever thread; idempotent."""
        if self._context is None:
            return
        context, self._context = self._context, None
        # Detach while current: pycuda then releases the primary context and pops it. Detached
        # while not current it would stay current on the creating thread, and from any other
        # thread pycuda skips the release without a word.
        context.push()
        context.detach()


class PinnedArray:
    """A page-locked host numpy array (the source and target of asynchronous copies)."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
        self.array: np.ndarray = _driver().pagelocked_empty(shape, dtype)
        self.nbytes = self.array.nbytes
        self._allocation = self.array.base  # a PagelockedHostAllocation

    def close(self) -> None:
        """Free the page-locked memory now (inside the owning context); idempotent."""
        if self._allocation is not None:
            self._allocation.free()
            self._allocation = None


class DeviceBuffer:
    """Linear device memory of `nbytes` bytes."""

    def __init__(self, nbytes: int):
        self._allocation = _driver().mem_alloc(nbytes)
        self.nbytes = nbytes

    @property
    def ptr(self) -> int:
        """The device address, as TensorRT's set_tensor_address takes it."""
        return int(self._allocation)

    def close(self) -> None:
        """Free the device memory now (inside the owning context); idempotent."""
        if self._allocation is not None:
            self._allocation.free()
            self._allocation = None


class CudaEvent:
    """A timing event; with blocking=True, synchronize() sleeps instead of spinning a core."""

    def __init__(self, blocking: bool = False):
        driver = _driver()
        flags = driver.event_flags.BLOCKING_SYNC if blocking else 0
        self._event = driver.Event(flags)

    def record(self, stream: CudaStream) -> None:
        """Mark the point in `stream` reached once everything enqueued before has run."""
        self._event.record(stream.raw)

    def synchronize(self) -> None:
        """Wait until the stream reaches the event."""
        self._event.synchronize()

    def ms_since(self, earlier: CudaEvent) -> float:
        """Milliseconds between `earlier` and this event (both reached)."""
        return float(self._event.time_since(earlier._event))

    @property
    def raw(self):
        """The pycuda Event."""
        return self._event

    def close(self) -> None:
        """Drop the event (pycuda destroys it)."""
        self._event = None


class CudaStream:
    """An asynchronous work queue; copies and inference of one slot run in order on it."""

    def __init__(self) -> None:
        self._stream = _driver().Stream()

    @property
    def handle(self) -> int:
        """The cudaStream_t value, as TensorRT's execute_async_v3 takes it."""
        return int(self._stream.handle)

    @property
    def raw(self):
        """The pycuda Stream."""
        return self._stream

    def wait_for(self, event: CudaEvent) -> None:
        """Make later work on this stream wait until `event` is reached (on any stream)."""
        self._stream.wait_for_event(event.raw)

    def synchronize(self) -> None:
        """Wait until all work enqueued on the stream has finished."""
        self._stream.synchronize()

    def close(self) -> None:
        """Finish pending work and drop the stream."""
        if self._stream is not None:
            self._stream.synchronize()
            self._stream = None


def copy_to_device(dst: DeviceBuffer, src: np.ndarray, stream: CudaStream) -> None:
    """Enqueue a copy of the pinned array `src` (C-contiguous) to the start of `dst`."""
    if src.nbytes > dst.nbytes:
        raise ValueError(f"{src.nbytes} bytes do not fit a {dst.nbytes}-byte device buffer")
    _driver().memcpy_htod_async(dst.ptr, src, stream.raw)


def copy_to_host(dst: np.ndarray, src: DeviceBuffer, stream: CudaStream) -> None:
    """Enqueue a copy of the first dst.nbytes bytes of `src` into the pinned array `dst`."""
    if dst.nbytes > src.nbytes:
        raise ValueError(f"{dst.nbytes} bytes are more than the {src.nbytes}-byte device buffer")
    _driver().memcpy_dtoh_async(dst, src.ptr, stream.raw)

