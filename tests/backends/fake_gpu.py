"""Stand-ins for pycuda.driver and tensorrt, precise enough to run the TensorRT executor on a CPU.

Device memory is host memory addressed by integers. Work enqueued on a stream (copies, event
records, waits, inference) does not run at once: it runs when something synchronizes on it
(an event or the stream), in stream order, honouring waits on other streams' events -- so a
host read before the matching synchronize sees NaN (a pending copy poisons its pinned
destination), and a context whose shape or addresses change while its enqueue is still
pending fails the run. Contexts are current per thread, and detach() follows pycuda: released
when current (or pushed first on the creating thread), silently skipped from another thread.
The fake engine's logit of a row is the mean of its input values. Every call is logged so tests
can check what was enqueued where. They check the executor's bookkeeping -- not CUDA or
TensorRT themselves.
"""

from __future__ import annotations

import itertools
import threading
import types
from collections import deque

import numpy as np

FAKE_PLAN = b"FAKE-TENSORRT-PLAN"
GPU = {"name": "Fake GPU", "compute_capability": "8.7", "arch": "x86_64", "os": "Linux",
       "jetpack": None}
PLATFORM = {k: GPU[k] for k in ("arch", "os", "jetpack")}


class FakeCuda:
    """The subset of pycuda.driver that cuda_mem uses, with deferred (asynchronous) streams."""

    class Error(Exception):
        pass

    class event_flags:  # pycuda's name
        BLOCKING_SYNC = 1

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}  # device address -> bytes
        self.pinned: set[int] = set()
        self.log: list[tuple] = []
        self.queues: dict[int, deque] = {}  # stream handle -> pending operations
        self.released: list[int] = []  # primary contexts released (cuDevicePrimaryCtxRelease)
        self._threads = threading.local()
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

            def total_memory(self) -> int:
                return 8 << 30

        class Context:
            ids = itertools.count(1)

            def __init__(self) -> None:
                self.id, self.thread, self.valid = next(Context.ids), threading.get_ident(), True

            def push(self) -> None:
                fake._stack().append(self)

            @staticmethod
            def pop() -> None:
                fake._stack().pop()

            def detach(self) -> None:
                stack = fake._stack()
                if stack and stack[-1] is self:
                    stack.pop()  # pycuda: released, and popped since it was current
                    fake.released.append(self.id)
                elif self.thread == threading.get_ident():
                    fake.released.append(self.id)  # pushed, released, popped
                else:
                    fake.log.append(("detach-skipped", self.id))  # pycuda says nothing
                self.valid = False
                fake.log.append(("detach",))

        class Stream:
            def __init__(self) -> None:
                self.handle = next(fake._addresses)
                fake.queues[self.handle] = deque()

            def synchronize(self) -> None:
                fake.log.append(("sync", self.handle))
                fake.run_stream(self.handle)

            def wait_for_event(self, event) -> None:
                fake.log.append(("wait", self.handle, event.id))
                fake.enqueue(self.handle, ("wait", event))

        class Event:
            ids = itertools.count()

            def __init__(self, flags: int = 0) -> None:
                self.id, self.flags, self.stream, self.reached = next(Event.ids), flags, None, True

            def record(self, stream) -> None:
                self.stream, self.reached = stream.handle, False
                fake.log.append(("record", stream.handle, self.id))
                fake.enqueue(stream.handle, ("record", self))

            def synchronize(self) -> None:
                fake.log.append(("event-sync", self.id, self.flags))
                fake.run_until(self)

            def time_since(self, other) -> float:
                if not (self.reached and other.reached):
                    raise AssertionError("time_since on an event that has not been reached")
                return 1.0

        self.Device, self.Context, self.Stream, self.Event = Device, Context, Stream, Event

    def init(self) -> None:
        pass

    @staticmethod
    def get_driver_version() -> int:
        return 12060

    def _stack(self) -> list:
        if not hasattr(self._threads, "stack"):
            self._threads.stack = []
        return self._threads.stack

    @property
    def context_depth(self) -> int:
        """Contexts pushed and not popped on the calling thread."""
        return len(self._stack())

    def _need_context(self) -> None:
        if not self._stack():
            raise AssertionError("CUDA call outside an active context")

    # -- deferred execution -------------------------------------------------------------
    def enqueue(self, stream: int, op: tuple) -> None:
        self.queues[stream].append(op)

    def run_stream(self, stream: int, stop_after=None) -> None:
        """Run the stream's pending operations in order (up to the `stop_after` record)."""
        queue = self.queues[stream]
        while queue:
            op = queue.popleft()
            if op[0] == "record":
                op[1].reached = True
                if op[1] is stop_after:
                    return
            elif op[0] == "wait":
                self.run_until(op[1])
            else:
                op[1]()

    def run_until(self, event) -> None:
        """Run the event's stream until the event is reached."""
        if event.stream is not None and not event.reached:
            self.run_stream(event.stream, stop_after=event)

    def pending(self) -> int:
        """Operations enqueued and not yet run, over all streams."""
        return sum(len(q) for q in self.queues.values())

    # -- memory -------------------------------------------------------------------------
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
        size = src.nbytes
        self.log.append(("h2d", stream.handle, size))

        def copy() -> None:  # reads the pinned source when it runs, as the DMA engine does
            self.memory[dst][:size] = np.ascontiguousarray(src).view(np.uint8).ravel()

        self.enqueue(stream.handle, ("h2d", copy))

    def memcpy_dtoh_async(self, dst: np.ndarray, src: int, stream) -> None:
        self._need_context()
        self.log.append(("d2h", stream.handle, dst.nbytes))
        if dst.dtype.kind == "f":
            dst[...] = np.nan  # the copy has not run: a read before synchronizing sees NaN

        def copy() -> None:
            dst.view(np.uint8).ravel()[:] = self.memory[src][: dst.nbytes]

        self.enqueue(stream.handle, ("d2h", copy))


