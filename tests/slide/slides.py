"""Generated whole-slide images for the slide tests: pyramidal and flat TIFFs with um per pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from tests.builders.patchgen import make_patches

WHITE = 240  # glass: low saturation, light


def blank(height: int, width: int) -> np.ndarray:
    """A glass-coloured RGB canvas."""
    return np.full((height, width, 3), WHITE, dtype=np.uint8)


def tissue_patches(n: int, seed: int = 3) -> np.ndarray:
    """n generated 96x96 H&E-like patches (saturated, so the tissue mask keeps them)."""
    pixels, _ = make_patches(n, seed)
    return pixels


def write_pyramid(path: Path, image: np.ndarray, mpp: float | None, levels: int = 2,
                  tile: int = 128, compression: str | None = "zlib") -> Path:
    """A tiled pyramidal TIFF OpenSlide reads (levels as successive pages, 2x each)."""
    resolution = {} if mpp is None else {"resolution": (1e4 / mpp, 1e4 / mpp),
                                         "resolutionunit": "CENTIMETER"}
    with tifffile.TiffWriter(path) as tw:
        level = image
        for index in range(levels):
            extra = {"subfiletype": 1} if index else resolution
            tw.write(level, tile=(tile, tile), photometric="rgb", compression=compression, **extra)
            level = level[: level.shape[0] // 2 * 2, : level.shape[1] // 2 * 2]
            level = level.reshape(level.shape[0] // 2, 2, level.shape[1] // 2, 2, 3).mean(
                axis=(1, 3)).round().astype(np.uint8)
    return Path(path)


def write_flat(path: Path, image: np.ndarray, mpp: float | None, rows_per_strip: int = 64) -> Path:
    """A strip (untiled) TIFF, which OpenSlide refuses: the tifffile fallback reads it."""
    resolution = {} if mpp is None else {"resolution": (1e4 / mpp, 1e4 / mpp),
                                         "resolutionunit": "CENTIMETER"}
    tifffile.imwrite(path, image, photometric="rgb", rowsperstrip=rows_per_strip,
                     compression="zlib", **resolution)
    return Path(path)


def mosaic(patches: np.ndarray, cols: int, gap: int = 96, margin: int = 96) -> tuple[np.ndarray, list]:
    """Patches tiled on glass every 96 + gap pixels; returns the image and each patch's (x, y)."""
    rows = -(-len(patches) // cols)
    step = 96 + gap
    image = blank(2 * margin + rows * step - gap, 2 * margin + cols * step - gap)
    places = []
    for k, patch in enumerate(patches):
        y, x = margin + (k // cols) * step, margin + (k % cols) * step
        image[y : y + 96, x : x + 96] = patch
        places.append((x, y))
    return image, places
