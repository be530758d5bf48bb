"""Feeding grid patches to the scoring pipeline: read a block, cut patches in memory, fill slots.

The patch iterator runs in the pipeline's decode thread (it is pulled lazily, a batch at a
time), so block reads overlap inference; at most a few blocks are alive at once (the one
being cut, and those whose patches sit in queued slots), whatever the slide's size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from hcd_edge.decode import normalize_patches
from hcd_edge.slide.grid import BLOCK_PATCHES, Grid, blocks, shrink_to
from hcd_edge.slide.reader import SlideReader
from hcd_edge.slide.resolution import ReadPlan, read_target
from hcd_edge.spec import PreprocessSpec


@dataclass(frozen=True)
class PatchCut:
    """One grid patch: its grid position and its pixels (a view into the block read)."""

    row: int
    col: int
    pixels: np.ndarray = field(repr=False)  # uint8 (96, 96, 3)

    def __str__(self) -> str:
        return f"grid patch (row {self.row}, col {self.col})"


@dataclass
class FeedTimes:
    """Seconds spent reading blocks (and resampling them) in the decode thread."""

    read: float = 0.0
    blocks: int = 0
    largest_read: int = 0  # target pixels of the largest block read


def cut_patches(reader: SlideReader, plan: ReadPlan, grid: Grid, selected: np.ndarray,
                times: FeedTimes | None = None, per_side: int = BLOCK_PATCHES) -> Iterator[PatchCut]:
    """The selected grid patches, row-major within blocks, each cut from its block's read."""
    times = times if times is not None else FeedTimes()
    for block in blocks(grid, per_side):
        tight = shrink_to(block, selected)
        if tight is None:
            continue  # no tissue: nothing read
        x, y, width, height = tight.region(grid)
        began = time.perf_counter()
        image = read_target(reader, plan, x, y, width, height)
        times.read += time.perf_counter() - began
        times.blocks += 1
        times.largest_read = max(times.largest_read, width * height)
        part = selected[tight.row0 : tight.row1, tight.col0 : tight.col1]
        for i, j in zip(*np.nonzero(part)):
            top, left = int(i) * grid.stride, int(j) * grid.stride
            yield PatchCut(tight.row0 + int(i), tight.col0 + int(j),
                           image[top : top + grid.size, left : left + grid.size])


def fill_rows(cuts: Sequence[PatchCut], rows: np.ndarray, spec: PreprocessSpec,
              threads: int | None = None) -> np.ndarray:
    """Normalize the cuts' pixels into slot rows[:len(cuts)]; returns int32 statuses (all 0).

    The native normalize_patches reads each cut in place from its block (no gather copy) and
    writes exactly the values the TIFF decoder writes for the same pixels.
    """
    normalize_patches([cut.pixels for cut in cuts], rows, spec=spec, threads=threads)
    return np.zeros(len(cuts), dtype=np.int32)
