"""Decode status codes shared by the native decoder and the tifffile fallback."""

from enum import IntEnum


class DecodeStatus(IntEnum):
    """One status per decoded path; 0 means the output row holds the patch."""

    OK = 0
    OPEN_FAILED = 1  # file missing, unreadable, or a broken link
    NOT_A_FILE = 2  # a directory or device named like a patch
    EMPTY_FILE = 3
    READ_FAILED = 4  # I/O error while reading
    FILE_TOO_LARGE = 5  # over the size limit for a single patch file
    NOT_TIFF = 10  # bad byte-order mark or magic number
    TRUNCATED = 11  # an offset or count points past the end of the file
    BAD_IFD = 12  # IFD offset out of range, loop, or absurd entry count
    MISSING_TAG = 13  # a required tag is absent
    BAD_TAG = 14  # a tag has a wrong field type, count or value
    WRONG_SIZE = 20  # not 96x96
    NOT_RGB = 21  # grey, RGBA, palette, or another photometric interpretation
    NOT_8BIT = 22  # bits per sample other than 8
    UNSUPPORTED = 23  # a TIFF feature neither the native decoder nor tifffile can read
    CORRUPT_DATA = 24  # compressed data that does not decompress to the expected size
    MISSING_DATA = 25  # a strip or tile without data (offset or byte count 0)


_MESSAGES = {
    DecodeStatus.OK: "decoded",
    DecodeStatus.OPEN_FAILED: "cannot open the file (missing, permission denied, or a broken link)",
    DecodeStatus.NOT_A_FILE: "not a regular file (a directory or device named like a patch)",
    DecodeStatus.EMPTY_FILE: "the file is empty",
    DecodeStatus.READ_FAILED: "an I/O error occurred while reading the file",
    DecodeStatus.FILE_TOO_LARGE: "the file is too large to be a single 96x96 patch",
    DecodeStatus.NOT_TIFF: "not a TIFF file (bad byte-order mark or magic number)",
    DecodeStatus.TRUNCATED: "the TIFF is truncated: an offset or count points past the end",
    DecodeStatus.BAD_IFD: "the TIFF directory (IFD) is corrupt: bad offset, loop, or entry count",
    DecodeStatus.MISSING_TAG: "the TIFF lacks a required tag (size, strips, or samples)",
    DecodeStatus.BAD_TAG: "a TIFF tag has a wrong type, count or value",
    DecodeStatus.WRONG_SIZE: "the image is not 96x96 pixels",
    DecodeStatus.NOT_RGB: "the image is not RGB (grey, RGBA, palette or other colour model)",
    DecodeStatus.NOT_8BIT: "the image is not 8 bits per sample",
    DecodeStatus.UNSUPPORTED: "the TIFF uses a feature that cannot be decoded",
    DecodeStatus.CORRUPT_DATA: "the compressed image data is corrupt",
    DecodeStatus.MISSING_DATA: "part of the image has no data (a strip or tile with offset or "
    "byte count 0), so the patch is incomplete",
}


def status_message(code: int) -> str:
    """Text a person understands for a decode status code."""
    try:
        return _MESSAGES[DecodeStatus(code)]
    except ValueError:
        return f"unknown decode status {code}"


# Internal marker of the native decoder (csrc/tiffdec.h HCD_NEEDS_FALLBACK): a TIFF it does not
# handle (tiled, JPEG, BigTIFF, ...). hcd_edge.decode turns it into a tifffile decode; it is
# never returned to callers, so it is deliberately not a DecodeStatus member.
NEEDS_FALLBACK = 100
