"""Reading a slide at a wanted resolution: the level to read and the area-averaging resample.

"Target pixels" are pixels at the wanted resolution (the model's 0.972 um for patches; coarser
for thumbnails). A level within 1% of it is read as it is; otherwise the coarsest finer level
is read and averaged down (PIL's box filter: each output pixel is the area-weighted mean of
the input pixels its footprint covers, fractional edges included), so blocks read apart and
stitched give the same pixels as one read.
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
    close = [i for i, lv in enumerate(levels)
             if abs(lv.downsample / level0_per_pixel - 1) <= tolerance]
    if close:
        index = min(close, key=lambda i: abs(levels[i].downsample - level0_per_pixel))
        scale = 1.0
    else:  # the coarsest level finer than wanted (level 0 when even it is coarser: upsampling)
        finer = [i for i, lv in enumerate(levels) if lv.downsample < level0_per_pixel]
        index = max(finer, key=lambda i: levels[i].downsample) if finer else 0
        scale = level0_per_pixel / levels[index].downsample
    level = levels[index]
    return ReadPlan(index, level.downsample, scale, int(math.floor(level.width / scale + 1e-9)),
                    int(math.floor(level.height / scale + 1e-9)))


def read_target(reader: SlideReader, plan: ReadPlan, x: int, y: int, width: int,
                height: int) -> np.ndarray:
    """RGB uint8 (height, width, 3) of the target-pixel rectangle with top-left (x, y)."""
    if not plan.resampled:
        return reader.read(plan.level, x, y, width, height)
    from PIL import Image

    s = plan.scale
    lx0, ly0, lx1, ly1 = x * s, y * s, (x + width) * s, (y + height) * s
    ix0, iy0 = int(math.floor(lx0)), int(math.floor(ly0))
    ix1, iy1 = int(math.ceil(lx1 - 1e-9)), int(math.ceil(ly1 - 1e-9))
    source = reader.read(plan.level, ix0, iy0, ix1 - ix0, iy1 - iy0)
    image = Image.fromarray(source, mode="RGB") if source.size else Image.new("RGB", (1, 1))
    box = (lx0 - ix0, ly0 - iy0, lx1 - ix0, ly1 - iy0)
    return np.asarray(image.resize((width, height), Image.Resampling.BOX, box=box))
