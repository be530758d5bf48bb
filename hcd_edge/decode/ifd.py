"""The native parser's first-IFD rules (csrc/tiff_ifd.c hcd_parse_ifd), line for line in Python.

The tifffile road runs these before tifffile reads a file, so that both roads accept exactly the
same files: tifffile tolerates tags of an unexpected type (it ignores them and uses defaults),
byte-count arrays of the wrong length, zero rows per strip and more, and would then decode a
damaged file as a valid patch. A verdict other than NEEDS_FALLBACK (tiled, JPEG, BigTIFF, ...:
files the native parser leaves to tifffile) and OK is the native decoder's own status.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hcd_edge.decode.status import NEEDS_FALLBACK, DecodeStatus

SIDE = 96
MAX_IFD_ENTRIES = 4096
MAX_CHAIN_IFDS = 64
TYPE_SIZES = (0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8)  # by TIFF field type
SHORT, LONG = 3, 4
NATIVE_COMPRESSIONS = (1, 5, 8, 32773, 32946)
SLOTS = {256: "width", 257: "length", 258: "bits", 259: "compression", 262: "photometric",
         266: "fillorder", 273: "offsets", 277: "samples", 278: "rows_per_strip", 279: "counts",
         284: "planar", 317: "predictor", 339: "sample_format"}
OK = DecodeStatus.OK


@dataclass(frozen=True)
class _Entry:
    type: int
    count: int
    value_at: int | None  # where the values start in the file; None when past its end
    in_header: bool = False  # out-of-line values at an offset below 8 (refused, as tifffile)


class _Verdict(Exception):
    """Raised with the status the native parser stops at."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def native_ifd_status(data: bytes) -> int:
    """The status hcd_parse_ifd returns for these bytes: 0, a DecodeStatus, or NEEDS_FALLBACK."""
    try:
        _parse(bytes(data))
    except _Verdict as verdict:
        return verdict.status
    return OK


def _parse(buf: bytes) -> None:
    if len(buf) == 0:
        raise _Verdict(DecodeStatus.EMPTY_FILE)
    be = _check_header(buf)
    order = ">" if be else "<"
    tags, tiled = _read_ifd(buf, order)
    _check_pixel_format(buf, order, tags)
    planar = _check_coding(buf, order, tags, tiled)
    _check_strips(buf, order, tags, planar)


