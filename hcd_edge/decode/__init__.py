"""Public decode API: TIFF patch files (decode_batch) and in-memory uint8 patches
(normalize_patches) -> normalized batch buffers.

The native extension (hcd_edge._tiffdec) is the fast path; tifffile is the reference and the
fallback for TIFF variants the native parser does not handle (tiled, JPEG, BigTIFF, ...), and
numpy the fallback of normalize_patches. Both TIFF roads accept exactly the same files (the
tifffile road applies the native parser's rules first: ifd.py, lzw_rules.py, structure.py).
Which road is available is decided once, when this module is imported.
"""

from __future__ import annotations

import math
import os
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hcd_edge.decode.reference import pixels_from_bytes, read_file_bytes
from hcd_edge.decode.status import NEEDS_FALLBACK, DecodeStatus, status_message
from hcd_edge.errors import DecodeError

_native: types.ModuleType | None
try:  # the compiled extension; absent only when built with HCD_EDGE_SKIP_NATIVE=1 or broken
    from hcd_edge import _tiffdec as _native

    _NATIVE_IMPORT_ERROR: str | None = None
except ImportError as exc:
    _native = None
    _NATIVE_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"

def native_unavailable_reason_text(error: str | None) -> str:
    """What to tell a person when the extension failed to import with `error`."""
    return (
        f"the native decoder hcd_edge._tiffdec is not built ({error}); decoding uses tifffile, "
        "about 25x slower. Rebuild with `pip install -e .` and a C compiler, without "
        "HCD_EDGE_SKIP_NATIVE=1."
    )


__all__ = [
    "DecodeStats",
    "DecodeStatus",
    "decode_batch",
    "decode_bytes",
    "native_available",
    "native_unavailable_reason",
    "normalize_patches",
    "read_patch",
    "status_message",
]

if _native is None and os.environ.get("HCD_EDGE_SKIP_NATIVE") != "1":
    # Not asked for: say so once, loudly enough to be seen, without stopping anything.
    warnings.warn(native_unavailable_reason_text(_NATIVE_IMPORT_ERROR), RuntimeWarning, stacklevel=2)

_OK = int(DecodeStatus.OK)  # a plain int: numpy compares an array with an IntEnum member 5x slower
ROW_SHAPES = {np.dtype(np.uint8): (96, 96, 3), np.dtype(np.float32): (3, 96, 96),
              np.dtype(np.float16): (3, 96, 96)}


@dataclass
class DecodeStats:
    """Counters a caller may pass to decode_batch to learn which road each file took."""

    native: int = 0  # decoded by the native fast path
    fallback: int = 0  # decoded by tifffile (tiled, JPEG, BigTIFF, ...)
    failed: int = 0  # non-zero status


def native_available() -> bool:
    """True when the compiled extension hcd_edge._tiffdec is importable."""
    return _native is not None


def native_unavailable_reason() -> str | None:
    """None when the native decoder is in use, else why not and how to build it."""
    return None if _native is not None else native_unavailable_reason_text(_NATIVE_IMPORT_ERROR)


def default_threads() -> int:
    """Decode workers when none are asked for: the CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


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
    per channel, or (N, 96, 96, 3) uint8 receiving raw pixels; it is written in place (pinned
    host memory works, no copy). Rows of failed files are zeroed. `threads` workers (default:
    the usable cores) decode in parallel with the GIL released.
    """
    _check_out(out, len(paths))
    _check_normalization(mean, std)
    workers = default_threads() if threads is None else threads
    if workers < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if _native is None:
        statuses = _decode_files_reference(paths, out, mean, std)
        fallback = statuses == _OK
    else:
        statuses = _native.decode_batch(paths, out, mean, std, workers)
        fallback = statuses == NEEDS_FALLBACK
        if fallback.any():  # rare: skipped, the usual batch costs two numpy calls here
            for i in np.flatnonzero(fallback):
                statuses[i] = _decode_file_reference(paths[int(i)], out[i], mean, std)
            fallback &= statuses == _OK
    if stats is not None:
        _count(stats, statuses, fallback)
    return statuses


