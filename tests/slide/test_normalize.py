"""Patches from memory are normalized with exactly the bits of the TIFF decode path."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from hcd_edge.decode import decode_batch
from hcd_edge.slide.feed import PatchCut, fill_rows
from hcd_edge.slide.normalize import normalize_patches
from hcd_edge.spec import Layout, PreprocessSpec

SPEC = PreprocessSpec(mean=(0.70, 0.55, 0.70), std=(0.15, 0.20, 0.15))


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(4).integers(0, 256, (5, 96, 96, 3), dtype=np.uint8)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_memory_rows_equal_decoded_file_rows_bit_for_bit(tmp_path, pixels, dtype):
    paths = []
    for i, patch in enumerate(pixels):
        paths.append(tmp_path / f"p{i}.tif")
        tifffile.imwrite(paths[-1], patch, photometric="rgb")
    spec = SPEC.with_dtype(dtype)
    from_files = np.zeros(spec.input_shape(5), spec.numpy_dtype)
    assert (decode_batch(paths, from_files, mean=spec.mean, std=spec.std) == 0).all()
    from_memory = np.zeros_like(from_files)
    normalize_patches(pixels, from_memory, spec)
    assert from_memory.tobytes() == from_files.tobytes()


def test_uint8_layout_copies_raw_pixels(pixels):
    spec = PreprocessSpec(SPEC.mean, SPEC.std, layout=Layout.NHWC, dtype="uint8")
    out = np.zeros(spec.input_shape(8), np.uint8)
    normalize_patches(pixels, out, spec)
    np.testing.assert_array_equal(out[:5], pixels)
    assert not out[5:].any()


def test_fill_rows_takes_views_cut_from_a_block(pixels):
    block = np.zeros((96, 96 * 5 + 32, 3), np.uint8)
    for i, patch in enumerate(pixels):
        block[:, 16 + 96 * i : 16 + 96 * (i + 1)] = patch
    cuts = [PatchCut(0, i, block[:, 16 + 96 * i : 16 + 96 * (i + 1)]) for i in range(5)]
    rows = np.zeros(SPEC.input_shape(6), np.float32)
    statuses = fill_rows(cuts, rows[:5], SPEC)
    want = np.zeros(SPEC.input_shape(5), np.float32)
    normalize_patches(pixels, want, SPEC)
    assert statuses.tolist() == [0] * 5
    np.testing.assert_array_equal(rows[:5], want)
