"""ONNX Runtime executor (CPU): the reference backend and the one every machine has."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from hcd_edge.backends.base import Executor, Slot, aligned_empty
from hcd_edge.errors import BackendUnavailable, ModelError
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, Precision, PreprocessSpec


def session_options(threads: int | None, offline_optimized: bool):
    """ORT SessionOptions: `threads` intra-op threads (None = all cores), no re-optimizing."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle intra-op threads sleep instead of spin-waiting: while scoring, decoder threads share
    # the cores, and spinning took their time slices (HcdNet INT8 on 2 busy cores: 2.5k -> 4.5k
    # patches/s inference-only, 2.1k -> 3.2k end to end; benchmarks/end_to_end.py).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A model already optimized at build time is loaded as is: faster start, same graph.
    level = ort.GraphOptimizationLevel
    opts.graph_optimization_level = level.ORT_DISABLE_ALL if offline_optimized else level.ORT_ENABLE_ALL
    return opts


class OrtExecutor(Executor):
    """Runs an ONNX model with onnxruntime's CPU execution provider."""

    backend = "onnxruntime"

    def __init__(
        self,
        model_path: Path,
        spec: PreprocessSpec,
        *,
        precision: Precision = Precision.FP32,
        max_batch: int = 256,
        threads: int | None = None,
        offline_optimized: bool = False,
    ):
        super().__init__(spec, precision, max_batch)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable("onnxruntime is not installed: pip install onnxruntime") from exc
        try:
            self._session = ort.InferenceSession(
                str(model_path),
                sess_options=session_options(threads, offline_optimized),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
            raise ModelError(f"onnxruntime cannot load {model_path}: {exc}") from exc
        self._check_io(model_path)

    def _check_io(self, model_path: Path) -> None:
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if inputs != [INPUT_NAME] or OUTPUT_NAME not in outputs:
            raise ModelError(
                f"{model_path}: expected one input {INPUT_NAME!r} and an output {OUTPUT_NAME!r}, "
                f"found inputs {inputs} and outputs {outputs}"
            )

    def make_slot(self, index: int, capacity: int) -> Slot:
        """A slot with a cache-line-aligned host array of `capacity` inputs."""
        host = aligned_empty(self.spec.input_shape(capacity), self.spec.numpy_dtype)
        return Slot(index=index, host=host, capacity=capacity)

    def submit(self, slot: Slot, n: int) -> None:
        """Run the batch now (ORT releases the GIL, so decoder threads keep working)."""
        start = time.perf_counter()
        (logits,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: slot.host[:n]})
        self.times.add(0.0, time.perf_counter() - start, 0.0)
        slot.result = np.asarray(logits, dtype=np.float32).reshape(n)
        slot.pending = n

    def collect(self, slot: Slot) -> np.ndarray:
        """The logits computed by the last submit on this slot."""
        if slot.result is None:
            raise RuntimeError(f"slot {slot.index} has no submitted batch")
        result, slot.result, slot.pending = slot.result, None, 0
        return result

    def close(self) -> None:
        """Drop the ORT session."""
        self._session = None
