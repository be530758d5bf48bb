"""Checks the tifffile road makes around tifffile, so that it reports what the native decoder
would: the header and IFD-chain checks for files the native parser leaves to tifffile (ifd.py
mirrors the parser itself for the others), and the per-segment rules (missing or truncated
strips, LZW code rules and exact decoded lengths) for every file tifffile decodes.

tifffile raises one of many exception types on a broken file and tolerates some damage the
native decoder refuses (an IFD chain that loops, strips past the end of the file, LZW codes past
a strip's size).
"""

from __future__ import annotations

import struct

from hcd_edge.decode.status import DecodeStatus

CLASSIC_MAGICS = (b"II*\x00", b"MM\x00*")
BIGTIFF_MAGICS = (b"II+\x00", b"MM\x00+")
MAX_IFD_ENTRIES = 4096  # csrc/tiff_ifd.c MAX_IFD_ENTRIES
MAX_CHAIN_IFDS = 64  # csrc/tiff_ifd.c MAX_CHAIN_IFDS
LZW_COMPRESSION = 5
# The tags csrc/tiff_ifd.c reads (slot_for) and the byte size of each TIFF field type.
NATIVE_TAGS = frozenset({256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 339})
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
              16: 8, 17: 8, 18: 8}


def header_status(data: bytes) -> DecodeStatus:
    """EMPTY_FILE, NOT_TIFF or TRUNCATED for a bad start of file; OK for a plausible TIFF."""
    if len(data) == 0:
        return DecodeStatus.EMPTY_FILE
    head = bytes(data[:4])
    if not any(magic.startswith(head) for magic in CLASSIC_MAGICS + BIGTIFF_MAGICS):
        return DecodeStatus.NOT_TIFF
    return DecodeStatus.TRUNCATED if len(data) < 8 else DecodeStatus.OK


def classic_ifd_status(data: bytes) -> DecodeStatus:
    """BAD_IFD or TRUNCATED when a classic TIFF's first IFD or its chain is broken, else OK."""
    if bytes(data[:4]) not in CLASSIC_MAGICS:
        return DecodeStatus.OK  # BigTIFF: tifffile checks its own structure
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    if ifd < 8:
        return DecodeStatus.BAD_IFD
    if ifd + 2 > len(data):
        return DecodeStatus.TRUNCATED
    (entries,) = struct.unpack_from(order + "H", data, ifd)
    if entries == 0 or entries > MAX_IFD_ENTRIES:
        return DecodeStatus.BAD_IFD
    end = ifd + 2 + 12 * entries
    if end + 4 > len(data):
        return DecodeStatus.TRUNCATED
    if not _values_in_bounds(data, order, ifd, entries):
        return DecodeStatus.TRUNCATED
    (following,) = struct.unpack_from(order + "I", data, end)
    return DecodeStatus.BAD_IFD if _chain_loops(data, order, ifd, following) else DecodeStatus.OK


def _values_in_bounds(data: bytes, order: str, ifd: int, entries: int) -> bool:
    """The out-of-line values of the tags the native parser reads lie inside the file."""
    for at in range(ifd + 2, ifd + 2 + 12 * entries, 12):
        tag, typ, count, offset = struct.unpack_from(order + "HHII", data, at)
        size = count * TYPE_SIZES.get(typ, 0)
        if tag in NATIVE_TAGS and size > 4 and offset + size > len(data):
            return False
    return True


def _chain_loops(data: bytes, order: str, first: int, following: int) -> bool:
    seen = [first]
    while following != 0 and len(seen) < MAX_CHAIN_IFDS:
        if following in seen:
            return True
        if following + 2 > len(data):
            return False  # a dangling pointer past page 0 does not stop page 0 decoding
        (entries,) = struct.unpack_from(order + "H", data, following)
        end = following + 2 + 12 * entries
        if end + 4 > len(data):
            return False
        seen.append(following)
        (following,) = struct.unpack_from(order + "I", data, end)
    return False


def segments_status(page, data: bytes) -> DecodeStatus:
    """MISSING_DATA for a strip or tile without data; TRUNCATED when one lies past the end of
    the file or an uncompressed strip holds fewer bytes than its rows need; CORRUPT_DATA for an
    LZW segment that decodes to more bytes than it holds; else OK.
    page is a 96x96 RGB 8-bit tifffile page, data the whole file."""
    offsets, counts = page.dataoffsets, page.databytecounts
    if any(offset == 0 or count == 0 for offset, count in zip(offsets, counts)):
        return DecodeStatus.MISSING_DATA  # tifffile would fill the gap with zeros: refuse it
    if any(offset + count > len(data) for offset, count in zip(offsets, counts)):
        return DecodeStatus.TRUNCATED
    if int(page.compression) == LZW_COMPRESSION:
        return _lzw_length_status(page, data)
    if int(page.compression) != 1 or page.is_tiled:
        return DecodeStatus.OK
    needed = _uncompressed_strip_bytes(page)
    if any(count < need for count, need in zip(counts, needed)):
        return DecodeStatus.TRUNCATED
    return DecodeStatus.OK


def _lzw_length_status(page, data: bytes) -> DecodeStatus:
    """CORRUPT_DATA when an LZW segment breaks the native decoder's code rules (lzw_rules.py)
    or decodes to other than exactly the bytes the segment holds.

    tifffile asks the codec for exactly the segment's size and drops the rest, so an LZW
    segment with extra codes (after damage, no end code) would decode. The native decoder
    refuses it (csrc/codecs.h): an exact decoded length is the rule for every codec.
    """
    import imagecodecs

    from hcd_edge.decode.lzw_rules import lzw_stream_ok

    if page.is_tiled:
        samples = page.samplesperpixel if int(page.planarconfig) == 1 else 1
        needed = [page.tilelength * page.tilewidth * samples] * len(page.dataoffsets)
    else:
        needed = _uncompressed_strip_bytes(page)
    for offset, count, need in zip(page.dataoffsets, page.databytecounts, needed):
        segment = bytes(data[offset : offset + count])
        if len(segment) >= 2 and segment[0] == 0 and segment[1] & 1:
            continue  # pre-TIFF-6 bit order (csrc/codecs.c hcd_lzw_is_old_style): tifffile's alone
        if not lzw_stream_ok(segment):
            return DecodeStatus.CORRUPT_DATA
        try:
            decoded = imagecodecs.lzw_decode(segment, out=need + 1)
        except Exception:  # noqa: BLE001 - invalid codes: tifffile raises on them too
            return DecodeStatus.CORRUPT_DATA
        if len(decoded) != need:
            return DecodeStatus.CORRUPT_DATA
    return DecodeStatus.OK


def _uncompressed_strip_bytes(page) -> list[int]:
    """Bytes each strip's rows need, in StripOffsets order (planes one after another)."""
    contiguous = int(page.planarconfig) == 1
    samples = page.samplesperpixel if contiguous else 1
    height = page.imagelength
    rows_per_strip = min(page.rowsperstrip, height)
    if rows_per_strip <= 0:
        return []
    rows = [min(rows_per_strip, height - y) for y in range(0, height, rows_per_strip)]
    planes = 1 if contiguous else page.samplesperpixel
    return [r * page.imagewidth * samples for r in rows] * planes
