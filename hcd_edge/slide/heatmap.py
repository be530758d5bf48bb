"""heatmap.png: the probability map over the slide thumbnail, with a colour bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hcd_edge.slide.grid import Grid

FIGURE_INCHES = 8.0  # long side of the figure
DPI = 150


def write_heatmap(path: Path, thumbnail: np.ndarray, mask_pixel: int, grid: Grid,
                  probabilities: np.ndarray, title: str, regions: list[dict] | None = None) -> None:
    """Draw probabilities (grid-shaped, NaN = not scored) over the thumbnail and save a PNG.

    regions: GeoJSON features in level-0 pixels (tumour.geojson), outlined in cyan.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = thumbnail.shape[:2]
    aspect = width / max(height, 1)
    size = (FIGURE_INCHES, max(FIGURE_INCHES / aspect, 2.5)) if aspect >= 1 else \
        (max(FIGURE_INCHES * aspect, 3.5), FIGURE_INCHES)
    figure = Figure(figsize=(size[0] + 1.2, size[1]), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(thumbnail, extent=(0, width, height, 0), interpolation="antialiased")
    # Cell (r, c) is the centre cell of patch (r, c): stride pixels wide, offset into the patch.
    left = grid.cell_offset / mask_pixel
    right = left + grid.cols * grid.stride / mask_pixel
    top = grid.cell_offset / mask_pixel
    bottom = top + grid.rows * grid.stride / mask_pixel
    shown = np.ma.masked_invalid(probabilities)
    image = axes.imshow(shown, extent=(left, right, bottom, top), cmap="inferno", vmin=0.0,
                        vmax=1.0, alpha=0.6, interpolation="nearest")
    _outline(axes, regions or [], 1.0 / (mask_pixel * grid.level0_per_pixel))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.set_axis_off()
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="tumour probability")
    # zlib level 1: a third of the encoding time of the default 6 for a ~1.3x larger file
    figure.savefig(path, dpi=DPI, bbox_inches="tight", pil_kwargs={"compress_level": 1})


def _outline(axes, regions: list[dict], scale: float) -> None:
    """Draw the exterior and holes of each region, level-0 pixels scaled to thumbnail pixels."""
    from shapely.geometry import shape

    for feature in regions:
        geometry = shape(feature["geometry"])
        polygons = getattr(geometry, "geoms", [geometry])
        for polygon in polygons:
            for ring in (polygon.exterior, *polygon.interiors):
                xy = np.asarray(ring.coords) * scale
                axes.plot(xy[:, 0], xy[:, 1], color="cyan", linewidth=0.8)
