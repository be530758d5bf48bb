"""Build TIFF bytes for tests: tifffile writes the variants, small helpers edit IFD entries."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import tifffile

SIDE = 96


def patch_pixels(seed: int = 0) -> np.ndarray:
    """A (96, 96, 3) uint8 patch with smooth regions and noise (so codecs and predictor work)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    base = np.stack([(x * 2 + y) % 256, (y * 3) % 256, (x * y) % 256], axis=-1)
    noise = rng.integers(0, 12, base.shape)
    return ((base + noise) % 256).astype(np.uint8)


def write_tiff(pixels: np.ndarray, **kwargs) -> bytes:
    """tifffile.imwrite into memory; planarconfig='separate' takes HWC pixels like the rest."""
    data = pixels
    if kwargs.get("planarconfig") == "separate":
        data = np.ascontiguousarray(pixels.transpose(2, 0, 1))
        kwargs.setdefault("photometric", "rgb")
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        kwargs.setdefault("photometric", "rgb")
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, **kwargs)
    return buf.getvalue()


def kaggle_tiff(pixels: np.ndarray | None = None) -> bytes:
    """The exact Kaggle layout: little-endian classic TIFF, one uncompressed contiguous strip."""
    return write_tiff(patch_pixels() if pixels is None else pixels)


@dataclass(frozen=True)
class Entry:
    """Where one IFD entry of the first IFD lies in the file, and what it says."""

    at: int  # offset of the 12-byte entry
    tag: int
    type: int
    count: int
    value: int  # the 4-byte value/offset field read as an integer


class Ifd:
    """The first IFD of a classic TIFF, for tests that edit entries byte by byte."""

    def __init__(self, data: bytes):
        self.order = "<" if data[:2] == b"II" else ">"
        self.data = bytearray(data)
        (self.offset,) = struct.unpack_from(self.order + "I", data, 4)
        (self.count,) = struct.unpack_from(self.order + "H", data, self.offset)
        self.next_at = self.offset + 2 + 12 * self.count

    def entry(self, tag: int) -> Entry:
        """The entry with this tag; KeyError when absent."""
        for i in range(self.count):
            at = self.offset + 2 + 12 * i
            t, typ, cnt = struct.unpack_from(self.order + "HHI", self.data, at)
            if t == tag:
                (value,) = struct.unpack_from(self.order + "I", self.data, at + 8)
                if typ == 3 and cnt == 1:
                    (value,) = struct.unpack_from(self.order + "H", self.data, at + 8)
                return Entry(at, t, typ, cnt, value)
        raise KeyError(tag)

    def set_entry(self, tag: int, *, new_tag=None, type=None, count=None, value=None) -> Ifd:
        """Overwrite fields of an entry (value as SHORT when the type is SHORT and count 1)."""
        e = self.entry(tag)
        typ = e.type if type is None else type
        cnt = e.count if count is None else count
        struct.pack_into(self.order + "HHI", self.data, e.at, e.tag if new_tag is None else new_tag, typ, cnt)
        if value is not None:
            if typ == 3 and cnt == 1:
                struct.pack_into(self.order + "HH", self.data, e.at + 8, value, 0)
            else:
                struct.pack_into(self.order + "I", self.data, e.at + 8, value)
        return self

    def put_u32(self, at: int, value: int) -> Ifd:
        struct.pack_into(self.order + "I", self.data, at, value)
        return self

    def put_u16(self, at: int, value: int) -> Ifd:
        struct.pack_into(self.order + "H", self.data, at, value)
        return self

    def strip(self) -> tuple[int, int]:
        """(offset, byte count) of the only strip."""
        return self.entry(273).value, self.entry(279).value

    def bytes(self) -> bytes:
        return bytes(self.data)


def replace_strip(data: bytes, payload: bytes) -> bytes:
    """A copy whose single strip holds `payload` (appended at the end of the file)."""
    ifd = Ifd(data)
    ifd.set_entry(273, value=len(data)).set_entry(279, value=len(payload))
    return ifd.bytes() + payload


def deflate_of(raw: bytes) -> bytes:
    """zlib-wrapped Deflate as TIFF stores it."""
    return zlib.compress(raw)
