"""The native decoder's LZW acceptance rules (csrc/codecs.c hcd_lzw_decode) for the tifffile road.

tifffile's codec (imagecodecs) is more lenient: it decodes a strip without an end-of-information
code (and then misreads a final code that ends in the last byte), takes a non-literal first code
after a clear as a byte, lets the table run 1,024 entries past full, and drops codes past the
strip's size. This module walks the code stream (not the output) with numpy, one clear-to-clear
run at a time, and says whether the native rules hold:

- the strip starts with a clear code (256);
- the first code after each clear is a literal (< 256), another clear, or the end code (257);
- every other code is at most the next free table entry, and none follows a full table (4096);
- the end-of-information code is present (bytes after it are ignored).

The decoded length is checked separately (exactly the strip's bytes, see structure.py).
"""

from __future__ import annotations

import numpy as np

CLEAR, EOI, FIRST, MAX_CODES = 256, 257, 258, 4096


def _widths() -> np.ndarray:
    """Bit width of the j-th code after a clear (j = 0 is the literal that adds no entry)."""
    nexts = np.array([FIRST] + [FIRST + j - 1 for j in range(1, MAX_CODES - FIRST + 2)])
    # TIFF "early change", as csrc/codecs.c code_width
    return np.select([nexts >= 2047, nexts >= 1023, nexts >= 511], [12, 11, 10], 9)


_WIDTHS = _widths()
_STARTS = np.concatenate([[0], np.cumsum(_WIDTHS)[:-1]])  # bit offset of code j after a clear
_LIMITS = FIRST + np.maximum(np.arange(len(_WIDTHS)) - 1, 0)  # next free entry before code j


def lzw_stream_ok(segment: bytes) -> bool:
    """True when an LZW strip follows the native decoder's code rules (see the module doc)."""
    if len(segment) < 2:
        return False
    padded = np.frombuffer(bytes(segment) + b"\x00\x00\x00", dtype=np.uint8).astype(np.uint32)
    total_bits = 8 * len(segment)
    if _codes_at(padded, np.array([0]), np.array([9]))[0] != CLEAR:
        return False
    position = 9
    while True:  # one clear-to-clear run per pass
        starts = position + _STARTS
        fits = starts + _WIDTHS <= total_bits
        usable = int(np.count_nonzero(fits))  # codes in the run that lie inside the strip
        codes = _codes_at(padded, starts[:usable], _WIDTHS[:usable])
        stops = np.flatnonzero((codes == CLEAR) | (codes == EOI))
        end = int(stops[0]) if len(stops) else usable
        body = codes[:end]
        if end > 0 and body[0] >= 256:
            return False  # the first code after a clear is not a literal
        if np.any(body[1:] > _LIMITS[1:end]):
            return False  # a code past the next free entry
        if not len(stops):
            # no clear or end code: the strip ends without one, or the table overflowed
            return False
        if codes[end] == EOI:
            return True
        position = int(starts[end]) + int(_WIDTHS[end])  # past the clear, read at the run's width


def _codes_at(padded: np.ndarray, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The widths[i]-bit codes starting at bit starts[i], most significant bit first."""
    byte = starts >> 3
    window = (padded[byte] << 16) | (padded[byte + 1] << 8) | padded[byte + 2]
    shift = 24 - (starts & 7) - widths
    return (window >> shift.astype(np.uint32)) & ((np.uint32(1) << widths.astype(np.uint32)) - 1)
