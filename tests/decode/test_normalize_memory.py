"""normalize_patches: in-memory uint8 patches -> batch rows, native vs numpy vs the TIFF road."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hcd_edge import decode
from hcd_edge.decode import decode_batch, normalize_patches
from tests.decode.conftest import require_native
from tests.decode.test_normalize import MEANS_STDS, all_levels_patch
from tests.decode.tiffbytes import kaggle_tiff, patch_pixels

DTYPES = [np.float32, np.float16, np.uint8]
SPEC = SimpleNamespace(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))  # a PreprocessSpec


def _out(n: int, dtype) -> np.ndarray:
    shape = (n, 96, 96, 3) if dtype == np.uint8 else (n, 3, 96, 96)
    return np.full(shape, 7, dtype=dtype)


def _patches(n: int = 6) -> np.ndarray:
    return np.stack([all_levels_patch()] + [patch_pixels(40 + i) for i in range(n - 1)])


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint8)


@pytest.fixture
def tiff_rows(tmp_path):
    """The rows decode_batch gives for the same patches written as Kaggle TIFF files."""

    def rows(patches: np.ndarray, dtype, mean, std) -> np.ndarray:
        paths = []
        for i, pixels in enumerate(patches):
            paths.append(tmp_path / f"{i}.tif")
            paths[-1].write_bytes(kaggle_tiff(np.ascontiguousarray(pixels)))
        out = _out(len(paths), dtype)
        assert not decode_batch(paths, out, mean=mean, std=std, threads=1).any()
        return out

    return rows


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean,std", MEANS_STDS)
def test_native_numpy_and_tiff_roads_give_bit_identical_rows(monkeypatch, tiff_rows, dtype, mean,
                                                              std):
    require_native()
    patches = _patches()
    native = _out(len(patches), dtype)
    normalize_patches(patches, native, mean=mean, std=std, threads=2)
    monkeypatch.setattr(decode, "_native", None)
    numpy_rows = _out(len(patches), dtype)
    normalize_patches(patches, numpy_rows, mean=mean, std=std)
    np.testing.assert_array_equal(_bits(native), _bits(numpy_rows))
    np.testing.assert_array_equal(_bits(native), _bits(tiff_rows(patches, dtype, mean, std)))


def test_every_kernel_gives_the_same_rows():
    require_native()
    patches = _patches(3)
    rows = []
    for kernel in decode._native.supported_kernels():
        for stream in (False, True):
            out = _out(len(patches), np.float32)
            decode._native.normalize_batch(patches, out, (0.7, 0.5, 0.6), (0.2, 0.3, 0.25), 1,
                                           kernel=kernel, stream=stream)
            rows.append(out)
    assert len(rows) >= 2
    for other in rows[1:]:
        np.testing.assert_array_equal(_bits(other), _bits(rows[0]))


def test_views_cut_from_a_region_array_need_no_copy_and_equal_copies():
    region = np.random.default_rng(3).integers(0, 256, (400, 500, 3), dtype=np.uint8)
    corners = [(0, 0), (17, 301), (304, 404), (150, 33)]
    views = [region[y : y + 96, x : x + 96] for y, x in corners]
    copies = np.stack([np.ascontiguousarray(v) for v in views])
    grid_row = np.lib.stride_tricks.sliding_window_view(region, (96, 96, 3))[40, ::32, 0]
    for patches, reference in [(views, copies), (grid_row, np.ascontiguousarray(grid_row))]:
        a, b = _out(len(reference), np.float32), _out(len(reference), np.float32)
        normalize_patches(patches, a, spec=SPEC)
        normalize_patches(reference, b, spec=SPEC)
        np.testing.assert_array_equal(_bits(a), _bits(b))
    assert grid_row.base is not None and not grid_row.flags.c_contiguous  # read in place


def test_other_layouts_are_copied_and_still_correct():
    patches = _patches(3)
    bgr = patches[..., ::-1]  # channel stride -1: copied first
    out, expected = _out(3, np.uint8), _out(3, np.uint8)
    normalize_patches(bgr, out)
    normalize_patches(np.ascontiguousarray(bgr), expected)
    np.testing.assert_array_equal(out, expected)
    flipped = [p[::-1] for p in patches]  # negative row stride: read in place
    normalize_patches(flipped, out)
    np.testing.assert_array_equal(out, patches[:, ::-1])


def test_threads_and_spare_rows():
    patches = np.concatenate([_patches(5)] * 30)  # enough for several workers (32 per thread)
    one, many = _out(160, np.float16), _out(160, np.float16)
    view = normalize_patches(patches, one, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), threads=1)
    normalize_patches(patches, many, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), threads=4)
    assert view.shape == (150, 3, 96, 96) and np.shares_memory(view, one)
    np.testing.assert_array_equal(_bits(one), _bits(many))
    assert (one[150:] == 7).all(), "rows past len(patches) are left alone"


def test_no_patches_is_a_no_op():
    out = _out(2, np.float32)
    assert normalize_patches(np.zeros((0, 96, 96, 3), np.uint8), out).shape[0] == 0
    assert normalize_patches([], out).shape[0] == 0
    assert (out == 7).all()


@pytest.mark.parametrize("patches,out,match", [
    (np.zeros((2, 96, 96, 3), np.float32), _out(2, np.float32), "uint8 .N, 96, 96, 3."),
    (np.zeros((2, 64, 64, 3), np.uint8), _out(2, np.float32), "uint8 .N, 96, 96, 3."),
    (np.zeros((2, 3, 96, 96), np.uint8), _out(2, np.float32), "uint8 .N, 96, 96, 3."),
    ([np.zeros((96, 96, 3), np.uint8), np.zeros((96, 96), np.uint8)], _out(2, np.float32),
     "patch 1 must be a uint8 .96, 96, 3."),
    ([np.zeros((96, 96, 3), np.uint8), "not an array"], _out(2, np.float32), "patch 1"),
    (np.zeros((3, 96, 96, 3), np.uint8), _out(2, np.float32), "holds 2 rows but 3"),
    (np.zeros((2, 96, 96, 3), np.uint8), np.zeros((2, 3, 96, 96), np.int32), "out must be"),
    (np.zeros((2, 96, 96, 3), np.uint8), np.zeros((2, 96, 96, 3), np.float32), "out must be"),
    (np.zeros((2, 96, 96, 3), np.uint8), _out(4, np.float32)[::2], "C-contiguous"),
])
def test_wrong_inputs_get_a_clear_error(road, patches, out, match):
    with pytest.raises(ValueError, match=match):
        normalize_patches(patches, out)


def test_bad_threads_and_normalization_are_refused():
    patches, out = _patches(1), _out(1, np.float32)
    with pytest.raises(ValueError, match="threads"):
        normalize_patches(patches, out, threads=0)
    with pytest.raises(ValueError, match="std"):
        normalize_patches(patches, out, std=(1.0, 0.0, 1.0))
