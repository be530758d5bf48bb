"""TensorRT executor: a deserialized plan, one execution context, and per-slot CUDA resources.

Each slot owns a pinned input array, a pinned output array, device input/output buffers, one
CUDA stream and timing events. submit() enqueues on the slot's stream

    H2D copy -> execute_async_v3 -> D2H copy

and returns at once; collect() waits for the slot's last event. With two slots in flight the
copies of one overlap the inference of the other. There is one execution context (one
optimization profile), so before submit() touches it (input shape, tensor addresses) and
enqueues, the host waits for the previous enqueue's compute to finish: a context in use on one
stream must not be given new shapes and enqueued on another (TensorRT requires a context and
profile per concurrent enqueue). The copy-in of the next batch was enqueued before that wait,
so it still overlaps the previous inference; the copy-out of the previous batch overlaps the
next inference.

Threads: the executor makes its CUDA context current around every call (see cuda_mem), so
it may be used from any one thread at a time; the scoring pipeline calls it only from the
thread that iterates the pipeline. Written against the TensorRT 10.x/11.x Python API
(Runtime.deserialize_cuda_engine, ICudaEngine tensor queries, IExecutionContext
set_input_shape / set_tensor_address / execute_async_v3) and type-checked with
tensorrt-stubs; no GPU exists where this package is developed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.backends.base import Executor, Slot
from hcd_edge.backends.tensorrt import cuda_mem
from hcd_edge.backends.tensorrt.compat import check_tensorrt_compatible, tensorrt_release_problem
from hcd_edge.device_info import describe_platform
from hcd_edge.errors import BackendUnavailable, EngineError, ModelError
from hcd_edge.manifest import Manifest
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME

try:
    import tensorrt as trt
except ImportError:  # a CPU-only install: open_trt_executor says what to do instead
    trt = None  # type: ignore[assignment]


def open_trt_executor(manifest: Manifest, engine_path: Path) -> Executor:
    """A TrtExecutor for the plan; BackendUnavailable (naming the CPU alternative) without the stack."""
    # tensorrt-stubs alone makes `import tensorrt` succeed with an empty module.
    if trt is None or not hasattr(trt, "Runtime"):
        raise BackendUnavailable(
            f"{engine_path} is a TensorRT engine but TensorRT is not installed here "
            f"(pip install 'hcd-edge[gpu]'); {cuda_mem.CPU_ALTERNATIVE}"
        )
    problem = tensorrt_release_problem(str(trt.__version__))
    if problem is not None:
        raise BackendUnavailable(f"{engine_path}: {problem}; {cuda_mem.CPU_ALTERNATIVE}")
    return TrtExecutor(manifest, Path(engine_path))


class _Logger(trt.ILogger if trt is not None and hasattr(trt, "ILogger") else object):  # type: ignore[misc]
    """Keeps TensorRT's error messages for the exception text."""

    def __init__(self) -> None:
        trt.ILogger.__init__(self)
        self.errors: list[str] = []

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        """Called by TensorRT for each message."""
        if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
            self.errors.append(msg)


@dataclass
class _SlotBuffers:
    """The CUDA resources of one slot, freed together."""

    host_in: cuda_mem.PinnedArray  # (rows, ...) engine input layout
    host_out: cuda_mem.PinnedArray  # (rows,) float32 logits
    dev_in: cuda_mem.DeviceBuffer
    dev_out: cuda_mem.DeviceBuffer
    stream: cuda_mem.CudaStream
    start: cuda_mem.CudaEvent
    h2d_done: cuda_mem.CudaEvent
    compute_start: cuda_mem.CudaEvent
    compute_done: cuda_mem.CudaEvent  # blocking: submit() of the next slot sleeps on it
    d2h_done: cuda_mem.CudaEvent  # blocking: collect() sleeps on it instead of spinning a core
    rows: int = 0  # rows submitted (>= the profile minimum)

    def close(self) -> None:
        """Finish the stream's work, then free everything."""
        self.stream.close()
        for event in (self.start, self.h2d_done, self.compute_start, self.compute_done, self.d2h_done):
            event.close()
        for memory in (self.dev_in, self.dev_out, self.host_in, self.host_out):
            memory.close()


