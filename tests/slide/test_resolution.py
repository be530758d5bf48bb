"""Choosing the level to read and resampling by area averaging."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.slide.reader import SlideLevel
from hcd_edge.slide.resolution import plan_read, read_target

PYRAMID = (SlideLevel(8000, 6000, 1.0), SlideLevel(2000, 1500, 4.0), SlideLevel(500, 375, 16.0))


class ArrayReader:
    """A one-level in-memory slide that records the regions asked for."""

    def __init__(self, image):
        self.image, self.calls = image, []
        self.levels = (SlideLevel(image.shape[1], image.shape[0], 1.0),)

    def read(self, level, x, y, width, height):
        self.calls.append((level, x, y, width, height))
        out = np.full((height, width, 3), 255, np.uint8)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, self.image.shape[1]), min(y + height, self.image.shape[0])
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self.image[y0:y1, x0:x1]
        return out


def test_a_level_within_one_percent_is_read_without_resampling():
    plan = plan_read(PYRAMID, 4.03)  # e.g. a 0.2412 um slide read at 0.972: level 1 is 0.75% off
    assert (plan.level, plan.scale, plan.resampled) == (1, 1.0, False)
    assert plan.level0_per_pixel == 4.0
    assert (plan.width, plan.height) == (2000, 1500)


def test_otherwise_the_nearest_level_is_resampled():
    plan = plan_read(PYRAMID, 1.948)  # a 0.499 um slide (20x) read at 0.972 um: averaged down
    assert plan.level == 0 and plan.resampled
    assert plan.scale == pytest.approx(1.948)
    assert (plan.width, plan.height) == (int(8000 / 1.948), int(6000 / 1.948))
    assert (plan_read(PYRAMID, 6.0).level, plan_read(PYRAMID, 6.0).scale) == (1, 1.5)
    assert plan_read(PYRAMID, 40.0).level == 2
    near = plan_read(PYRAMID, 3.888)  # a 0.25 um slide (40x): level 1 is 1.0 um, 2.9% coarser
    assert near.level == 1 and near.scale == pytest.approx(0.972)
    assert near.level0_per_pixel == pytest.approx(3.888)


def test_a_slide_coarser_than_the_model_is_upsampled_from_level_0():
    plan = plan_read(PYRAMID, 0.5)
    assert plan.level == 0 and plan.scale == 0.5 and plan.width == 16000


def test_area_averaging_of_an_integer_factor_is_the_block_mean():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    reader = ArrayReader(image)
    plan = plan_read(reader.levels, 2.0)
    got = read_target(reader, plan, 0, 0, 32, 32)
    want = image.reshape(32, 2, 32, 2, 3).astype(np.float64).mean(axis=(1, 3))
    error = np.abs(got.astype(np.float64) - want)
    # PIL averages rows then columns, rounding to 8 bits after each pass: within one level
    assert error.max() <= 1.0 and error.mean() < 0.5


def test_blocks_read_apart_stitch_into_the_single_read():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    reader = ArrayReader(image)
    plan = plan_read(reader.levels, 1.948)
    whole = read_target(reader, plan, 0, 0, 200, 200)
    pieces = np.zeros_like(whole)
    for y in range(0, 200, 64):
        for x in range(0, 200, 64):
            h, w = min(64, 200 - y), min(64, 200 - x)
            pieces[y : y + h, x : x + w] = read_target(reader, plan, x, y, w, h)
    # PIL computes each output pixel from its own footprint: at most a rounding step apart
    assert np.abs(whole.astype(int) - pieces.astype(int)).max() <= 1
    assert np.mean(whole != pieces) < 0.01


def test_a_flat_region_keeps_its_colour_at_a_fractional_factor():
    image = np.zeros((300, 300, 3), np.uint8)
    image[:] = (200, 120, 180)
    reader = ArrayReader(image)
    got = read_target(reader, plan_read(reader.levels, 1.948), 5, 7, 100, 100)
    assert (got == (200, 120, 180)).all()
    assert max(w * h for *_, w, h in reader.calls) <= 197 * 197