def _check_header(buf: bytes) -> bool:
    head = buf[:4]
    for m, magic in enumerate((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        if magic[: len(head)] != head:
            continue
        if len(buf) < 8:
            raise _Verdict(DecodeStatus.TRUNCATED)
        if m >= 2:
            raise _Verdict(NEEDS_FALLBACK)  # BigTIFF
        return m == 1
    raise _Verdict(DecodeStatus.NOT_TIFF)


def _in_bounds(buf: bytes, off: int, size: int) -> bool:
    return off <= len(buf) and size <= len(buf) - off


def _read_ifd(buf: bytes, order: str) -> tuple[dict[str, _Entry], bool]:
    (ifd,) = struct.unpack_from(order + "I", buf, 4)
    if ifd < 8:
        raise _Verdict(DecodeStatus.BAD_IFD)
    if not _in_bounds(buf, ifd, 2):
        raise _Verdict(DecodeStatus.TRUNCATED)
    (n,) = struct.unpack_from(order + "H", buf, ifd)
    if n == 0 or n > MAX_IFD_ENTRIES:
        raise _Verdict(DecodeStatus.BAD_IFD)
    end = ifd + 2 + 12 * n
    if not _in_bounds(buf, end, 4):
        raise _Verdict(DecodeStatus.TRUNCATED)
    tags: dict[str, _Entry] = {}
    tiled = False
    for at in range(ifd + 2, end, 12):
        tag, typ, count = struct.unpack_from(order + "HHI", buf, at)
        tiled |= 322 <= tag <= 325
        slot = SLOTS.get(tag)
        if slot is None or slot in tags:  # the first occurrence of a tag wins
            continue
        size = count * (TYPE_SIZES[typ] if typ < len(TYPE_SIZES) else 0)
        if size <= 4:
            tags[slot] = _Entry(typ, count, at + 8)
            continue
        (off,) = struct.unpack_from(order + "I", buf, at + 8)
        readable = _in_bounds(buf, off, size) and off >= 8
        tags[slot] = _Entry(typ, count, off if readable else None, off < 8)
    (following,) = struct.unpack_from(order + "I", buf, end)
    _check_chain(buf, order, ifd, following)
    return tags, tiled


def _check_chain(buf: bytes, order: str, first: int, following: int) -> None:
    seen = [first]
    while following != 0 and len(seen) < MAX_CHAIN_IFDS:
        if following in seen:
            raise _Verdict(DecodeStatus.BAD_IFD)
        if not _in_bounds(buf, following, 2):
            return
        (n,) = struct.unpack_from(order + "H", buf, following)
        end = following + 2 + 12 * n
        if not _in_bounds(buf, end, 4):
            return
        seen.append(following)
        (following,) = struct.unpack_from(order + "I", buf, end)


def _value_fault(e: _Entry) -> int:
    return DecodeStatus.BAD_TAG if e.in_header else DecodeStatus.TRUNCATED


def _get(buf: bytes, order: str, e: _Entry, i: int) -> int:
    assert e.value_at is not None
    fmt = "H" if e.type == SHORT else "I"
    return struct.unpack_from(order + fmt, buf, e.value_at + struct.calcsize(fmt) * i)[0]


def _scalar(buf: bytes, order: str, e: _Entry | None, missing: int) -> int:
    if e is None:
        raise _Verdict(missing)
    if e.type not in (SHORT, LONG) or e.count != 1:
        raise _Verdict(DecodeStatus.BAD_TAG)
    if e.value_at is None:
        raise _Verdict(_value_fault(e))
    return _get(buf, order, e, 0)


def _first_value(buf: bytes, order: str, e: _Entry) -> int:
    if e.type not in (SHORT, LONG) or e.count < 1:
        raise _Verdict(DecodeStatus.BAD_TAG)
    if e.value_at is None:
        raise _Verdict(_value_fault(e))
    return _get(buf, order, e, 0)


def _scalar_or(buf: bytes, order: str, e: _Entry | None, default: int) -> int:
    return default if e is None else _scalar(buf, order, e, OK)


def _all_samples(buf: bytes, order: str, e: _Entry, want: int, mismatch: int) -> None:
    if e.type != SHORT or e.count not in (1, 3):
        raise _Verdict(DecodeStatus.BAD_TAG)
    if e.value_at is None:
        raise _Verdict(_value_fault(e))
    if any(_get(buf, order, e, i) != want for i in range(e.count)):
        raise _Verdict(mismatch)


def _check_pixel_format(buf: bytes, order: str, t: dict[str, _Entry]) -> None:
    spp = _scalar(buf, order, t.get("samples"), NEEDS_FALLBACK)
    if "bits" not in t:
        raise _Verdict(NEEDS_FALLBACK)  # tifffile guesses a default bit depth
    if spp == 3:
        _all_samples(buf, order, t["bits"], 8, DecodeStatus.NOT_8BIT)
    else:
        bits = _first_value(buf, order, t["bits"])
        raise _Verdict(DecodeStatus.NOT_8BIT if bits != 8 else DecodeStatus.NOT_RGB)
    photometric = _scalar(buf, order, t.get("photometric"), NEEDS_FALLBACK)
    if photometric == 6:
        raise _Verdict(NEEDS_FALLBACK)  # YCbCr
    if photometric != 2:
        raise _Verdict(DecodeStatus.NOT_RGB)
    width = _scalar(buf, order, t.get("width"), DecodeStatus.MISSING_TAG)
    length = _scalar(buf, order, t.get("length"), DecodeStatus.MISSING_TAG)
    if (width, length) != (SIDE, SIDE):
        raise _Verdict(DecodeStatus.WRONG_SIZE)


def _check_coding(buf: bytes, order: str, t: dict[str, _Entry], tiled: bool) -> int:
    compression = _scalar_or(buf, order, t.get("compression"), 1)
    predictor = _scalar_or(buf, order, t.get("predictor"), 1)
    planar = _scalar_or(buf, order, t.get("planar"), 1)
    fillorder = _scalar_or(buf, order, t.get("fillorder"), 1)
    if "sample_format" in t:
        _all_samples(buf, order, t["sample_format"], 1, NEEDS_FALLBACK)
    if compression not in NATIVE_COMPRESSIONS:
        raise _Verdict(NEEDS_FALLBACK)
    if predictor not in (1, 2) or planar not in (1, 2) or fillorder != 1 or tiled:
        raise _Verdict(NEEDS_FALLBACK)
    return planar


def _check_strips(buf: bytes, order: str, t: dict[str, _Entry], planar: int) -> None:
    rps = _scalar_or(buf, order, t.get("rows_per_strip"), SIDE)
    if rps == 0:
        raise _Verdict(DecodeStatus.BAD_TAG)
    rps = min(rps, SIDE)
    strips = -(-SIDE // rps) * (3 if planar == 2 else 1)
    _strip_array(t.get("offsets"), strips, DecodeStatus.MISSING_TAG)
    _strip_array(t.get("counts"), strips, NEEDS_FALLBACK)


def _strip_array(e: _Entry | None, want: int, missing: int) -> None:
    if e is None:
        raise _Verdict(missing)
    if e.type not in (SHORT, LONG) or e.count != want:
        raise _Verdict(DecodeStatus.BAD_TAG)
    if e.value_at is None:
        raise _Verdict(_value_fault(e))