class TrtExecutor(Executor):
    """Runs a TensorRT plan on GPU 0 through pinned slots and CUDA streams."""

    backend = "tensorrt"
    stage_names = ("h2d", "compute", "d2h")
    max_in_flight = 2

    def __init__(self, manifest: Manifest, engine_path: Path, device: int = 0):
        super().__init__(manifest.preprocess, manifest.precision, manifest.batch.max)
        self.min_batch = manifest.batch.min  # the optimization profile's minimum rows
        # Tensor names from the manifest: "input"/"logit" from an hcd-edge ONNX, other names
        # (e.g. torch-tensorrt's "output0") from plans made another way.
        self._input = manifest.inputs[0].name if manifest.inputs else INPUT_NAME
        self._output = manifest.outputs[0].name if manifest.outputs else OUTPUT_NAME
        self._cuda = cuda_mem.CudaContext(device)
        self._buffers: dict[int, _SlotBuffers] = {}
        self._last_compute: cuda_mem.CudaEvent | None = None
        self._rows_set = -1
        self._runtime: trt.Runtime | None = None
        self._engine: trt.ICudaEngine | None = None
        self._context: trt.IExecutionContext | None = None
        try:
            here = {**describe_platform(), **self._cuda.describe()}
            check_tensorrt_compatible(manifest, here, str(trt.__version__), engine_path)
            with self._cuda.activate():
                self._load(manifest, engine_path)
        except BaseException:
            self.close()
            raise

    def _load(self, manifest: Manifest, engine_path: Path) -> None:
        self._logger = _Logger()
        self._runtime = trt.Runtime(self._logger)
        if manifest.build_options.get("version_compatible", False):
            self._runtime.engine_host_code_allowed = True  # the plan carries its lean runtime
        engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if engine is None:
            detail = "; ".join(self._logger.errors) or "no message from TensorRT"
            raise EngineError(f"TensorRT cannot deserialize {engine_path}: {detail}; rebuild it here "
                              f"with hcd-edge build-engine {manifest.source_onnx} --force")
        self._engine = engine
        self._check_io(engine, engine_path)
        self._context = engine.create_execution_context()
        if self._context is None:
            raise EngineError(f"TensorRT cannot create an execution context for {engine_path} "
                              "(out of GPU memory?)")

    def _check_io(self, engine: trt.ICudaEngine, engine_path: Path) -> None:
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if inputs != [self._input] or self._output not in names:
            raise ModelError(f"{engine_path}: expected one input {self._input!r} and an output "
                             f"{self._output!r} (as its manifest says), found tensors {names}")
        input_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(self._input)))
        output_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(self._output)))
        if input_dtype != self.spec.numpy_dtype or output_dtype != np.float32:
            raise ModelError(f"{engine_path}: input {input_dtype} / output {output_dtype}, but the "
                             f"manifest spec needs input {self.spec.numpy_dtype} and output float32")

    def make_slot(self, index: int, capacity: int) -> Slot:
        """A slot of `capacity` patches with pinned host arrays, device buffers, a stream, events."""
        rows = max(capacity, self.min_batch)
        if rows > self.max_batch:
            raise EngineError(f"a batch of {rows} is over the engine's maximum of {self.max_batch}")
        with self._cuda.activate():
            buffers = self._allocate(rows)
        self._buffers[index] = buffers
        return Slot(index=index, host=buffers.host_in.array[:capacity], capacity=capacity,
                    resources=buffers)

    def _allocate(self, rows: int) -> _SlotBuffers:
        host_in = cuda_mem.PinnedArray(self.spec.input_shape(rows), self.spec.numpy_dtype)
        # Zeroed once: rows padded up to the profile minimum never feed uninitialized NaNs in.
        host_in.array[...] = 0
        host_out = cuda_mem.PinnedArray((rows,), np.dtype(np.float32))
        event = cuda_mem.CudaEvent
        return _SlotBuffers(
            host_in=host_in, host_out=host_out, dev_in=cuda_mem.DeviceBuffer(host_in.nbytes),
            dev_out=cuda_mem.DeviceBuffer(host_out.nbytes), stream=cuda_mem.CudaStream(),
            start=event(), h2d_done=event(), compute_start=event(), compute_done=event(blocking=True),
            d2h_done=event(blocking=True),
        )

    def submit(self, slot: Slot, n: int) -> None:
        """Enqueue copy-in, inference and copy-out of slot.host[:n]; returns before they run."""
        b = self._slot_buffers(slot)
        b.rows = max(n, self.min_batch)  # rows past n hold stale data; their logits are dropped
        with self._cuda.activate():
            b.start.record(b.stream)
            cuda_mem.copy_to_device(b.dev_in, b.host_in.array[: b.rows], b.stream)
            b.h2d_done.record(b.stream)
            self._wait_for_context()
            b.compute_start.record(b.stream)
            self._enqueue(b)
            b.compute_done.record(b.stream)
            self._last_compute = b.compute_done
            cuda_mem.copy_to_host(b.host_out.array[: b.rows], b.dev_out, b.stream)
            b.d2h_done.record(b.stream)
        slot.pending = n

    def _wait_for_context(self) -> None:
        """Block until the previous enqueue has finished with the execution context."""
        if self._last_compute is not None:
            self._last_compute.synchronize()
            self._last_compute = None

    def _enqueue(self, b: _SlotBuffers) -> None:
        context = self._context
        if context is None:
            raise EngineError("the TensorRT executor was closed")
        if b.rows != self._rows_set:
            if not context.set_input_shape(self._input, self.spec.input_shape(b.rows)):
                raise EngineError(f"TensorRT refused an input batch of {b.rows} rows "
                                  f"(profile {self.min_batch}..{self.max_batch})")
            self._rows_set = b.rows
        context.set_tensor_address(self._input, b.dev_in.ptr)
        context.set_tensor_address(self._output, b.dev_out.ptr)
        if not context.execute_async_v3(b.stream.handle):
            detail = "; ".join(self._logger.errors[-3:]) or "no message from TensorRT"
            raise EngineError(f"TensorRT could not enqueue inference: {detail}")

    def collect(self, slot: Slot) -> np.ndarray:
        """Wait for the slot's copy-out; its logits (n,) float32, and the stage times from events."""
        if slot.pending == 0:
            raise RuntimeError(f"slot {slot.index} has no submitted batch")
        b, n = self._slot_buffers(slot), slot.pending
        with self._cuda.activate():
            b.d2h_done.synchronize()
            self.times.add(b.h2d_done.ms_since(b.start) / 1e3,
                           b.compute_done.ms_since(b.compute_start) / 1e3,
                           b.d2h_done.ms_since(b.compute_done) / 1e3)
        slot.pending = 0
        return b.host_out.array[:n].copy()

    def release_slot(self, slot: Slot) -> None:
        """Finish the slot's stream and free its memory."""
        buffers = self._buffers.pop(slot.index, None)
        if buffers is not None:
            with self._cuda.activate():
                buffers.close()
            if self._last_compute is buffers.compute_done:
                self._last_compute = None
        slot.resources = None

    def close(self) -> None:
        """Free slots, context, engine and runtime (in that order), then the CUDA context."""
        if getattr(self, "_cuda", None) is None:
            return
        with self._cuda.activate():
            for buffers in self._buffers.values():
                buffers.close()
            self._buffers.clear()
            self._context = self._engine = self._runtime = None
        self._last_compute = None
        self._cuda.close()
        self._cuda = None  # type: ignore[assignment]

    def _slot_buffers(self, slot: Slot) -> _SlotBuffers:
        buffers = self._buffers.get(slot.index)
        if buffers is None or buffers is not slot.resources:
            raise RuntimeError(f"slot {slot.index} was not made by this executor or was released")
        return buffers
