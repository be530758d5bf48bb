"""OpenVINO executor (CPU): an imported compiled model and one asynchronous infer request per slot.

submit() starts the slot's request and returns at once, so the pipeline writes the previous
batch's rows while OpenVINO computes; collect() waits for it. The request reads the slot's
host array in place (a shared-memory tensor): no copy on the way in.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from hcd_edge.backends.base import Executor, Slot, aligned_empty
from hcd_edge.backends.openvino.compile import DEVICE, compile_config, require_openvino
from hcd_edge.errors import ModelError
from hcd_edge.spec import Precision, PreprocessSpec


class OpenVinoExecutor(Executor):
    """Runs an exported OpenVINO CPU blob (or an ONNX, compiled at load) on this CPU."""

    backend = "openvino"

    def __init__(
        self,
        engine_path: Path,
        spec: PreprocessSpec,
        *,
        precision: Precision = Precision.FP32,
        max_batch: int = 256,
        threads: int | None = None,
    ):
        super().__init__(spec, precision, max_batch)
        ov = require_openvino()
        self._ov = ov
        core = ov.Core()
        config = compile_config(threads)
        try:
            if Path(engine_path).suffix == ".onnx":
                self._model = core.compile_model(core.read_model(str(engine_path)), DEVICE, config)
            else:
                with open(engine_path, "rb") as fh:
                    self._model = core.import_model(fh.read(), DEVICE, config)
        except RuntimeError as exc:
            raise ModelError(f"openvino cannot load {engine_path}: {exc}") from exc
        self._started: dict[int, float] = {}

    def make_slot(self, index: int, capacity: int) -> Slot:
        """A slot with an aligned host array and its own infer request."""
        host = aligned_empty(self.spec.input_shape(capacity), self.spec.numpy_dtype)
        return Slot(index=index, host=host, capacity=capacity,
                    resources=self._model.create_infer_request())

    def submit(self, slot: Slot, n: int) -> None:
        """Start inference on slot.host[:n] and return (the request runs on OpenVINO's threads)."""
        request: Any = slot.resources  # an openvino.InferRequest (see make_slot)
        request.set_input_tensor(self._ov.Tensor(slot.host[:n], shared_memory=True))
        self._started[slot.index] = time.perf_counter()
        request.start_async()
        slot.pending = n

    def collect(self, slot: Slot) -> np.ndarray:
        """Wait for the slot's request; its logits, float32, shape (n,)."""
        if not slot.pending:
            raise RuntimeError(f"slot {slot.index} has no submitted batch")
        request: Any = slot.resources  # an openvino.InferRequest (see make_slot)
        request.wait()
        self.times.add(0.0, time.perf_counter() - self._started.pop(slot.index), 0.0)
        n, slot.pending = slot.pending, 0
        return np.array(request.get_output_tensor(0).data, dtype=np.float32).reshape(n)

    def release_slot(self, slot: Slot) -> None:
        """Drop the slot's infer request."""
        slot.resources = None

    def close(self) -> None:
        """Drop the compiled model."""
        self._model = None
