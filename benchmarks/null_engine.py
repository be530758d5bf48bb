"""The null engine: an Executor whose inference costs nothing, to measure the host side alone.

`hcd-edge score` with it shows what listing, decoding, slots, rows and the output files cost
when the engine is free, as it nearly is on a GPU (tens of thousands of patches/s on an Orin,
far more on an H100). Its "logit" of a patch is one pixel of the decoded slot (the centre of
the first channel): varied, so probabilities and labels are formatted as for a real model, at
no measurable cost.

    with null_engine_for(engine_dir):   # score() of that folder runs the NullExecutor
        score(ScoreRequest(inputs=..., engine=engine_dir))

The folder is any engine folder (its manifest gives the preprocessing spec and the batch
limits); the swap happens in this process only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hcd_edge.backends.base import Executor, Slot
from hcd_edge.manifest import read_manifest


class NullExecutor(Executor):
    """Slots as numpy arrays; submit reads one value per patch; no engine behind it."""

    backend = "null"

    def make_slot(self, index: int, capacity: int) -> Slot:
        """A slot of `capacity` inputs (plain numpy memory)."""
        return Slot(index=index, host=np.empty(self.spec.input_shape(capacity), self.spec.numpy_dtype),
                    capacity=capacity)

    def submit(self, slot: Slot, n: int) -> None:
        """'Infer' the batch: the centre pixel of each patch's first channel is its logit."""
        start = time.perf_counter()
        host = slot.host[:n]
        centre = host[:, 0, 48, 48] if host.ndim == 4 and host.shape[1] == 3 else host[:, 48, 48, 0]
        slot.result = np.asarray(centre, dtype=np.float32).copy()
        slot.pending = n
        self.times.add(0.0, time.perf_counter() - start, 0.0)

    def collect(self, slot: Slot) -> np.ndarray:
        """The logits of the last submit on this slot."""
        result, slot.result, slot.pending = slot.result, None, 0
        return result


def open_null_executor(engine_dir: Path) -> NullExecutor:
    """A NullExecutor with the spec, precision and batch limit of an engine folder's manifest."""
    manifest = read_manifest(Path(engine_dir))
    return NullExecutor(manifest.preprocess, manifest.precision, manifest.batch.max)


@contextlib.contextmanager
def null_engine_for(engine_dir: Path) -> Iterator[None]:
    """Within the block, opening engine_dir (as score() does) gives a NullExecutor."""
    from hcd_edge.backends.engine_folder import EngineFolder

    original, target = EngineFolder.executor, Path(engine_dir).resolve()

    def executor(folder: EngineFolder, **kwargs):
        if Path(folder.path).resolve() == target:
            return open_null_executor(folder.path)
        return original(folder, **kwargs)

    EngineFolder.executor = executor  # type: ignore[method-assign]
    try:
        yield
    finally:
        EngineFolder.executor = original  # type: ignore[method-assign]
