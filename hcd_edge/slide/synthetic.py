"""A generated whole-slide image: a tissue section of generated patches on glass, with a tumour
region, written as a tiled pyramidal TIFF with its um per pixel (for the demo, docs and tests).

It is not tissue: it shows that slide scoring runs end to end, never how a model performs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.spec import PATCH_SIZE, PCAM_MPP
from hcd_edge.synthetic import SynthConfig, generate_patches

GLASS = (238, 236, 240)  # RGB of empty glass: light and unsaturated
TILE = 256  # TIFF tile side


@dataclass(frozen=True)
class SyntheticSlide:
    """What write_synthetic_slide wrote."""

    path: Path
    width: int  # level-0 pixels
    height: int
    mpp: float
    tumour_patches: int  # generated tumour patches placed in the tumour region


def synthetic_slide_image(rows: int, cols: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """RGB uint8 image of rows x cols patch places (plus a glass margin) and the tumour count.

    The section is an ellipse of normal patches holding a smaller ellipse of tumour patches.
    """
    margin = PATCH_SIZE
    image = np.empty((rows * PATCH_SIZE + 2 * margin, cols * PATCH_SIZE + 2 * margin, 3), np.uint8)
    image[:] = GLASS
    r, c = np.mgrid[0:rows, 0:cols]
    u, v = (r + 0.5) / rows * 2 - 1, (c + 0.5) / cols * 2 - 1
    section = u ** 2 + v ** 2 <= 1.0
    tumour = (u + 0.1) ** 2 / 0.16 + (v - 0.25) ** 2 / 0.12 <= 1.0
    kinds = {True: SynthConfig(positive_fraction=1.0), False: SynthConfig(0.0, ring_fraction=0.0)}
    places = {flag: np.argwhere(section & (tumour == flag)) for flag in (True, False)}
    for flag, where in places.items():
        patches = generate_patches(len(where), seed=seed + int(flag), config=kinds[flag]).pixels
        for (i, j), patch in zip(where, patches):
            y, x = margin + i * PATCH_SIZE, margin + j * PATCH_SIZE
            image[y : y + PATCH_SIZE, x : x + PATCH_SIZE] = patch
    return image, len(places[True])


def write_synthetic_slide(path: Path, rows: int = 12, cols: int = 18, seed: int = 0,
                          mpp: float = PCAM_MPP) -> SyntheticSlide:
    """Write a generated section as a 3-level tiled TIFF (deflate) that OpenSlide reads."""
    import tifffile

    image, tumour = synthetic_slide_image(rows, cols, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    per_cm = 1e4 / mpp
    with tifffile.TiffWriter(path) as tw:
        level = image
        for index in range(3):
            options = ({"subfiletype": 1} if index else
                       {"resolution": (per_cm, per_cm), "resolutionunit": "CENTIMETER"})
            tw.write(level, tile=(TILE, TILE), photometric="rgb", compression="zlib", **options)
            level = _halve(level)
    return SyntheticSlide(path, image.shape[1], image.shape[0], mpp, tumour)


def _halve(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).astype(np.uint16)
    return ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)
