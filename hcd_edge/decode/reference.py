"""The tifffile decoder: the reference the native path is tested against, and its fallback."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from ..errors import DecodeError
from .status import DecodeStatus

MAX_PATCH_FILE_BYTES = 16 * 1024 * 1024  # a 96x96 RGB TIFF is ~28 KB; refuse absurd files early


def read_file_bytes(path: str | os.PathLike) -> tuple[DecodeStatus, bytes]:
    """Read a whole patch file; the status says why when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return DecodeStatus.OPEN_FAILED, b""
    if not stat.S_ISREG(st.st_mode):
        return DecodeStatus.NOT_A_FILE, b""
    if st.st_size == 0:
        return DecodeStatus.EMPTY_FILE, b""
    if st.st_size > MAX_PATCH_FILE_BYTES:
        return DecodeStatus.FILE_TOO_LARGE, b""
    try:
        with open(path, "rb") as fh:
            return DecodeStatus.OK, fh.read()
    except PermissionError:
        return DecodeStatus.OPEN_FAILED, b""
    except OSError:
        return DecodeStatus.READ_FAILED, b""


def pixels_from_bytes(data: bytes) -> tuple[DecodeStatus, np.ndarray | None]:
    """Decode TIFF bytes with tifffile into a (96, 96, 3) uint8 array, or a status why not."""
    import tifffile

    if len(data) == 0:
        return DecodeStatus.EMPTY_FILE, None
    if data[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return DecodeStatus.NOT_TIFF, None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            status = _check_page(page)
            if status is not DecodeStatus.OK:
                return status, None
            pixels = page.asarray()
    except Exception:  # tifffile raises many types on corrupt input; all mean "corrupt"
        return DecodeStatus.CORRUPT_DATA, None
    if pixels.shape != (96, 96, 3) or pixels.dtype != np.uint8:
        return DecodeStatus.UNSUPPORTED, None
    return DecodeStatus.OK, np.ascontiguousarray(pixels)


def _check_page(page) -> DecodeStatus:
    if page.dtype is None or np.dtype(page.dtype).itemsize != 1:
        return DecodeStatus.NOT_8BIT
    if page.samplesperpixel != 3 or getattr(page.photometric, "name", "") not in ("RGB", "YCBCR"):
        return DecodeStatus.NOT_RGB
    if (page.imagelength, page.imagewidth) != (96, 96):
        return DecodeStatus.WRONG_SIZE
    return DecodeStatus.OK


def read_patch_reference(path: str | os.PathLike) -> np.ndarray:
    """A patch file as a (96, 96, 3) uint8 array via tifffile; raises DecodeError."""
    from .status import status_message

    status, data = read_file_bytes(path)
    if status is DecodeStatus.OK:
        status, pixels = pixels_from_bytes(data)
        if status is DecodeStatus.OK and pixels is not None:
            return pixels
    raise DecodeError(f"{Path(path)}: {status_message(status)} (status {int(status)})")
