"""Pick the Q/DQ activation form for ONNX Runtime on this CPU by measuring both.

Both forms are built from the same model with a one-batch calibration (ranges do not change
the speed of a graph, only its accuracy) and timed interleaved, best of several rounds, so a
busy machine slows both alike. The rule: symmetric int8 activations only when they measure at
least 5% faster; otherwise uint8 activations, which are also the more accurate of the two
after ReLU (all 256 levels cover [0, max] instead of 128) and are what ONNX Runtime's x86
integer kernels (u8 x s8 dot products, VNNI) take natively.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hcd_edge.builders.passes.int8 import SYMMETRIC_INT8, UINT8_ACTIVATIONS, QdqForm, quantize
from hcd_edge.builders.request import CalibMethod
from hcd_edge.builders.timing import TIMING_ROUNDS, time_interleaved
from hcd_edge.progress import SilentProgress
from hcd_edge.spec import INPUT_NAME

TIMING_BATCH_MAX = 64  # patches per timed run
SYMMETRIC_MARGIN = 1.05  # symmetric must be this much faster to be chosen


def choose_activation_form(
    src: Path, workdir: Path, sample: np.ndarray, batch: int, threads: int | None, progress
) -> tuple[QdqForm, dict]:
    """The faster form on this machine, with the measurement (patches/s per form) and the rule."""
    forms = {"uint8": UINT8_ACTIVATIONS, "int8": SYMMETRIC_INT8}
    progress.note("measuring uint8 vs symmetric int8 activations on this CPU…")
    sessions = {}
    for name, form in forms.items():
        path = workdir / f"timing-{form.label}.onnx"
        quantize(
            src, path, sample[: min(len(sample), 32)], form, CalibMethod.MINMAX, SilentProgress()
        )
        sessions[name] = _session(path, threads)
    n = min(batch, TIMING_BATCH_MAX)
    inputs = np.ascontiguousarray(np.resize(sample, (n, *sample.shape[1:])))
    runs = {name: _runner(session, inputs) for name, session in sessions.items()}
    rates = time_interleaved(runs, len(inputs))
    chosen = "int8" if rates["int8"] >= SYMMETRIC_MARGIN * rates["uint8"] else "uint8"
    measurement = {
        "measured_patches_per_s": {k: round(v, 1) for k, v in rates.items()},
        "timing_batch": n,
        "timing_rounds": TIMING_ROUNDS,
        "threads": threads,
        "rule": f"symmetric int8 only when >= {SYMMETRIC_MARGIN:.2f}x uint8 activations, else uint8",
        "chosen": chosen,
    }
    return forms[chosen], measurement


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    from hcd_edge.backends.onnxruntime.executor import session_options

    return ort.InferenceSession(
        str(path), sess_options=session_options(threads, False), providers=["CPUExecutionProvider"]
    )


def _runner(session, inputs: np.ndarray):
    return lambda: session.run(None, {INPUT_NAME: inputs})