def decode_bytes(
    data: bytes,
    out_row: np.ndarray,
    *,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
) -> int:
    """Decode one TIFF held in memory (any bytes-like) into out_row; returns its status.

    out_row is one row of the decode_batch layout: (3, 96, 96) float32/float16 or (96, 96, 3)
    uint8, C-contiguous and writable; it is zeroed when the status is not 0.
    """
    _check_row(out_row)
    _check_normalization(mean, std)
    view = np.frombuffer(data, dtype=np.uint8) if len(data) else np.zeros(0, np.uint8)
    if _native is not None:
        code = _native.decode_bytes(view, out_row, mean, std)
        if code != NEEDS_FALLBACK:
            return int(code)
    return int(_decode_reference(view.tobytes(), out_row, mean, std))


def normalize_patches(
    patches: np.ndarray | Sequence[np.ndarray],
    out: np.ndarray,
    *,
    spec: object | None = None,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
    threads: int | None = None,
) -> np.ndarray:
    """Normalize len(patches) in-memory uint8 RGB patches into out[:len(patches)]; returns that view.

    patches: a (N, 96, 96, 3) uint8 array, or a sequence of (96, 96, 3) uint8 arrays. Views cut
    from a larger (H, W, 3) region array (``region[y:y+96, x:x+96]``) are read in place, without
    a copy; other layouts (BGR-reversed, planar) are copied first.
    out: exactly as decode_batch: C-contiguous (N', 3, 96, 96) float32/float16 receiving
    (pixel/255 - mean)/std per channel, or (N', 96, 96, 3) uint8 receiving the pixels, N' >= N.
    The values are bit-identical to decoding the same pixels from a TIFF file with decode_batch.
    spec: a PreprocessSpec (anything with .mean and .std); overrides mean and std when given.
    threads: workers (default: the usable cores; at most one per 32 patches), GIL released; the
    numpy fallback (extension absent) computes the same values on one thread. Raises ValueError on a wrong dtype, shape
    or size.
    """
    if spec is not None:
        mean, std = spec.mean, spec.std  # type: ignore[attr-defined]
    n = len(patches)
    _check_out(out, n)
    _check_normalization(mean, std)
    workers = default_threads() if threads is None else threads
    if workers < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    readable = _readable_patches(patches)
    if n == 0:
        return out[:0]
    if _native is None:
        _normalize_reference(readable, out[:n], mean, std)
    else:
        _native.normalize_batch(readable, out, mean, std, workers)
    return out[:n]


def _readable_patches(patches) -> np.ndarray | list[np.ndarray]:
    """patches as the native side reads them: uint8 (.., 96, 96, 3) with pixel strides (3, 1)."""
    if isinstance(patches, np.ndarray):
        if patches.dtype != np.uint8 or patches.ndim != 4 or patches.shape[1:] != (96, 96, 3):
            raise ValueError(f"patches must be a uint8 (N, 96, 96, 3) array, got "
                             f"{patches.dtype} {patches.shape}")
        return patches if patches.strides[2:] == (3, 1) else np.ascontiguousarray(patches)
    readable = []
    for i, patch in enumerate(patches):
        if not isinstance(patch, np.ndarray) or patch.dtype != np.uint8 or patch.shape != (96, 96, 3):
            what = f"{patch.dtype} {patch.shape}" if isinstance(patch, np.ndarray) else type(patch).__name__
            raise ValueError(f"patch {i} must be a uint8 (96, 96, 3) array, got {what}")
        readable.append(patch if patch.strides[1:] == (3, 1) else np.ascontiguousarray(patch))
    return readable


NORMALIZE_CHUNK = 64  # patches per numpy step: bounds the float32 temporaries to ~7 MB


