"""Patches cut from a block fill slot rows with exactly the bits of the TIFF decode path."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from hcd_edge.decode import decode_batch
from hcd_edge.slide.feed import PatchCut, fill_rows
from hcd_edge.spec import Layout, PreprocessSpec

SPEC = PreprocessSpec(mean=(0.70, 0.55, 0.70), std=(0.15, 0.20, 0.15))


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(4).integers(0, 256, (5, 96, 96, 3), dtype=np.uint8)


def _cuts_from_a_block(pixels):
    """The patches laid side by side in one region array, cut back out as views."""
    block = np.zeros((96 + 7, 96 * len(pixels) + 32, 3), np.uint8)
    for i, patch in enumerate(pixels):
        block[5 : 5 + 96, 16 + 96 * i : 16 + 96 * (i + 1)] = patch
    return [PatchCut(0, i, block[5 : 5 + 96, 16 + 96 * i : 16 + 96 * (i + 1)])
            for i in range(len(pixels))]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cut_rows_equal_decoded_file_rows_bit_for_bit(tmp_path, pixels, dtype):
    paths = []
    for i, patch in enumerate(pixels):
        paths.append(tmp_path / f"p{i}.tif")
        tifffile.imwrite(paths[-1], patch, photometric="rgb")
    spec = SPEC.with_dtype(dtype)
    from_files = np.zeros(spec.input_shape(5), spec.numpy_dtype)
    assert (decode_batch(paths, from_files, mean=spec.mean, std=spec.std) == 0).all()
    from_memory = np.zeros(spec.input_shape(6), spec.numpy_dtype)
    statuses = fill_rows(_cuts_from_a_block(pixels), from_memory[:5], spec, threads=2)
    assert statuses.tolist() == [0] * 5
    assert from_memory[:5].tobytes() == from_files.tobytes()
    assert not from_memory[5].any()


def test_uint8_layout_receives_raw_pixels(pixels):
    spec = PreprocessSpec(SPEC.mean, SPEC.std, layout=Layout.NHWC, dtype="uint8")
    out = np.zeros(spec.input_shape(5), np.uint8)
    fill_rows(_cuts_from_a_block(pixels), out, spec)
    np.testing.assert_array_equal(out, pixels)
