"""Public decode API: TIFF patch files -> normalized batch buffers.

The native extension (hcd_edge._tiffdec) is the fast path; tifffile is the reference and the
fallback for TIFF variants the native parser does not handle (tiled, JPEG, BigTIFF, ...).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .reference import pixels_from_bytes, read_file_bytes, read_patch_reference
from .status import DecodeStatus, status_message

__all__ = [
    "DecodeStats",
    "DecodeStatus",
    "decode_batch",
    "decode_bytes",
    "native_available",
    "read_patch",
    "status_message",
]


@dataclass
class DecodeStats:
    """Counters a caller may pass to decode_batch to learn which road each file took."""

    native: int = 0  # decoded by the native fast path
    fallback: int = 0  # decoded by tifffile (tiled, JPEG, BigTIFF, ...)
    failed: int = 0  # non-zero status


def native_available() -> bool:
    """True when the compiled extension hcd_edge._tiffdec is importable."""
    return False


def decode_batch(
    paths: Sequence[str | os.PathLike],
    out: np.ndarray,
    *,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
    threads: int | None = None,
    stats: DecodeStats | None = None,
) -> np.ndarray:
    """Decode len(paths) patch files into out[:len(paths)]; returns int32 statuses (0 = decoded).

    out is C-contiguous, either (N, 3, 96, 96) float32/float16 receiving (pixel/255 - mean)/std
    per channel, or (N, 96, 96, 3) uint8 receiving raw pixels. Rows of failed files are zeroed.
    """
    _check_out(out, len(paths))
    statuses = np.zeros(len(paths), dtype=np.int32)
    for i, path in enumerate(paths):
        status, data = read_file_bytes(path)
        if status is DecodeStatus.OK:
            status = DecodeStatus(decode_bytes(data, out[i], mean=mean, std=std))
        else:
            out[i] = 0
        statuses[i] = status
        if stats is not None:
            stats.fallback += status == 0
            stats.failed += status != 0
    return statuses


def decode_bytes(
    data: bytes,
    out_row: np.ndarray,
    *,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
) -> int:
    """Decode one TIFF held in memory into out_row ((3,96,96) float or (96,96,3) uint8)."""
    status, pixels = pixels_from_bytes(bytes(data))
    if status is not DecodeStatus.OK or pixels is None:
        out_row[...] = 0
        return int(status)
    _write_row(pixels, out_row, mean, std)
    return 0


def read_patch(path: str | os.PathLike) -> np.ndarray:
    """A patch file as a (96, 96, 3) uint8 RGB array; raises DecodeError naming the file."""
    return read_patch_reference(path)


def _write_row(pixels: np.ndarray, out_row: np.ndarray, mean, std) -> None:
    if out_row.dtype == np.uint8:
        out_row[...] = pixels
        return
    scaled = pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    out_row[...] = (scaled - m) / s


def _check_out(out: np.ndarray, n: int) -> None:
    if not isinstance(out, np.ndarray) or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writable C-contiguous numpy array")
    if out.shape[0] < n:
        raise ValueError(f"out holds {out.shape[0]} rows but {n} paths were given")
    if out.dtype == np.uint8 and out.shape[1:] == (96, 96, 3):
        return
    if out.dtype in (np.float32, np.float16) and out.shape[1:] == (3, 96, 96):
        return
    raise ValueError(
        f"out must be (N, 3, 96, 96) float32/float16 or (N, 96, 96, 3) uint8, "
        f"got {out.shape} {out.dtype}"
    )
