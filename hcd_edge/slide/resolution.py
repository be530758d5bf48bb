"""Reading a slide at a wanted resolution: the level to read and the area-averaging resample.

"Target pixels" are pixels at the wanted resolution (the model's 0.972 um for patches; coarser
for thumbnails). The nearest level is read: as it is when it lies within 1% of the wanted
resolution, else resampled by area averaging (PIL's box filter: each output pixel is the
area-weighted mean of the input pixels its footprint covers, fractional edges included, so
blocks read apart and stitched give the same pixels as one read; upsampling a slightly coarser
level, e.g. 1.0 um to 0.972 um, is the same filter enlarging).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hcd_edge.slide.reader import SlideLevel, SlideReader

RESAMPLE_TOLERANCE = 0.01  # a level within 1% of the wanted resolution is read as it is


@dataclass(frozen=True)
class ReadPlan:
    """How target pixels come from a slide: level, resample factor, resulting size."""

    level: int
    downsample: float  # the level's downsample from level 0
    scale: float  # level pixels per target pixel; exactly 1.0 when not resampled
    width: int  # target pixels that lie wholly in the level
    height: int

    @property
    def resampled(self) -> bool:
        """True when target pixels are area averages of level pixels."""
        return self.scale != 1.0

    @property
    def level0_per_pixel(self) -> float:
        """Level-0 pixels per target pixel."""
        return self.downsample * self.scale


def plan_read(levels: tuple[SlideLevel, ...], level0_per_pixel: float,
              tolerance: float = RESAMPLE_TOLERANCE) -> ReadPlan:
    """The plan that yields target pixels of `level0_per_pixel` level-0 pixels each."""
    if not level0_per_pixel > 0:
        raise ValueError(f"level0_per_pixel must be positive, got {level0_per_pixel}")
    # the nearest level on a log scale: 1.0 um is nearer 0.972 um than 0.25 um is
    index = min(range(len(levels)),
                key=lambda i: abs(math.log(levels[i].downsample / level0_per_pixel)))
    level = levels[index]
    close = abs(level.downsample / level0_per_pixel - 1) <= tolerance
    scale = 1.0 if close else level0_per_pixel / level.downsample
    return ReadPlan(index, level.downsample, scale, math.floor(level.width / scale + 1e-9),
                    math.floor(level.height / scale + 1e-9))


def read_target(reader: SlideReader, plan: ReadPlan, x: int, y: int, width: int,
                height: int) -> np.ndarray:
    """RGB uint8 (height, width, 3) of the target-pixel rectangle with top-left (x, y)."""
    if not plan.resampled:
        return reader.read(plan.level, x, y, width, height)
    from PIL import Image

    s = plan.scale
    lx0, ly0, lx1, ly1 = x * s, y * s, (x + width) * s, (y + height) * s
    ix0, iy0 = math.floor(lx0), math.floor(ly0)
    ix1, iy1 = math.ceil(lx1 - 1e-9), math.ceil(ly1 - 1e-9)
    size = (ix1 - ix0, iy1 - iy0)
    image = Image.fromarray(reader.read(plan.level, ix0, iy0, *size), mode="RGB")
    box = (lx0 - ix0, ly0 - iy0, lx1 - ix0, ly1 - iy0)
    return np.asarray(image.resize((width, height), Image.Resampling.BOX, box=box))