def _normalize_reference(patches, out: np.ndarray, mean, std) -> None:
    """The numpy road: the same float32 operations, in the same order, as the lookup tables."""
    m = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
    for start in range(0, len(patches), NORMALIZE_CHUNK):
        chunk = np.asarray(patches[start : start + NORMALIZE_CHUNK])
        rows = out[start : start + len(chunk)]
        if out.dtype == np.uint8:
            rows[...] = chunk
            continue
        scaled = chunk.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        with np.errstate(over="ignore"):  # float16 rounds values past 65504 to inf, as the C side
            rows[...] = (scaled - m) / s


def read_patch(path: str | os.PathLike) -> np.ndarray:
    """A patch file as a (96, 96, 3) uint8 RGB array; raises DecodeError naming the file."""
    out = np.empty((1, 96, 96, 3), dtype=np.uint8)
    status = int(decode_batch([path], out, threads=1)[0])
    if status != DecodeStatus.OK:
        raise DecodeError(f"{os.fsdecode(path)}: {status_message(status)} (status {status})")
    return out[0]


def _decode_files_reference(paths, out: np.ndarray, mean, std) -> np.ndarray:
    statuses = np.zeros(len(paths), dtype=np.int32)
    for i, path in enumerate(paths):
        statuses[i] = _decode_file_reference(path, out[i], mean, std)
    return statuses


def _decode_file_reference(path, out_row: np.ndarray, mean, std) -> DecodeStatus:
    try:
        status, data = read_file_bytes(path)
    except ValueError:  # a name holding NUL cannot name a file
        status, data = DecodeStatus.OPEN_FAILED, b""
    if status is not DecodeStatus.OK:
        out_row[...] = 0
        return status
    return _decode_reference(data, out_row, mean, std)


def _decode_reference(data: bytes, out_row: np.ndarray, mean, std) -> DecodeStatus:
    status, pixels = pixels_from_bytes(data)
    if status is not DecodeStatus.OK or pixels is None:
        out_row[...] = 0
        return status
    _write_row(pixels, out_row, mean, std)
    return DecodeStatus.OK


def _write_row(pixels: np.ndarray, out_row: np.ndarray, mean, std) -> None:
    if out_row.dtype == np.uint8:
        out_row[...] = pixels
        return
    scaled = pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    with np.errstate(over="ignore"):  # float16 rounds values past 65504 to inf, as the C side
        out_row[...] = (scaled - m) / s


def _count(stats: DecodeStats, statuses: np.ndarray, fallback: np.ndarray) -> None:
    ok = len(statuses) - int(np.count_nonzero(statuses))  # status 0 is OK
    via_fallback = int(np.count_nonzero(fallback))
    stats.native += ok - via_fallback
    stats.fallback += via_fallback
    stats.failed += len(statuses) - ok


def _check_normalization(mean: Sequence[float], std: Sequence[float]) -> None:
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f"mean and std need 3 values (R, G, B), got {mean!r} and {std!r}")
    if not all(math.isfinite(float(v)) for v in (*mean, *std)) or any(float(s) == 0 for s in std):
        raise ValueError(f"mean and std must be finite and std non-zero, got {mean!r}, {std!r}")


def _check_writable(arr: np.ndarray, what: str) -> None:
    if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"{what} must be a writable C-contiguous numpy array")


def _check_row(out_row: np.ndarray) -> None:
    _check_writable(out_row, "out_row")
    if ROW_SHAPES.get(out_row.dtype) != out_row.shape:
        raise ValueError(
            f"out_row must be (3, 96, 96) float32/float16 or (96, 96, 3) uint8, "
            f"got {out_row.shape} {out_row.dtype}"
        )


def _check_out(out: np.ndarray, n: int) -> None:
    _check_writable(out, "out")
    if out.ndim != 4 or ROW_SHAPES.get(out.dtype) != out.shape[1:]:
        raise ValueError(
            f"out must be (N, 3, 96, 96) float32/float16 or (N, 96, 96, 3) uint8, "
            f"got {out.shape} {out.dtype}"
        )
    if out.shape[0] < n:
        raise ValueError(f"out holds {out.shape[0]} rows but {n} paths were given")
