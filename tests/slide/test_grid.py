"""The patch grid: counts, level-0 coordinates, centre cells, blocks."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.slide.grid import Block, Grid, blocks, patches_per_block, shrink_to


def test_only_whole_patches_are_on_the_grid():
    grid = Grid.for_image(1000, 300, 32, 1.0)
    assert (grid.rows, grid.cols) == ((300 - 96) // 32 + 1, (1000 - 96) // 32 + 1)
    assert Grid.for_image(95, 500, 32, 1.0).cols == 0
    assert Grid.for_image(96, 96, 32, 1.0).rows == 1


def test_level0_coordinates_are_exact_multiples_of_the_stride():
    grid = Grid.for_image(2000, 2000, 32, 2.0)
    x, y = grid.patch_origin(np.array([0, 3]), np.array([5, 0]))
    assert x.tolist() == [320.0, 0.0] and y.tolist() == [0.0, 192.0]
    assert grid.patch_level0 == 192.0 and grid.cell_level0 == 64.0
    cx, cy = grid.cell_origin(np.array([0]), np.array([0]))
    assert (cx[0], cy[0]) == (64.0, 64.0)  # centre 32x32 of a 96x96 patch, in level-0 pixels


def test_every_inner_32_cell_is_the_centre_of_exactly_one_patch():
    grid = Grid.for_image(32 * 12, 32 * 9, 32, 1.0)
    hits = np.zeros((9, 12), int)
    for r in range(grid.rows):
        for c in range(grid.cols):
            top = r * 32 + int(grid.cell_offset)
            left = c * 32 + int(grid.cell_offset)
            hits[top // 32, left // 32] += 1
    assert (hits[1:-1, 1:-1] == 1).all()
    assert hits[0].sum() == 0 and hits[:, 0].sum() == 0


def test_blocks_cover_the_grid_once_and_their_regions_hold_their_patches():
    grid = Grid.for_image(3000, 2000, 32, 1.0)
    seen = np.zeros((grid.rows, grid.cols), int)
    for block in blocks(grid, per_side=16):
        seen[block.row0 : block.row1, block.col0 : block.col1] += 1
        x, y, w, h = block.region(grid)
        assert x == block.col0 * 32 and w == (block.col1 - block.col0 - 1) * 32 + 96
        assert y == block.row0 * 32 and h == (block.row1 - block.row0 - 1) * 32 + 96
    assert (seen == 1).all()


def test_shrink_to_the_selected_patches():
    selected = np.zeros((10, 10), bool)
    assert shrink_to(Block(0, 10, 0, 10), selected) is None
    selected[3, 4] = selected[5, 7] = True
    assert shrink_to(Block(0, 10, 0, 10), selected) == Block(3, 6, 4, 8)


@pytest.mark.parametrize("scale, expected", [(1.0, 32), (1.948, 32), (3.9, 30), (40.0, 1)])
def test_blocks_shrink_so_that_one_read_stays_bounded(scale, expected):
    per_side = patches_per_block(32, scale)
    assert per_side == expected
    assert ((per_side - 1) * 32 + 96) * scale <= 4096 or per_side == 1


def test_the_first_block_is_read_in_smaller_pieces_and_the_grid_still_covered_once():
    from hcd_edge.slide.feed import FIRST_BLOCK_SPLIT, small_first

    grid = Grid.for_image(3000, 2000, 32, 1.0)
    pieces = list(small_first(blocks(grid, per_side=16), per_side=16))
    seen = np.zeros((grid.rows, grid.cols), int)
    for block in pieces:
        seen[block.row0 : block.row1, block.col0 : block.col1] += 1
    assert (seen == 1).all()
    side = 16 // FIRST_BLOCK_SPLIT
    assert pieces[0] == Block(0, side, 0, side)
    assert len(pieces) == len(list(blocks(grid, per_side=16))) - 1 + FIRST_BLOCK_SPLIT ** 2
