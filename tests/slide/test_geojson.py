"""tumour.geojson: connected regions above the threshold as QuPath annotations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shapely.geometry import shape

from hcd_edge.slide.geojson import tumour_regions, write_geojson
from hcd_edge.slide.grid import Grid


@pytest.fixture
def grid():
    return Grid.for_image(32 * 12, 32 * 10, 32, 2.0)  # 2 level-0 pixels per target pixel


def test_regions_are_4_connected_cell_unions_in_level0_pixels(grid, tmp_path):
    p = np.full((grid.rows, grid.cols), np.nan, np.float32)
    p[:] = 0.1
    p[1:3, 1:4] = 0.9  # region A: 2 x 3 cells
    p[1, 4] = 0.6
    p[5, 6] = 0.7  # region B: one cell, touching A nowhere
    p[6, 7] = 0.8  # region C: diagonal to B, so separate under 4-connectivity
    p[4, 0] = np.nan  # not scored
    features = tumour_regions(grid, p, threshold=0.5, mpp=0.25)
    assert len(features) == 3
    a, b, c = (shape(f["geometry"]) for f in features)
    cell = 64.0  # 32 target pixels at 2 level-0 pixels each
    # region A: cells (1..2, 1..4) with (1, 4) added; cell (r, c) starts at 64 + 64 * (r, c)
    assert a.area == pytest.approx(7 * cell * cell)
    assert a.bounds == (64 + 64 * 1, 64 + 64 * 1, 64 + 64 * 5, 64 + 64 * 3)
    assert b.bounds == (64 + 64 * 6, 64 + 64 * 5, 64 + 64 * 7, 64 + 64 * 6)
    assert c.area == pytest.approx(cell * cell)
    props = features[0]["properties"]
    assert props["objectType"] == "annotation"
    assert props["classification"]["name"] == "Tumor"
    m = props["measurements"]
    assert m["area_mm2"] == pytest.approx(7 * (cell * 0.25) ** 2 * 1e-6, rel=1e-4)
    assert m["max_probability"] == pytest.approx(0.9)
    assert m["mean_probability"] == pytest.approx((6 * 0.9 + 0.6) / 7, abs=1e-6)
    write_geojson(tmp_path / "t.geojson", features)
    loaded = json.loads((tmp_path / "t.geojson").read_text())
    assert loaded["type"] == "FeatureCollection" and len(loaded["features"]) == 3
    assert all(shape(f["geometry"]).is_valid for f in loaded["features"])


def test_a_region_with_a_hole_keeps_the_hole(grid):
    p = np.zeros((grid.rows, grid.cols), np.float32)
    p[2:5, 2:5] = 0.9
    p[3, 3] = 0.1
    (feature,) = tumour_regions(grid, p, threshold=0.5, mpp=0.5)
    polygon = shape(feature["geometry"])
    assert len(polygon.interiors) == 1 and polygon.area == pytest.approx(8 * 64 * 64)


def test_nothing_above_the_threshold_gives_an_empty_collection(grid, tmp_path):
    p = np.full((grid.rows, grid.cols), 0.2, np.float32)
    assert tumour_regions(grid, p, threshold=0.5, mpp=0.5) == []
