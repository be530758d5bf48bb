"""Feeding grid patches to the scoring pipeline: read a block, cut patches in memory, fill slots.

The patch iterator runs in the pipeline's decode thread (it is pulled lazily, a batch at a
time), and blocks are read ahead in a reader thread, so block reads overlap inference; at most
a few blocks are alive at once (those being read, the one being cut, and those whose patches
sit in queued slots), whatever the slide's size.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from hcd_edge.decode import default_threads, normalize_patches
from hcd_edge.slide.grid import BLOCK_PATCHES, Block, Grid, blocks, shrink_to, split_block
from hcd_edge.slide.reader import SlideReader
from hcd_edge.slide.resolution import ReadPlan, read_target
from hcd_edge.spec import PreprocessSpec

MAX_READ_THREADS = 4  # blocks read at once, each by its own thread (one more waits queued)
FIRST_BLOCK_SPLIT = 4  # the first block is read as 4 x 4 smaller ones (see small_first)


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
    """The selected grid patches, row-major within blocks, each cut from its block's read.

    Blocks are read ahead in reader threads (OpenSlide and the codecs release the GIL), so
    decoding the next blocks overlaps cutting, normalizing and inference of this one.
    """
    times = times if times is not None else FeedTimes()
    tights = (t for t in (shrink_to(b, selected) for b in small_first(blocks(grid, per_side), per_side))
              if t is not None)
    workers = read_threads(reader)
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hcd-edge-read") as pool:
        pending: deque = deque()

        def read_ahead() -> None:
            block = next(tights, None)
            if block is not None:
                pending.append((block, pool.submit(_read_block, reader, plan, grid, block,
                                                   times, lock)))

        for _ in range(workers + 1):
            read_ahead()
        while pending:
            block, future = pending.popleft()
            image = future.result()
            read_ahead()
            part = selected[block.row0 : block.row1, block.col0 : block.col1]
            for i, j in zip(*np.nonzero(part)):
                top, left = int(i) * grid.stride, int(j) * grid.stride
                yield PatchCut(block.row0 + int(i), block.col0 + int(j),
                               image[top : top + grid.size, left : left + grid.size])


def small_first(grid_blocks: Iterator[Block], per_side: int) -> Iterator[Block]:
    """The blocks, the first cut into FIRST_BLOCK_SPLIT^2 smaller ones: inference starts after a
    small read instead of waiting for a whole block (most of a small slide)."""
    first = next(grid_blocks, None)
    if first is None:
        return
    yield from split_block(first, max(1, -(-per_side // FIRST_BLOCK_SPLIT)))
    yield from grid_blocks


def read_threads(reader: SlideReader) -> int:
    """Reader threads: up to MAX_READ_THREADS for a thread-safe reader (OpenSlide) on a machine
    with cores to spare (a GPU box, where reading is what must keep up), else one."""
    if not getattr(reader, "thread_safe", False):
        return 1
    return max(1, min(MAX_READ_THREADS, default_threads() - 1))


def _read_block(reader: SlideReader, plan: ReadPlan, grid: Grid, block: Block,
                times: FeedTimes, lock: threading.Lock) -> np.ndarray:
    x, y, width, height = block.region(grid)
    began = time.perf_counter()
    image = read_target(reader, plan, x, y, width, height)
    with lock:
        times.read += time.perf_counter() - began
        times.blocks += 1
        times.largest_read = max(times.largest_read, width * height)
    return image


def fill_rows(cuts: Sequence[PatchCut], rows: np.ndarray, spec: PreprocessSpec,
              threads: int | None = None) -> np.ndarray:
    """Normalize the cuts' pixels into slot rows[:len(cuts)]; returns int32 statuses (all 0).

    The native normalize_patches reads each cut in place from its block (no gather copy) and
    writes exactly the values the TIFF decoder writes for the same pixels.
    """
    normalize_patches([cut.pixels for cut in cuts], rows, spec=spec, threads=threads)
    return np.zeros(len(cuts), dtype=np.int32)
