"""Native decoder vs the tifffile reference on deterministic mutants of real (or synthetic) patches:
status 0 for exactly the same files, identical pixels where both decode (issue 11, item 8)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from hcd_edge.decode import DecodeStatus, decode_bytes
from hcd_edge.decode.reference import pixels_from_bytes
from tests.decode.conftest import require_native
from tests.decode.tiffbytes import patch_pixels, replace_strip, write_tiff
from tests.fuzz import differential
from tests.realdata import SHARED_DATA, real_patch_dir


def _report(outcome: differential.Outcome) -> str:
    lines = [f"{len(outcome.disagreements)} of {outcome.checked} mutants disagree:"]
    for d in outcome.disagreements[:20]:
        lines.append(f"  native {d.native} vs reference {d.reference}"
                     f"{' (pixels differ)' if d.pixels_differ else ''}: {d.how}")
    return "\n".join(lines)


def _assert_agree(outcome: differential.Outcome, count: int) -> None:
    assert outcome.checked == count
    assert not outcome.disagreements, _report(outcome)
    # the corpus exercises both verdicts, and corrupt strips in particular
    assert outcome.both_ok > count // 10, outcome.statuses
    assert outcome.statuses.get(DecodeStatus.CORRUPT_DATA, 0) > count // 10, outcome.statuses


def test_mutants_of_synthetic_patches_decode_alike_on_both_roads():
    require_native()
    bases = differential.encode_bases(differential.synthetic_patches(2))
    _assert_agree(differential.run(bases, 1500, seed=11), 1500)


@pytest.mark.slow
def test_ten_thousand_mutants_of_real_patches_decode_alike_on_both_roads():
    """10,000 mutants of real patches in every compression; synthetic when the data is absent."""
    require_native()
    if (SHARED_DATA / "unpack.sh").is_file():
        files = differential.real_files(real_patch_dir(), 3)
        bases = differential.encode_bases([pixels_from_bytes(f)[1] for f in files], files)
    else:
        bases = differential.encode_bases(differential.synthetic_patches(3))
    _assert_agree(differential.run(bases, 10_000, seed=2), 10_000)


def _both(data: bytes) -> tuple[int, int]:
    row = np.empty((96, 96, 3), np.uint8)
    return decode_bytes(data, row), int(pixels_from_bytes(data)[0])


def _raw() -> bytes:
    return patch_pixels(21).tobytes()


def _tiff(compression: str) -> bytes:
    return write_tiff(patch_pixels(21), compression=compression)


def _strip(data: bytes) -> bytes:
    from tests.decode.tiffbytes import Ifd

    off, count = Ifd(data).strip()
    return data[off : off + count]


def _with_strip(compression: str, payload) -> bytes:
    base = _tiff(compression)
    return replace_strip(base, payload(_strip(base)))


def _lzw_of_twice_the_rows(_: bytes) -> bytes:
    tall = np.concatenate([patch_pixels(21)] * 2)
    return _strip(write_tiff(tall, compression="lzw", rowsperstrip=192))


S = DecodeStatus
STRIP_RULES = {
    # Deflate: the stream must end (Adler-32 checked) with exactly the strip's bytes
    "deflate-inflates-to-100MB": ("zlib", lambda _: zlib.compress(bytes(100_000_000), 9),
                                  S.CORRUPT_DATA),
    "deflate-one-byte-too-many": ("zlib", lambda _: zlib.compress(_raw() + b"\x00"), S.CORRUPT_DATA),
    "deflate-without-adler": ("zlib", lambda _: zlib.compress(_raw())[:-4], S.CORRUPT_DATA),
    "deflate-wrong-adler": ("zlib", lambda _: zlib.compress(_raw())[:-1] + b"\x00", S.CORRUPT_DATA),
    "deflate-bytes-after-stream-end": ("zlib", lambda _: zlib.compress(_raw()) + b"junk", S.OK),
    # LZW: clear first, end code present, exact length; bytes after the end code are ignored
    "lzw-without-end-code": ("lzw", lambda s: s[:-2], S.CORRUPT_DATA),
    "lzw-more-codes-than-the-strip": ("lzw", _lzw_of_twice_the_rows, S.CORRUPT_DATA),
    "lzw-not-starting-with-clear": ("lzw", lambda s: bytes([s[0] ^ 0x40]) + s[1:], S.CORRUPT_DATA),
    "lzw-bytes-after-end-code": ("lzw", lambda s: s + b"\xff\x00\x17", S.OK),
    # PackBits: every byte decodes; only no-ops and one final pad byte may follow
    "packbits-trailing-run": ("packbits", lambda s: s + b"\xfe\x07", S.CORRUPT_DATA),
    "packbits-trailing-no-ops": ("packbits", lambda s: s + b"\x80\x80", S.OK),
    "packbits-final-pad-byte": ("packbits", lambda s: s + b"\x00", S.OK),
    "packbits-trailing-literal": ("packbits", lambda s: s + b"\x01\x05\x06", S.CORRUPT_DATA),
    "uncompressed-extra-bytes": ("none", lambda s: s + b"extra", S.OK),
}


@pytest.mark.parametrize("name", sorted(STRIP_RULES))
def test_each_strip_rule_holds_on_both_roads(name):
    require_native()
    compression, payload, expected = STRIP_RULES[name]
    data = _with_strip(compression, payload)
    assert _both(data) == (expected, expected), name
