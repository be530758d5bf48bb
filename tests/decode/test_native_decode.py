"""The native TIFF path against tifffile: the variant matrix, fallbacks and the malformed corpus."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.decode import DecodeStatus, decode_bytes
from hcd_edge.decode.reference import pixels_from_bytes
from hcd_edge.decode.status import NEEDS_FALLBACK
from tests.decode.conftest import require_native
from tests.decode.tiffbytes import patch_pixels


def _native():
    require_native()
    from hcd_edge import _tiffdec

    return _tiffdec


def _decode_u8(data: bytes) -> tuple[int, np.ndarray]:
    row = np.full((96, 96, 3), 7, dtype=np.uint8)
    return decode_bytes(data, row), row


def test_every_native_variant_matches_tifffile_pixel_for_pixel(valid_cases):
    native = _native()
    expected = patch_pixels(1)
    row = np.empty((96, 96, 3), dtype=np.uint8)
    for case in valid_cases:
        assert native.decode_bytes(case.data, row, (0, 0, 0), (1, 1, 1)) == 0, case.name
        status, reference = pixels_from_bytes(case.data)
        assert status == DecodeStatus.OK, case.name
        np.testing.assert_array_equal(row, reference, err_msg=case.name)
        np.testing.assert_array_equal(row, expected, err_msg=case.name)


def test_variant_matrix_covers_each_coding_order_planar_and_strip_height(valid_cases):
    names = {case.name for case in valid_cases}
    for part in ("none-", "packbits+pred", "lzw+pred", "zlib+pred", "adobe_deflate-", "->-",
                 "-<-", "-separate-", "-contig-", "rps1", "rps7", "rps8", "rps96"):
        assert any(part in name for name in names), part


def test_fallback_variants_are_declined_natively_and_decoded_by_tifffile(fallback_cases):
    native = _native()
    row = np.empty((96, 96, 3), dtype=np.uint8)
    for case in fallback_cases:
        assert native.decode_bytes(case.data, row, (0, 0, 0), (1, 1, 1)) == NEEDS_FALLBACK, case.name
        status, row = _decode_u8(case.data)
        assert status == DecodeStatus.OK, case.name
        _, reference = pixels_from_bytes(case.data)
        np.testing.assert_array_equal(row, reference, err_msg=case.name)


def test_lossless_fallback_variants_equal_the_written_pixels(fallback_cases):
    for case in fallback_cases:
        if case.name == "jpeg":
            continue  # lossy: compared with tifffile's decode in the test above
        status, row = _decode_u8(case.data)
        assert status == 0, case.name
        np.testing.assert_array_equal(row, patch_pixels(2), err_msg=case.name)


def test_malformed_corpus_gets_each_expected_error_status(malformed, road):
    assert len(malformed) > 300
    for case in malformed:
        status, row = _decode_u8(case.data)
        assert status == case.expected, f"{case.name} ({road}): {status}"
        assert not row.any(), f"{case.name}: a failed row must be zeroed"


@pytest.mark.parametrize("expected", [DecodeStatus.NOT_RGB, DecodeStatus.NOT_8BIT,
                                      DecodeStatus.WRONG_SIZE, DecodeStatus.TRUNCATED,
                                      DecodeStatus.NOT_TIFF, DecodeStatus.BAD_IFD,
                                      DecodeStatus.MISSING_DATA, DecodeStatus.BAD_TAG,
                                      DecodeStatus.MISSING_TAG, DecodeStatus.CORRUPT_DATA])
def test_native_and_tifffile_agree_on_each_genuine_error(malformed, expected):
    native = _native()
    row = np.empty((96, 96, 3), dtype=np.uint8)
    cases = [c for c in malformed if c.expected == expected]
    assert cases, expected
    for case in cases:
        assert native.decode_bytes(case.data, row, (0, 0, 0), (1, 1, 1)) == expected, case.name
        assert pixels_from_bytes(case.data)[0] == expected, case.name


def test_decode_bytes_accepts_bytearray_memoryview_and_numpy(valid_cases):
    data = valid_cases[0].data
    for holder in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        status, row = _decode_u8(holder)
        assert status == 0
        np.testing.assert_array_equal(row, patch_pixels(1))


def test_decode_bytes_of_nothing_is_an_empty_file(road):
    status, row = _decode_u8(b"")
    assert status == DecodeStatus.EMPTY_FILE
    assert not row.any()


def test_decode_bytes_never_returns_the_fallback_marker(fallback_cases, malformed, road):
    for case in fallback_cases + malformed:
        status, _ = _decode_u8(case.data)
        assert status != NEEDS_FALLBACK and status in set(DecodeStatus), case.name
