"""The per-slide files that are not pictures: patches.csv, probability.npy, tissue.png, summary.json.

Each is written into the slide's staging folder; run.py renames the folder into place only
when every file is complete.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from hcd_edge.score.rows import PROBABILITY_FORMAT
from hcd_edge.slide.grid import Grid

PATCHES_HEADER = ("x", "y", "size", "probability", "label")
PATCHES_CSV = "patches.csv"
PROBABILITY_NPY = "probability.npy"
TISSUE_PNG = "tissue.png"
HEATMAP_PNG = "heatmap.png"
TUMOUR_GEOJSON = "tumour.geojson"
SUMMARY_JSON = "summary.json"


def format_coordinate(value: float) -> str:
    """A level-0 coordinate: an integer when it is one, else two decimals."""
    rounded = round(value)
    return str(int(rounded)) if abs(value - rounded) < 1e-6 else f"{value:.2f}"


def write_patches_csv(path: Path, grid: Grid, probabilities: np.ndarray, threshold: float) -> int:
    """x,y,size,probability,label per scored patch (row-major); returns the rows written."""
    rows, cols = np.nonzero(np.isfinite(probabilities))
    xs, ys = grid.patch_origin(rows, cols)
    size = format_coordinate(grid.patch_level0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(PATCHES_HEADER)
        for x, y, p in zip(xs, ys, probabilities[rows, cols]):
            writer.writerow((format_coordinate(x), format_coordinate(y), size,
                             PROBABILITY_FORMAT.format(p), int(p >= threshold)))
    return len(rows)


def write_probability_map(path: Path, probabilities: np.ndarray) -> None:
    """float32 (rows, cols) map, NaN where no patch was scored."""
    np.save(path, probabilities.astype(np.float32), allow_pickle=False)


def write_mask_png(path: Path, mask: np.ndarray) -> None:
    """The tissue mask as an 8-bit PNG: 255 tissue, 0 background."""
    from PIL import Image

    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(path)


def write_json(path: Path, data: dict) -> None:
    """Indented, sorted JSON."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
