"""Background masking on a thumbnail, so that glass is never scored.

The thumbnail is the slide at `mask_pixel` target pixels per thumbnail pixel (8 by default:
7.8 um at the model's 0.972 um), built block by block. A thumbnail pixel is tissue when its
HSV saturation, (max - min) / max of R, G, B, reaches a threshold: 0.07 by default (PCam's rule
for "no tissue": maximum saturation below 0.07), or a per-slide Otsu threshold. A grid patch is
scored when at least `min_fraction` of its centre cell is tissue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from hcd_edge.slide.grid import MAX_READ_SIDE, Grid
from hcd_edge.slide.reader import SlideReader
from hcd_edge.slide.resolution import ReadPlan, plan_read, read_target

MASK_PIXEL = 8  # target pixels per thumbnail pixel (at least)
MASK_MAX_SIDE = 4096  # thumbnail pixels on the long side (at most); coarser for huge slides
THUMB_BLOCK = 1024  # thumbnail pixels per side of one read (fewer when that is many level pixels)


class TissueMethod(str, Enum):
    """How the saturation threshold is chosen."""

    SATURATION = "saturation"  # a fixed threshold (default 0.07, PCam's)
    OTSU = "otsu"  # Otsu's threshold on this slide's saturation histogram
    NONE = "none"  # no mask: every grid patch is scored


@dataclass(frozen=True)
class TissueConfig:
    """Tissue-mask settings (the CLI's --tissue, --saturation, --min-tissue)."""

    method: TissueMethod = TissueMethod.SATURATION
    saturation: float = 0.07  # threshold for SATURATION
    min_fraction: float = 0.25  # of a patch's centre cell that must be tissue for it to be scored

    def __post_init__(self) -> None:
        if not 0.0 <= self.saturation <= 1.0 or not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError("saturation and min_fraction must lie in [0, 1]")


@dataclass
class TissueMask:
    """The thumbnail, its mask and the threshold used."""

    thumbnail: np.ndarray  # RGB uint8 (h, w, 3)
    mask: np.ndarray  # bool (h, w): True = tissue
    mask_pixel: int  # target pixels per thumbnail pixel
    threshold: float  # saturation threshold applied

    @property
    def fraction(self) -> float:
        """Fraction of thumbnail pixels that are tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0


def mask_pixel_for(width: int, height: int) -> int:
    """Target pixels per thumbnail pixel for a width x height target image."""
    return max(MASK_PIXEL, math.ceil(max(width, height) / MASK_MAX_SIDE))


def thumbnail(reader: SlideReader, plan: ReadPlan, mask_pixel: int) -> np.ndarray:
    """RGB uint8 thumbnail of the plan's target image at mask_pixel target pixels per pixel."""
    thumb_plan = plan_read(reader.levels, plan.level0_per_pixel * mask_pixel, tolerance=0.0)
    height, width = -(-plan.height // mask_pixel), -(-plan.width // mask_pixel)
    out = np.empty((height, width, 3), dtype=np.uint8)
    step = max(1, min(THUMB_BLOCK, int(MAX_READ_SIDE // max(thumb_plan.scale, 1.0))))
    for y in range(0, height, step):
        for x in range(0, width, step):
            h, w = min(step, height - y), min(step, width - x)
            out[y : y + h, x : x + w] = read_target(reader, thumb_plan, x, y, w, h)
    return out


def saturation(rgb: np.ndarray) -> np.ndarray:
    """HSV saturation (max - min) / max of RGB uint8 pixels, float32 in [0, 1] (0 for black)."""
    hi = rgb.max(axis=-1).astype(np.float32)
    lo = rgb.min(axis=-1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hi > 0, (hi - lo) / hi, np.float32(0))


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in [0, 1]: the cut that maximizes between-class variance."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    if hist.sum() == 0:
        return 1.0
    p = hist.astype(np.float64) / hist.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    total = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - m0) ** 2 / (w0 * (1 - w0))
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


def tissue_mask(reader: SlideReader, plan: ReadPlan, config: TissueConfig) -> TissueMask:
    """Thumbnail and tissue mask of the slide at the plan's resolution."""
    m = mask_pixel_for(plan.width, plan.height)
    thumb = thumbnail(reader, plan, m)
    sat = saturation(thumb)
    if config.method is TissueMethod.NONE:
        return TissueMask(thumb, np.ones(sat.shape, bool), m, 0.0)
    threshold = otsu_threshold(sat) if config.method is TissueMethod.OTSU else config.saturation
    return TissueMask(thumb, sat >= threshold, m, threshold)


def cell_fractions(mask: TissueMask, grid: Grid) -> np.ndarray:
    """Tissue fraction of each grid patch's centre cell, float32 (rows, cols)."""
    sums = np.zeros((mask.mask.shape[0] + 1, mask.mask.shape[1] + 1), dtype=np.int32)  # < 2^31 px
    sums[1:, 1:] = mask.mask.cumsum(axis=0, dtype=np.int32).cumsum(axis=1, dtype=np.int32)
    y0, y1 = _cell_spans(grid.rows, grid, mask.mask_pixel, mask.mask.shape[0])
    x0, x1 = _cell_spans(grid.cols, grid, mask.mask_pixel, mask.mask.shape[1])
    inside = (sums[np.ix_(y1, x1)] - sums[np.ix_(y0, x1)] - sums[np.ix_(y1, x0)]
              + sums[np.ix_(y0, x0)])
    area = np.outer(y1 - y0, x1 - x0)
    return (inside / np.maximum(area, 1)).astype(np.float32)


def _cell_spans(count: int, grid: Grid, mask_pixel: int, extent: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) thumbnail indices of the centre cells of `count` patches along one axis."""
    low = (np.arange(count) * grid.stride + grid.cell_offset) / mask_pixel
    high = low + grid.stride / mask_pixel
    start = np.clip(np.floor(low + 0.5).astype(np.int64), 0, max(extent - 1, 0))
    end = np.clip(np.maximum(np.floor(high + 0.5).astype(np.int64), start + 1), 0, extent)
    return start, end
