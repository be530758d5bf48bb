"""Normalized output against the numpy reference: float32 bit-exact, float16 its rounding."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.decode import decode_bytes
from tests.decode.conftest import require_native
from tests.decode.tiffbytes import kaggle_tiff, patch_pixels, write_tiff

MEANS_STDS = [
    ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # ImageNet
    ((0.70, 0.54, 0.69), (0.23, 0.27, 0.21)),
    ((0.5, -3.0, 1e4), (1e-3, 7.0, 2.5e-4)),  # large values: float16 overflows to inf
]


def numpy_reference(pixels: np.ndarray, mean, std) -> np.ndarray:
    """(pixel/255 - mean)/std in float32, planar, exactly as the tifffile road computes it."""
    scaled = pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    return (scaled - m) / s


def all_levels_patch() -> np.ndarray:
    """Every 8-bit level in every channel, plus noise."""
    pixels = patch_pixels(9)
    pixels.reshape(-1, 3)[:256] = np.arange(256, dtype=np.uint8)[:, None]
    return pixels


@pytest.mark.parametrize("mean,std", MEANS_STDS)
@pytest.mark.parametrize("layout", ["kaggle", "planar-lzw-pred"])
def test_float32_output_equals_numpy_reference_bit_for_bit(road, mean, std, layout):
    pixels = all_levels_patch()
    data = kaggle_tiff(pixels) if layout == "kaggle" else write_tiff(
        pixels, planarconfig="separate", compression="lzw", predictor=True)
    row = np.empty((3, 96, 96), dtype=np.float32)
    assert decode_bytes(data, row, mean=mean, std=std) == 0
    expected = numpy_reference(pixels, mean, std)
    np.testing.assert_allclose(row, expected, rtol=0, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_array_equal(row.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("mean,std", MEANS_STDS)
def test_float16_output_equals_rounded_float32_reference(road, mean, std):
    pixels = all_levels_patch()
    row = np.empty((3, 96, 96), dtype=np.float16)
    with np.errstate(over="ignore"):
        expected = numpy_reference(pixels, mean, std).astype(np.float16)
    assert decode_bytes(kaggle_tiff(pixels), row, mean=mean, std=std) == 0
    np.testing.assert_array_equal(row.view(np.uint16), expected.view(np.uint16))


def test_uint8_output_is_the_raw_hwc_pixels(road):
    pixels = all_levels_patch()
    row = np.empty((96, 96, 3), dtype=np.uint8)
    assert decode_bytes(kaggle_tiff(pixels), row, mean=(0.5, 0.5, 0.5), std=(2, 2, 2)) == 0
    np.testing.assert_array_equal(row, pixels)


def test_native_lookup_tables_equal_numpy_per_level():
    require_native()
    from hcd_edge import _tiffdec

    mean, std = MEANS_STDS[1]
    f32, f16 = _tiffdec.lut_tables(mean, std)
    levels = np.arange(256, dtype=np.float32) / np.float32(255)
    expected = (levels[None, :] - np.asarray(mean, np.float32)[:, None]) / np.asarray(std, np.float32)[:, None]
    np.testing.assert_array_equal(f32.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(f16.view(np.uint16), expected.astype(np.float16).view(np.uint16))


def test_native_float16_conversion_rounds_like_numpy_everywhere():
    require_native()
    from hcd_edge import _tiffdec

    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**32, 2_000_000, dtype=np.uint64).astype(np.uint32)
    # Ties and neighbours around every half-precision boundary, subnormals, overflow edge.
    halves = np.arange(0, 0x7C01, dtype=np.uint32)
    as_f32 = halves.astype(np.uint16).view(np.float16).astype(np.float32).view(np.uint32)
    as_f32 = as_f32.astype(np.int64)
    edges = np.concatenate([as_f32 + d for d in (-1, 0, 1, 0x1000, 0xFFF, 0x1001)])
    edges = (edges & 0x7FFFFFFF).astype(np.uint32)
    values = np.concatenate([bits, edges, edges | 0x80000000]).view(np.float32)
    values = values[~np.isnan(values)]
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16)
    np.testing.assert_array_equal(_tiffdec.f32_to_f16(values).view(np.uint16),
                                  expected.view(np.uint16))


def test_float16_conversion_keeps_infinity_and_nan():
    require_native()
    from hcd_edge import _tiffdec

    values = np.array([np.inf, -np.inf, np.nan, 65519.0, 65520.0, 6e-8, 2.98e-8], np.float32)
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16)
    got = _tiffdec.f32_to_f16(values)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[~np.isnan(got)], expected[~np.isnan(expected)])


@pytest.mark.parametrize("mean,std", [((0, 0), (1, 1, 1)), ((0, 0, 0), (1, 0, 1)),
                                      ((np.nan, 0, 0), (1, 1, 1)), ((0, 0, 0), (1, np.inf, 1))])
def test_bad_mean_or_std_is_refused(mean, std):
    row = np.empty((3, 96, 96), dtype=np.float32)
    with pytest.raises(ValueError, match="mean and std"):
        decode_bytes(kaggle_tiff(), row, mean=mean, std=std)


def test_every_supported_pixel_kernel_and_store_mode_gives_identical_rows():
    require_native()
    from hcd_edge import _tiffdec

    kernels = _tiffdec.supported_kernels()
    assert kernels[0] == "scalar"
    mean, std = MEANS_STDS[2]
    rng = np.random.default_rng(12)
    for trial in range(8):
        pixels = all_levels_patch() if trial == 0 else rng.integers(0, 256, (96, 96, 3), np.uint8)
        data = kaggle_tiff(pixels)
        for dtype in (np.float32, np.float16):
            rows = {}
            for kernel in kernels:
                for stream in (False, True):
                    # A view at a 64-byte boundary lets the streaming path run; +1 row keeps it.
                    base = np.zeros((2, 3, 96, 96), dtype=dtype)
                    row = base[1]
                    assert _tiffdec.decode_bytes(data, row, mean, std, kernel=kernel, stream=stream) == 0
                    rows[kernel, stream] = row.copy()
            expected = np.ascontiguousarray(numpy_reference(pixels, mean, std).astype(dtype))
            for key, row in rows.items():
                np.testing.assert_array_equal(row.view(np.uint8), expected.view(np.uint8), err_msg=str(key))


def test_unsupported_kernel_name_is_refused():
    require_native()
    from hcd_edge import _tiffdec

    row = np.empty((3, 96, 96), dtype=np.float32)
    with pytest.raises(ValueError):
        _tiffdec.decode_bytes(kaggle_tiff(), row, (0, 0, 0), (1, 1, 1), kernel="mmx")
