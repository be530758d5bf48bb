"""The tifffile decoder: the reference the native path is tested against, and its fallback."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from hcd_edge.decode.status import DecodeStatus
from hcd_edge.decode.structure import classic_ifd_status, header_status, segments_status
from hcd_edge.errors import DecodeError

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

    from hcd_edge.decode.ifd import native_ifd_status
    from hcd_edge.decode.status import NEEDS_FALLBACK

    native = native_ifd_status(data)
    if native == NEEDS_FALLBACK:  # a TIFF the native parser leaves to tifffile: its checks
        status = header_status(data)
        if status is DecodeStatus.OK:
            status = classic_ifd_status(data)
    else:  # the native parser's own verdict on the IFD, so that both roads agree
        status = DecodeStatus(native)
    if status is not DecodeStatus.OK:
        return status, None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            status = _check_page(page)
            if status is DecodeStatus.OK:
                status = segments_status(page, data)
            if status is not DecodeStatus.OK:
                return status, None
            pixels = page.asarray()
            separate = int(page.planarconfig) == 2
    except Exception:  # noqa: BLE001 - tifffile raises many types on corrupt input; all mean "corrupt"
        return DecodeStatus.CORRUPT_DATA, None
    if separate and pixels.shape == (3, 96, 96):
        pixels = pixels.transpose(1, 2, 0)
    if pixels.shape != (96, 96, 3) or pixels.dtype != np.uint8:
        return DecodeStatus.UNSUPPORTED, None
    return DecodeStatus.OK, np.ascontiguousarray(pixels)


def _check_page(page) -> DecodeStatus:
    # The native parser's order: 8-bit first, then RGB, then 96x96 (csrc/tiff_ifd.c).
    bits = page.tags.valueof(258, page.bitspersample)
    if any(b != 8 for b in (bits if isinstance(bits, tuple) else (bits,))):
        return DecodeStatus.NOT_8BIT
    if page.samplesperpixel != 3 or getattr(page.photometric, "name", "") not in ("RGB", "YCBCR"):
        return DecodeStatus.NOT_RGB
    if (page.imagelength, page.imagewidth) != (96, 96):
        return DecodeStatus.WRONG_SIZE
    return DecodeStatus.OK


def read_patch_reference(path: str | os.PathLike) -> np.ndarray:
    """A patch file as a (96, 96, 3) uint8 array via tifffile; raises DecodeError."""
    from hcd_edge.decode.status import status_message

    status, data = read_file_bytes(path)
    if status is DecodeStatus.OK:
        status, pixels = pixels_from_bytes(data)
        if status is DecodeStatus.OK and pixels is not None:
            return pixels
    raise DecodeError(f"{Path(path)}: {status_message(status)} (status {int(status)})")
