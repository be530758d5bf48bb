"""FP16 precision pass: an FP16-typed graph whose input and output stay float32.

Keeping the I/O float32 means the decoder, the executors and the spec stay the same for every
precision; the casts at the edges cost nothing next to the convolutions.
"""

from __future__ import annotations

from pathlib import Path

from hcd_edge.errors import EngineError


def convert_fp16(src: Path, dst: Path) -> None:
    """Write the FP16 version of src (float32 I/O kept) to dst."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    try:
        half = float16.convert_float_to_float16(model, keep_io_types=True)
    except Exception as exc:  # the converter raises ValueError, KeyError, onnx errors, ...
        raise EngineError(f"onnxconverter-common could not convert {src} to FP16: {exc}") from exc
    onnx.save(half, str(dst))
