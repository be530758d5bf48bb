"""Stand-ins for pycuda.driver and tensorrt, precise enough to run the TensorRT executor on a CPU.

Device memory is host memory addressed by integers; "asynchronous" copies and the engine run
at once, in call order, and every call is logged so tests can check what was enqueued where.
The fake engine's logit of a row is the mean of its input values. They check the executor's
bookkeeping (slots, padding, stream waits, shapes, frees) — not CUDA or TensorRT themselves.
"""

from __future__ import annotations

import itertools
import types

import numpy as np

FAKE_PLAN = b"FAKE-TENSORRT-PLAN"
GPU = {"name": "Fake GPU", "compute_capability": "8.7"}


class FakeCuda:
    """The subset of pycuda.driver that cuda_mem uses."""

    class Error(Exception):
        pass

    class event_flags:  # pycuda's name
        BLOCKING_SYNC = 1

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}  # device address -> bytes
        self.pinned: set[int] = set()
        self.log: list[tuple] = []
        self.context_depth = 0
        self._addresses = itertools.count(0x1000, 0x100000)
        fake = self

        class Device:
            @staticmethod
            def count() -> int:
                return 1

            def __init__(self, index: int) -> None:
                self.index = index

            def retain_primary_context(self):
                return Context()

            def compute_capability(self):
                return tuple(int(v) for v in GPU["compute_capability"].split("."))

            def name(self) -> str:
                return GPU["name"]

        class Context:
            detached = False

            def push(self) -> None:
                fake.context_depth += 1

            @staticmethod
            def pop() -> None:
                fake.context_depth -= 1

            def detach(self) -> None:
                fake.log.append(("detach",))

        class Stream:
            def __init__(self) -> None:
                self.handle = next(fake._addresses)

            def synchronize(self) -> None:
                fake.log.append(("sync", self.handle))

            def wait_for_event(self, event) -> None:
                fake.log.append(("wait", self.handle, event.id))

        class Event:
            ids = itertools.count()

            def __init__(self, flags: int = 0) -> None:
                self.id, self.flags, self.stream = next(Event.ids), flags, None

            def record(self, stream) -> None:
                self.stream = stream.handle
                fake.log.append(("record", stream.handle, self.id))

            def synchronize(self) -> None:
                fake.log.append(("event-sync", self.id, self.flags))

            def time_since(self, other) -> float:
                return 1.0

        self.Device, self.Context, self.Stream, self.Event = Device, Context, Stream, Event

    def init(self) -> None:
        pass

    def _need_context(self) -> None:
        if self.context_depth < 1:
            raise AssertionError("CUDA call outside an active context")

    def pagelocked_empty(self, shape, dtype):
        self._need_context()
        fake = self

        class Pinned:
            def __init__(self) -> None:
                self.buffer = np.empty(int(np.prod(shape)) * np.dtype(dtype).itemsize, np.uint8)
                self.__array_interface__ = {"shape": tuple(shape), "typestr": np.dtype(dtype).str,
                                            "data": (self.buffer.ctypes.data, False), "version": 3}
                fake.pinned.add(id(self))

            def free(self) -> None:
                fake._need_context()
                fake.pinned.discard(id(self))

        return np.asarray(Pinned())

    def mem_alloc(self, nbytes: int):
        self._need_context()
        address = next(self._addresses)
        self.memory[address] = np.zeros(nbytes, np.uint8)
        fake = self

        class Allocation:
            def __int__(self) -> int:
                return address

            def free(self) -> None:
                fake._need_context()
                del fake.memory[address]

        return Allocation()

    def memcpy_htod_async(self, dst: int, src: np.ndarray, stream) -> None:
        self._need_context()
        raw = np.ascontiguousarray(src).view(np.uint8).ravel()
        self.memory[dst][: raw.size] = raw
        self.log.append(("h2d", stream.handle, raw.size))

    def memcpy_dtoh_async(self, dst: np.ndarray, src: int, stream) -> None:
        self._need_context()
        dst.view(np.uint8).ravel()[:] = self.memory[src][: dst.nbytes]
        self.log.append(("d2h", stream.handle, dst.nbytes))


def fake_tensorrt(cuda: FakeCuda, *, version: str = "10.13.0.35", profile=(1, 256),
                  input_dtype=np.float32) -> types.SimpleNamespace:
    """A module-like namespace with the tensorrt names trt_backend uses."""

    class ILogger:
        class Severity:
            INTERNAL_ERROR, ERROR, WARNING, INFO = range(4)

        def __init__(self) -> None:
            pass

    class TensorIOMode:
        INPUT, OUTPUT = "input", "output"

    class Context:
        def __init__(self) -> None:
            self.shape = None
            self.addresses: dict[str, int] = {}

        def set_input_shape(self, name, shape) -> bool:
            cuda.log.append(("shape", tuple(shape)))
            self.shape = tuple(shape)
            return profile[0] <= shape[0] <= profile[1]

        def set_tensor_address(self, name, address) -> bool:
            self.addresses[name] = address
            return True

        def execute_async_v3(self, stream_handle) -> bool:
            cuda._need_context()
            rows = self.shape[0]
            per_row = int(np.prod(self.shape[1:]))
            x = cuda.memory[self.addresses["input"]].view(input_dtype)[: rows * per_row]
            logits = x.reshape(rows, per_row).astype(np.float32).mean(axis=1)
            cuda.memory[self.addresses["logit"]][: rows * 4] = logits.view(np.uint8)
            cuda.log.append(("execute", stream_handle, rows))
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ["input", "logit"][i]

        def get_tensor_mode(self, name):
            return TensorIOMode.INPUT if name == "input" else TensorIOMode.OUTPUT

        def get_tensor_dtype(self, name):
            return np.dtype(input_dtype) if name == "input" else np.dtype(np.float32)

        def create_execution_context(self):
            return Context()

    class Runtime:
        def __init__(self, logger) -> None:
            self.logger = logger
            self.engine_host_code_allowed = False

        def deserialize_cuda_engine(self, data: bytes):
            if data != FAKE_PLAN:
                self.logger.log(ILogger.Severity.ERROR, "Serialization assertion failed: magic tag")
                return None
            return Engine()

    return types.SimpleNamespace(__version__=version, ILogger=ILogger, Runtime=Runtime,
                                 TensorIOMode=TensorIOMode, nptype=lambda t: t)
