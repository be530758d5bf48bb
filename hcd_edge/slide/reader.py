"""Opening a whole-slide image: OpenSlide first, tifffile for the TIFFs OpenSlide refuses.

Every reader returns RGB uint8 regions of one pyramid level, in that level's pixels, with
white where the request leaves the image (or where OpenSlide has no scanned data), so the
rest of the package never sees alpha, bounds or vendors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from hcd_edge.errors import SlideError
from hcd_edge.slide.deps import require

BACKGROUND = 255  # value of pixels outside the scanned area: white glass
MPP_RANGE = (0.01, 1000.0)  # micrometres per pixel a real scan can have; outside means "unknown"
TIFF_SUFFIXES = (".tif", ".tiff", ".btf")


@dataclass(frozen=True)
class SlideLevel:
    """One pyramid level: its size in its own pixels and its downsample from level 0."""

    width: int
    height: int
    downsample: float


class SlideReader(Protocol):
    """What the slide package needs from a slide file."""

    path: Path
    levels: tuple[SlideLevel, ...]
    mpp: float | None  # level-0 micrometres per pixel from the file, None when it does not say
    vendor: str  # "aperio", "generic-tiff", "tifffile", ...

    def read(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 (height, width, 3) of `level` with top-left (x, y) in that level's pixels."""

    def close(self) -> None:
        """Release the file."""


def open_slide(path: Path) -> SlideReader:
    """A reader for the slide at path; raises SlideError saying why it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise SlideError(f"{path}: not a file")
    openslide = require("openslide")
    try:
        return OpenSlideReader(path, openslide.OpenSlide(str(path)))
    except openslide.OpenSlideUnsupportedFormatError:
        if path.suffix.lower() not in TIFF_SUFFIXES:
            raise SlideError(f"{path}: not a slide format OpenSlide reads (SVS, NDPI, MRXS, SCN, "
                             "tiled TIFF, ...) and not a TIFF") from None
    except openslide.OpenSlideError as exc:
        raise SlideError(f"{path}: OpenSlide cannot read it: {exc}") from exc
    from hcd_edge.slide.tiff_reader import TiffSlideReader

    return TiffSlideReader(path)


class OpenSlideReader:
    """A slide read through OpenSlide (openslide-python + openslide-bin)."""

    thread_safe = True  # OpenSlide handles may be read from several threads at once

    def __init__(self, path: Path, slide, direct: bool = True):
        self.path, self._slide = path, slide
        self.levels = tuple(
            SlideLevel(int(w), int(h), float(ds))
            for (w, h), ds in zip(slide.level_dimensions, slide.level_downsamples)
        )
        props = slide.properties
        self.mpp = plausible_mpp(props.get("openslide.mpp-x"))
        self.vendor = str(props.get("openslide.vendor", "openslide"))
        self._direct = None
        if direct:
            from hcd_edge.slide.tiff_reader import direct_tiles

            self._direct = direct_tiles(path, self.vendor, self.levels, self._read_openslide)

    @property
    def decoder(self) -> str:
        """Who decodes the pixels: "tifffile" (direct tiles, see tiff_reader) or "openslide"."""
        return "tifffile" if self._direct is not None else "openslide"

    def read(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 (height, width, 3); transparent (unscanned) pixels become white."""
        if self._direct is not None:
            return self._direct.read(level, x, y, width, height)
        return self._read_openslide(level, x, y, width, height)

    def _read_openslide(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        ds = self.levels[level].downsample
        location = (round(x * ds), round(y * ds))
        return np.asarray(flatten_alpha(self._slide.read_region(location, level, (int(width), int(height)))))

    def close(self) -> None:
        """Close the OpenSlide handle (and the direct tiles' file)."""
        if self._direct is not None:
            self._direct.close()
        self._slide.close()


def flatten_alpha(rgba):
    """A PIL RGB image of a non-premultiplied RGBA image (OpenSlide's) composited over white."""
    from PIL import Image

    if rgba.getchannel("A").getextrema()[0] < 255:  # a border or a missing tile: blend it
        white = Image.new("RGBA", rgba.size, (BACKGROUND,) * 4)
        rgba = Image.alpha_composite(white, rgba)
    return rgba.convert("RGB")


def plausible_mpp(value) -> float | None:
    """A micrometres-per-pixel property as a float, or None when absent or implausible."""
    try:
        mpp = float(value)
    except (TypeError, ValueError):
        return None
    return mpp if math.isfinite(mpp) and MPP_RANGE[0] <= mpp <= MPP_RANGE[1] else None


def mpp_from_tiff_tags(resolution, unit, description: str = "") -> float | None:
    """Level-0 micrometres per pixel from TIFF XResolution/ResolutionUnit (or an Aperio MPP = x)."""
    match = re.search(r"\bMPP\s*=\s*([0-9.eE+-]+)", description or "")
    if match:
        return plausible_mpp(match.group(1))
    per_unit = {2: 25_400.0, 3: 10_000.0}.get(int(unit or 1))  # micrometres per inch / cm
    if per_unit is None or resolution is None:
        return None
    try:
        numerator, denominator = resolution
        pixels_per_unit = numerator / denominator
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return plausible_mpp(per_unit / pixels_per_unit) if pixels_per_unit > 0 else None
