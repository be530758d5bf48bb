"""The patch grid: 96x96 patches every `stride` target pixels from the level-0 origin.

Patch (row, col) has its top-left corner at target pixel (col * stride, row * stride); with
the default stride 32 every 32x32 cell of the slide but the outer ring is the centre of exactly
one patch, as in the PCam label ("tumour in the centre 32x32"). Only patches wholly inside the
slide are on the grid. Blocks group grid patches so that a region is read once and cut in
memory; a block of 32x32 patches at stride 32 is a 1,088 x 1,088 pixel read (3.5 MB): small
enough that the first batches start early, large enough that the 64-pixel overlap of
neighbouring blocks costs ~12% more pixels read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hcd_edge.spec import PATCH_SIZE

DEFAULT_STRIDE = 32  # target pixels between patches: one patch per 32x32 centre cell
BLOCK_PATCHES = 32  # patches per side of a read block (a 1,088-pixel square at stride 32)
MAX_READ_SIDE = 4096  # level pixels per side of one read, at most (64 MB of RGBA from OpenSlide)


@dataclass(frozen=True)
class Grid:
    """Patches on a slide at target resolution, and how they map to level-0 pixels."""

    rows: int
    cols: int
    stride: int  # target pixels
    level0_per_pixel: float  # level-0 pixels per target pixel
    size: int = PATCH_SIZE  # target pixels

    @classmethod
    def for_image(cls, width: int, height: int, stride: int, level0_per_pixel: float) -> Grid:
        """The grid of whole patches in a width x height target-pixel image."""
        if stride < 1:
            raise ValueError(f"stride must be at least 1 pixel, got {stride}")

        def count(extent: int) -> int:
            return (extent - PATCH_SIZE) // stride + 1 if extent >= PATCH_SIZE else 0

        return cls(count(height), count(width), stride, level0_per_pixel)

    @property
    def patch_level0(self) -> float:
        """A patch's side in level-0 pixels."""
        return self.size * self.level0_per_pixel

    @property
    def cell_level0(self) -> float:
        """A grid cell's side (the stride) in level-0 pixels."""
        return self.stride * self.level0_per_pixel

    @property
    def cell_offset(self) -> float:
        """Target pixels from a patch's top-left corner to its centre cell's top-left corner."""
        return (self.size - self.stride) / 2

    def patch_origin(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level-0 (x, y) of the top-left corners of patches (rows, cols), float64."""
        step = self.stride * self.level0_per_pixel
        return np.asarray(cols, np.float64) * step, np.asarray(rows, np.float64) * step

    def cell_origin(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level-0 (x, y) of the top-left corners of the centre cells of patches (rows, cols)."""
        x, y = self.patch_origin(rows, cols)
        shift = self.cell_offset * self.level0_per_pixel
        return x + shift, y + shift


@dataclass(frozen=True)
class Block:
    """Grid patches [row0, row1) x [col0, col1), read as one target-pixel region."""

    row0: int
    row1: int
    col0: int
    col1: int

    def region(self, grid: Grid) -> tuple[int, int, int, int]:
        """(x, y, width, height) in target pixels covering every patch of the block."""
        x, y = self.col0 * grid.stride, self.row0 * grid.stride
        width = (self.col1 - 1 - self.col0) * grid.stride + grid.size
        height = (self.row1 - 1 - self.row0) * grid.stride + grid.size
        return x, y, width, height


def blocks(grid: Grid, per_side: int = BLOCK_PATCHES) -> Iterator[Block]:
    """Blocks of at most per_side x per_side patches covering the grid, row-major."""
    return split_block(Block(0, grid.rows, 0, grid.cols), per_side)


def split_block(block: Block, per_side: int) -> Iterator[Block]:
    """The block cut into blocks of at most per_side x per_side patches, row-major."""
    for row0 in range(block.row0, block.row1, per_side):
        for col0 in range(block.col0, block.col1, per_side):
            yield Block(row0, min(row0 + per_side, block.row1), col0, min(col0 + per_side, block.col1))


def shrink_to(block: Block, selected: np.ndarray) -> Block | None:
    """The smallest block holding the selected patches of `block` (selected: grid-shaped bool)."""
    part = selected[block.row0 : block.row1, block.col0 : block.col1]
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if len(rows) == 0:
        return None
    return Block(block.row0 + int(rows[0]), block.row0 + int(rows[-1]) + 1,
                 block.col0 + int(cols[0]), block.col0 + int(cols[-1]) + 1)


def patches_per_block(stride: int, scale: float, wanted: int = BLOCK_PATCHES,
                      max_side: int = MAX_READ_SIDE) -> int:
    """Patches per block side so that one read stays within max_side level pixels a side.

    scale: level pixels per target pixel (a 0.25 um slide with one level is read at ~3.9).
    """
    fits = int((max_side / max(scale, 1.0) - PATCH_SIZE) // stride) + 1
    return max(1, min(wanted, fits))
