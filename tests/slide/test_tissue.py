"""Tissue masking: saturation, Otsu, which grid patches are scored."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.slide.grid import Grid
from hcd_edge.slide.resolution import plan_read
from hcd_edge.slide.tissue import (
    TissueConfig,
    TissueMask,
    TissueMethod,
    cell_fractions,
    otsu_threshold,
    saturation,
    tissue_mask,
)
from tests.slide.test_resolution import ArrayReader


def test_saturation_of_grey_white_black_and_colour():
    rgb = np.array([[[240, 240, 240], [0, 0, 0], [200, 100, 50], [255, 0, 0]]], np.uint8)
    np.testing.assert_allclose(saturation(rgb)[0], [0.0, 0.0, 0.75, 1.0])


def test_otsu_splits_two_populations():
    values = np.concatenate([np.full(500, 0.02), np.full(300, 0.4)])
    assert 0.02 < otsu_threshold(values) <= 0.4


def _slide_with_tissue_square():
    image = np.full((640, 640, 3), 235, np.uint8)
    image[160:480, 224:416] = (190, 90, 160)  # tissue: saturation 0.53
    return ArrayReader(image)


@pytest.mark.parametrize("method", [TissueMethod.SATURATION, TissueMethod.OTSU])
def test_mask_marks_the_tissue_square_only(method):
    reader = _slide_with_tissue_square()
    mask = tissue_mask(reader, plan_read(reader.levels, 1.0), TissueConfig(method))
    assert mask.mask_pixel == 8 and mask.mask.shape == (80, 80)
    want = np.zeros((80, 80), bool)
    want[20:60, 28:52] = True
    np.testing.assert_array_equal(mask.mask, want)


def test_method_none_keeps_everything():
    reader = _slide_with_tissue_square()
    mask = tissue_mask(reader, plan_read(reader.levels, 1.0), TissueConfig(TissueMethod.NONE))
    assert mask.mask.all()


def test_a_patch_is_selected_by_the_tissue_in_its_centre_cell():
    mask = np.zeros((80, 80), bool)
    mask[20:60, 28:52] = True  # target pixels [160, 480) x [224, 416)
    tissue = TissueMask(np.zeros((80, 80, 3), np.uint8), mask, 8, 0.07)
    grid = Grid.for_image(640, 640, 32, 1.0)
    fractions = cell_fractions(tissue, grid)
    assert fractions.shape == (grid.rows, grid.cols)
    for r in range(grid.rows):
        for c in range(grid.cols):
            top, left = r * 32 + 32, c * 32 + 32  # the centre cell
            inside = 160 <= top < 480 and 224 <= left < 416
            assert fractions[r, c] == (1.0 if inside else 0.0), (r, c)
