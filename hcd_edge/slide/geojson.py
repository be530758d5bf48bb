"""tumour.geojson: connected regions at or above the threshold as QuPath annotations.

Each region is the union of the centre cells of its patches (4-connected), in level-0 pixel
coordinates, classified "Tumor", with its area in mm^2 and its max and mean probability.
QuPath imports the file with File > Import objects (or drag and drop).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hcd_edge.slide.grid import Grid

TUMOUR_CLASS = {"name": "Tumor", "color": [200, 0, 0]}


def tumour_regions(grid: Grid, probabilities: np.ndarray, threshold: float,
                   mpp: float) -> list[dict]:
    """GeoJSON features of the 4-connected regions of cells with probability >= threshold."""
    from scipy import ndimage

    above = np.nan_to_num(probabilities, nan=-1.0) >= threshold
    labels, _ = ndimage.label(above)  # default structure: 4-connectivity
    features: list[dict] = []
    for index, where in enumerate(ndimage.find_objects(labels), start=1):
        region = labels[where] == index
        values = probabilities[where][region]
        polygon = _region_polygon(grid, region, where[0].start, where[1].start)
        area_mm2 = polygon.area * mpp * mpp * 1e-6
        features.append(_feature(polygon, len(features) + 1, area_mm2, values))
    return features


def write_geojson(path: Path, features: list[dict]) -> None:
    """A GeoJSON FeatureCollection."""
    collection = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(collection, indent=1) + "\n", encoding="utf-8")


def _region_polygon(grid: Grid, region: np.ndarray, row0: int, col0: int):
    """Union of the region's cells; each grid row's runs are merged into rectangles first."""
    from shapely.geometry import box
    from shapely.ops import unary_union

    boxes = []
    for i, line in enumerate(region):
        padded = np.concatenate(([False], line, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        for start, end in zip(edges[::2], edges[1::2]):
            x0, y0 = grid.cell_origin(np.array([row0 + i]), np.array([col0 + start]))
            width = (end - start) * grid.cell_level0
            boxes.append(box(x0[0], y0[0], x0[0] + width, y0[0] + grid.cell_level0))
    return unary_union(boxes)


def _feature(polygon, number: int, area_mm2: float, values: np.ndarray) -> dict:
    from shapely.geometry import mapping

    measurements = {"area_mm2": round(area_mm2, 6),
                    "max_probability": round(float(values.max()), 6),
                    "mean_probability": round(float(values.mean()), 6)}
    return {
        "type": "Feature",
        "geometry": mapping(polygon),
        "properties": {"objectType": "annotation", "name": f"tumour region {number}",
                       "classification": TUMOUR_CLASS, "isLocked": False,
                       "measurements": measurements},
    }
