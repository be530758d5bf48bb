"""Deterministic TIFF corpora: the valid variant matrix, the fallback variants, malformed files.

Shared by the decode tests, the sanitizer build test (tests/native) and the fuzz seeds.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.decode import DecodeStatus
from tests.decode.tiffbytes import (
    Ifd,
    deflate_of,
    kaggle_tiff,
    patch_pixels,
    replace_strip,
    write_tiff,
)

CODINGS = [
    ("none", False), ("packbits", False), ("packbits", True), ("lzw", False), ("lzw", True),
    ("zlib", False), ("zlib", True), ("adobe_deflate", False), ("adobe_deflate", True),
]
ROWS_PER_STRIP = (1, 7, 8, 96)


@dataclass(frozen=True)
class Case:
    """One TIFF in memory; `expected` is the status it must decode with, on both roads (the
    tifffile road applies the native parser's rules first: hcd_edge/decode/ifd.py)."""

    name: str
    data: bytes
    expected: DecodeStatus = DecodeStatus.OK


def valid_variants(pixels: np.ndarray | None = None) -> list[Case]:
    """Every coding x byte order x planar configuration x rows per strip the native path reads."""
    pixels = patch_pixels(1) if pixels is None else pixels
    cases = []
    for (comp, pred), order, planar, rps in itertools.product(
        CODINGS, "<>", ("contig", "separate"), ROWS_PER_STRIP
    ):
        kwargs = {"byteorder": order, "planarconfig": planar, "rowsperstrip": rps}
        if comp != "none":
            kwargs.update(compression=comp, predictor=pred)
        name = f"{comp}{'+pred' if pred else ''}-{order}-{planar}-rps{rps}"
        cases.append(Case(name, write_tiff(pixels, **kwargs)))
    return cases


def fallback_variants(pixels: np.ndarray | None = None) -> list[Case]:
    """Valid 96x96 RGB TIFFs the native parser hands to tifffile (status 0 all the same)."""
    pixels = patch_pixels(2) if pixels is None else pixels
    return [
        Case("tiled", write_tiff(pixels, tile=(32, 32))),
        Case("tiled-lzw", write_tiff(pixels, tile=(48, 48), compression="lzw")),
        Case("jpeg", write_tiff(pixels, compression="jpeg")),
        Case("bigtiff", write_tiff(pixels, bigtiff=True)),
        Case("zstd", write_tiff(pixels, compression="zstd")),
        Case("lzma", write_tiff(pixels, compression="lzma")),
        Case("no-bytecounts", _without_bytecounts(kaggle_tiff(pixels))),
    ]


def _without_bytecounts(data: bytes) -> bytes:
    return Ifd(data).set_entry(279, new_tag=65000).bytes()


def wrong_format_cases() -> list[Case]:
    """Well-formed TIFFs that are not 96x96 RGB 8-bit; tifffile gives the same verdicts."""
    rng = np.random.default_rng(3)
    rgb = patch_pixels(3)
    return [
        Case("grey", write_tiff(rgb[..., 0]), DecodeStatus.NOT_RGB),
        Case("rgba", write_tiff(np.dstack([rgb, rgb[..., :1]])), DecodeStatus.NOT_RGB),
        Case("rgb16", write_tiff(rgb.astype(np.uint16) * 257), DecodeStatus.NOT_8BIT),
        Case("grey16", write_tiff(rgb[..., 0].astype(np.uint16)), DecodeStatus.NOT_8BIT),
        Case("float32", write_tiff(rgb.astype(np.float32)), DecodeStatus.NOT_8BIT),
        Case("palette", write_tiff(rgb[..., 0], photometric="palette",
                                   colormap=rng.integers(0, 65535, (3, 256), dtype=np.uint16)),
             DecodeStatus.NOT_RGB),
        Case("64x64", write_tiff(rgb[:64, :64]), DecodeStatus.WRONG_SIZE),
        Case("96x97", write_tiff(np.ascontiguousarray(np.pad(rgb, ((0, 0), (0, 1), (0, 0))))),
             DecodeStatus.WRONG_SIZE),
        Case("lzw-200x200", write_tiff(np.zeros((200, 200, 3), np.uint8), compression="lzw"),
             DecodeStatus.WRONG_SIZE),
    ]


def truncation_cases(data: bytes, name: str) -> list[Case]:
    """data cut at many points: the header, the IFD, its values and the pixel data."""
    ifd = Ifd(data)
    points = set(range(16)) | set(range(ifd.offset, ifd.next_at + 8, 5))
    points |= set(range(ifd.next_at + 4, len(data), max(1, len(data) // 40))) | {len(data) - 1}
    cases = []
    for n in sorted(p for p in points if p < len(data)):
        expected = DecodeStatus.EMPTY_FILE if n == 0 else DecodeStatus.TRUNCATED
        cases.append(Case(f"{name}-cut{n}", data[:n], expected))
    return cases


def _ifd_cases(base: bytes) -> list[Case]:
    ifd = Ifd(base)
    size = len(base)
    S = DecodeStatus
    return [
        Case("magic-bad", b"IX" + base[2:], S.NOT_TIFF),
        Case("magic-42-wrong-order", b"II\x00*" + base[4:], S.NOT_TIFF),
        Case("not-tiff-png", b"\x89PNG\r\n\x1a\n" + bytes(64), S.NOT_TIFF),
        Case("ifd-offset-0", Ifd(base).put_u32(4, 0).bytes(), S.BAD_IFD),
        Case("ifd-offset-4", Ifd(base).put_u32(4, 4).bytes(), S.BAD_IFD),
        Case("ifd-offset-past-end", Ifd(base).put_u32(4, size + 100).bytes(), S.TRUNCATED),
        Case("ifd-offset-max", Ifd(base).put_u32(4, 0xFFFFFFFF).bytes(), S.TRUNCATED),
        Case("ifd-entries-0", Ifd(base).put_u16(ifd.offset, 0).bytes(), S.BAD_IFD),
        Case("ifd-entries-absurd", Ifd(base).put_u16(ifd.offset, 60000).bytes(), S.BAD_IFD),
        Case("ifd-entries-past-end", Ifd(base).put_u16(ifd.offset, 4000).bytes(), S.TRUNCATED),
        Case("ifd-loop-self", Ifd(base).put_u32(ifd.next_at, ifd.offset).bytes(), S.BAD_IFD),
        Case("ifd-loop-two-pages", _two_page_loop(), S.BAD_IFD),
    ]


def _two_page_loop() -> bytes:
    pixels = patch_pixels(4)
    import io

    import tifffile

    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(pixels, photometric="rgb")
        tw.write(pixels, photometric="rgb")
    data = buf.getvalue()
    first = Ifd(data)
    (second,) = struct.unpack_from("<I", data, first.next_at)
    (count,) = struct.unpack_from("<H", data, second)
    return Ifd(data).put_u32(second + 2 + 12 * count, first.offset).bytes()


def _tag_cases(base: bytes) -> list[Case]:
    S = DecodeStatus
    size = len(base)
    _, count = Ifd(base).strip()

    def edit(tag, **kw):
        return Ifd(base).set_entry(tag, **kw).bytes()

    return [
        Case("width-0", edit(256, value=0), S.WRONG_SIZE),
        Case("width-97", edit(256, value=97), S.WRONG_SIZE),
        Case("length-absurd", edit(257, type=4, value=0xFFFFFFFF), S.WRONG_SIZE),
        Case("width-ascii", edit(256, type=2), S.BAD_TAG),
        Case("width-float", edit(256, type=11), S.BAD_TAG),
        Case("width-type-99", edit(256, type=99), S.BAD_TAG),
        Case("width-count-0", edit(256, count=0), S.BAD_TAG),
        Case("width-count-huge", edit(256, count=0x40000000), S.BAD_TAG),
        Case("width-missing", edit(256, new_tag=65000), S.MISSING_TAG),
        Case("length-missing", edit(257, new_tag=65001), S.MISSING_TAG),
        Case("offsets-missing", edit(273, new_tag=65002), S.MISSING_TAG),
        Case("bits-16-on-rgb", _bits(base, 16), S.NOT_8BIT),
        Case("bits-count-2", edit(258, count=2), S.BAD_TAG),
        Case("bits-past-end", edit(258, value=size - 2), S.TRUNCATED),
        Case("samples-4", edit(277, value=4), S.NOT_RGB),
        Case("samples-1", edit(277, value=1), S.NOT_RGB),
        Case("photometric-grey", edit(262, value=1), S.NOT_RGB),
        Case("rows-per-strip-0", edit(278, value=0), S.BAD_TAG),
        Case("strip-count-mismatch", edit(278, value=7), S.BAD_TAG),
        Case("strip-offset-past-end", edit(273, value=size + 10), S.TRUNCATED),
        Case("strip-offset-max", edit(273, value=0xFFFFFFF0), S.TRUNCATED),
        Case("strip-bytes-past-end", edit(279, value=count + 1000), S.TRUNCATED),
        Case("strip-bytes-max", edit(279, value=0xFFFFFFFF), S.TRUNCATED),
        Case("strip-bytes-short", edit(279, value=count - 1), S.TRUNCATED),
        Case("strip-bytes-0", edit(279, value=0), S.MISSING_DATA),
        Case("strip-offset-0", edit(273, value=0), S.MISSING_DATA),
        Case("strip-offset-0-of-7", _strip_offset_zero(), S.MISSING_DATA),
        Case("strip-offsets-ascii", edit(273, type=2), S.BAD_TAG),
        Case("strip-array-past-end", Ifd(base).set_entry(278, value=32)
             .set_entry(273, count=3, value=size - 4).set_entry(279, count=3).bytes(), S.TRUNCATED),
    ]


def _strip_offset_zero() -> bytes:
    data = write_tiff(patch_pixels(8), rowsperstrip=7)
    ifd = Ifd(data)
    return ifd.put_u32(ifd.entry(273).value + 4 * 3, 0).bytes()  # strip 3 of 14


def _bits(base: bytes, bits: int) -> bytes:
    ifd = Ifd(base)
    at = ifd.entry(258).value  # three SHORTs stored out of line
    for i in range(3):
        ifd.put_u16(at + 2 * i, bits)
    return ifd.bytes()


def _codec_cases() -> list[Case]:
    S = DecodeStatus
    pixels = patch_pixels(5)
    rng = np.random.default_rng(5)
    garbage = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    raw = pixels.tobytes()
    cases = []
    for comp in ("lzw", "zlib", "packbits"):
        data = write_tiff(pixels, compression=comp)
        _, count = Ifd(data).strip()
        cases.append(Case(f"{comp}-short-stream", Ifd(data).set_entry(279, value=count // 2).bytes(),
                          S.CORRUPT_DATA))
        cases.append(Case(f"{comp}-empty-stream", Ifd(data).set_entry(279, value=0).bytes(),
                          S.MISSING_DATA))
    zlib_tiff = write_tiff(pixels, compression="zlib")
    lzw_tiff = write_tiff(pixels, compression="lzw")
    pack_tiff = write_tiff(pixels, compression="packbits")
    cases += [
        Case("zlib-garbage", replace_strip(zlib_tiff, garbage), S.CORRUPT_DATA),
        Case("zlib-too-little", replace_strip(zlib_tiff, deflate_of(raw[:1000])), S.CORRUPT_DATA),
        Case("lzw-garbage", replace_strip(lzw_tiff, b"\x80" + garbage), S.CORRUPT_DATA),
        Case("lzw-code-ahead", replace_strip(lzw_tiff, _lzw_codes([256, 65, 400, 257])),
             S.CORRUPT_DATA),
        Case("lzw-first-code-not-literal", replace_strip(lzw_tiff, _lzw_codes([256, 300, 257])),
             S.CORRUPT_DATA),
        Case("lzw-eoi-early", replace_strip(lzw_tiff, _lzw_codes([256, 65, 66, 257])),
             S.CORRUPT_DATA),
        Case("packbits-run-overflows", replace_strip(pack_tiff, b"\x9d\x07" * 300), S.CORRUPT_DATA),
        Case("packbits-literal-past-input", replace_strip(pack_tiff, b"\x7f\x01\x02"),
             S.CORRUPT_DATA),
    ]
    cases += _exact_length_cases(raw, zlib_tiff, lzw_tiff, pack_tiff)
    return cases


def _exact_length_cases(raw: bytes, zlib_tiff: bytes, lzw_tiff: bytes, pack_tiff: bytes) -> list[Case]:
    """Strips that decode to more than their rows, or lack their end (issue 11 item 8). The
    tails both roads accept are pinned in tests/fuzz/test_differential.py STRIP_RULES."""
    S = DecodeStatus
    lzw_strip = _only_strip(lzw_tiff)
    pack_strip = _only_strip(pack_tiff)
    return [
        Case("zlib-too-much", replace_strip(zlib_tiff, deflate_of(raw + raw[:999])), S.CORRUPT_DATA),
        Case("zlib-bomb", replace_strip(zlib_tiff, deflate_of(bytes(4_000_000))), S.CORRUPT_DATA),
        Case("zlib-no-adler", replace_strip(zlib_tiff, deflate_of(raw)[:-4]), S.CORRUPT_DATA),
        Case("zlib-bad-adler", replace_strip(zlib_tiff, deflate_of(raw)[:-2] + b"\0\0"),
             S.CORRUPT_DATA),
        Case("lzw-no-eoi", replace_strip(lzw_tiff, lzw_strip[:-2]), S.CORRUPT_DATA),
        Case("lzw-no-leading-clear", replace_strip(lzw_tiff, _lzw_codes([65, 66, 257])),
             S.CORRUPT_DATA),
        Case("lzw-too-much", replace_strip(lzw_tiff, _only_strip(write_tiff(
            np.concatenate([patch_pixels(5)] * 2), compression="lzw", rowsperstrip=192))),
             S.CORRUPT_DATA),
        Case("lzw-table-overflow", replace_strip(lzw_tiff, _lzw_overflow()), S.CORRUPT_DATA),
        Case("packbits-trailing-run", replace_strip(pack_tiff, pack_strip + b"\xfe\x01"),
             S.CORRUPT_DATA),
    ]


def _only_strip(data: bytes) -> bytes:
    off, count = Ifd(data).strip()
    return data[off : off + count]


def _lzw_overflow() -> bytes:
    """A clear, then literal codes past a full table (4096 entries) without a clear."""
    widths = [9] + [9] * 254 + [10] * 512 + [11] * 1024 + [12] * 2100  # early change, as TIFF
    codes = [256] + [65] * (len(widths) - 2) + [257]
    bits = "".join(format(c, f"0{w}b") for c, w in zip(codes, widths))
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def _lzw_codes(codes: list[int]) -> bytes:
    """9-bit LZW codes packed most significant bit first."""
    bits = "".join(format(c, "09b") for c in codes)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def malformed_cases() -> list[Case]:
    """The malformed corpus: every file must get its expected non-zero status, never a crash."""
    base = kaggle_tiff()
    big_endian = write_tiff(patch_pixels(6), byteorder=">", compression="lzw", predictor=True)
    return (
        truncation_cases(base, "kaggle")
        + truncation_cases(big_endian, "be-lzw")
        + truncation_cases(write_tiff(patch_pixels(7), planarconfig="separate", rowsperstrip=7),
                           "planar-rps7")
        + _ifd_cases(base)
        + _ifd_cases(big_endian)
        + _tag_cases(base)
        + _codec_cases()
        + wrong_format_cases()
    )


def write_cases(folder: Path, cases: list[Case]) -> list[Path]:
    """Write each case's bytes to folder/NNNN-<name>.tif, in order; returns the paths."""
    paths = []
    for i, case in enumerate(cases):
        path = folder / f"{i:04d}-{case.name}.tif"
        path.write_bytes(case.data)
        paths.append(path)
    return paths