def fake_tensorrt(cuda: FakeCuda, *, version: str = "10.13.0.35", profile=(1, 256),
                  input_dtype=np.float32, output_name: str = "logit") -> types.SimpleNamespace:
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
            enqueued = (self.shape, dict(self.addresses))
            cuda.log.append(("execute", stream_handle, self.shape[0]))

            def run() -> None:
                if (self.shape, self.addresses) != enqueued:
                    raise AssertionError(
                        f"the context's shape/addresses changed from {enqueued} to "
                        f"{(self.shape, self.addresses)} while its enqueue was pending")
                rows, per_row = self.shape[0], int(np.prod(self.shape[1:]))
                x = cuda.memory[self.addresses["input"]].view(input_dtype)[: rows * per_row]
                logits = x.reshape(rows, per_row).astype(np.float32).mean(axis=1)
                cuda.memory[self.addresses[output_name]][: rows * 4] = logits.view(np.uint8)

            cuda.enqueue(stream_handle, ("execute", run))
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ["input", output_name][i]

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


def fake_tensorrt_builder(*, version: str = "10.13.0.35", strongly_typed: bool = True,
                          corrupt_cache_error: type[Exception] | None = TypeError,
                          input_batch: int = -1) -> types.ModuleType:
    """A `tensorrt` module with the builder names compile.py uses; `built` records each build.

    Like TensorRT, a new builder config has TF32 on. Timing caches are accepted when they start
    with b"CACHE"; other bytes raise `corrupt_cache_error` (some releases do) or are refused.
    """
    module = types.ModuleType("tensorrt")
    module.__version__ = version
    module.built = []

    class ILogger:
        class Severity:
            INTERNAL_ERROR, ERROR, WARNING, INFO = range(4)

        def __init__(self) -> None:
            pass

    class BuilderFlag:
        TF32, VERSION_COMPATIBLE = "TF32", "VERSION_COMPATIBLE"

    class Cache:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def serialize(self) -> bytes:
            return b"CACHE" + self.data[5:]

    class Config:
        def __init__(self) -> None:
            self.flags = {BuilderFlag.TF32}
            self.cache = None
            self.profiles: list = []
            self.hardware_compatibility_level = None

        def set_flag(self, flag) -> None:
            self.flags.add(flag)

        def clear_flag(self, flag) -> None:
            self.flags.discard(flag)

        def get_flag(self, flag) -> bool:
            return flag in self.flags

        def set_memory_pool_limit(self, pool, size) -> None:
            self.workspace = size

        def add_optimization_profile(self, profile) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, data: bytes):
            if data and not data.startswith(b"CACHE") and corrupt_cache_error is not None:
                raise corrupt_cache_error("create_timing_cache(): incompatible function arguments")
            return Cache(bytes(data))

        def set_timing_cache(self, cache, ignore_mismatch: bool) -> bool:
            if cache.data and not cache.data.startswith(b"CACHE"):
                return False
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

    class Profile:
        def set_shape(self, name, lo, opt, hi) -> None:
            self.shapes = (name, lo, opt, hi)

    class Network:
        def __init__(self, flags: int) -> None:
            self.flags = flags

        def get_input(self, index: int):
            return types.SimpleNamespace(shape=(input_batch, 3, 96, 96))

    class Builder:
        def __init__(self, logger) -> None:
            self.logger = logger

        def create_network(self, flags: int):
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            module.built.append({"network_flags": network.flags, "flags": set(config.flags),
                                 "cache": config.cache})
            return FAKE_PLAN

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger) -> None:
            pass

        def parse_from_file(self, path: str) -> bool:
            return True

    creation = types.SimpleNamespace(STRONGLY_TYPED=5) if strongly_typed else types.SimpleNamespace()
    module.__dict__.update(
        ILogger=ILogger, BuilderFlag=BuilderFlag, Builder=Builder, OnnxParser=OnnxParser,
        NetworkDefinitionCreationFlag=creation, Dims=tuple,
        MemoryPoolType=types.SimpleNamespace(WORKSPACE="workspace"),
        HardwareCompatibilityLevel=types.SimpleNamespace(AMPERE_PLUS="AMPERE_PLUS"),
    )
    return module
