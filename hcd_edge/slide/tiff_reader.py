"""Slides OpenSlide refuses (flat or strip TIFFs, SubIFD pyramids) read with tifffile.

Regions are read by decoding only the strips or tiles they overlap, so a 150,000 x 100,000
strip TIFF is never held whole; a small cache keeps recently decoded segments, because
neighbouring blocks of the grid share strips.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from hcd_edge.errors import SlideError
from hcd_edge.slide.reader import BACKGROUND, SlideLevel, mpp_from_tiff_tags

SEGMENT_CACHE_BYTES = 64 * 1024 * 1024  # decoded strips / tiles kept for neighbouring reads


class TiffSlideReader:
    """A TIFF slide read with tifffile: contiguous 8-bit RGB(A), strips or tiles, any codec."""

    vendor = "tifffile"

    def __init__(self, path: Path):
        import tifffile

        self.path = Path(path)
        try:
            self._tif = tifffile.TiffFile(str(path))
            series = self._tif.series[0]
            self._pages = [level.keyframe for level in series.levels]
        except Exception as exc:  # tifffile raises many types on corrupt files
            raise SlideError(f"{path}: not a readable TIFF: {type(exc).__name__}: {exc}") from exc
        try:
            for page in self._pages:
                _check_page(self.path, page)
        except SlideError:
            self._tif.close()
            raise
        base = self._pages[0]
        self.levels = tuple(
            SlideLevel(int(p.imagewidth), int(p.imagelength), base.imagewidth / p.imagewidth)
            for p in self._pages
        )
        self.mpp = mpp_from_tiff_tags(base.tags.valueof(282), base.tags.valueof(296),
                                      str(base.tags.valueof(270) or ""))
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._cached_bytes = 0

    def read(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 (height, width, 3) of `level`; white outside the image."""
        page = self._pages[level]
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, page.imagewidth), min(y + height, page.imagelength)
        if x1 <= x0 or y1 <= y0:
            return out
        for index in _segments(page, x0, y0, x1, y1):
            seg, sy, sx = self._segment(level, page, index)
            ty0, ty1 = max(y0, sy), min(y1, sy + seg.shape[0])
            tx0, tx1 = max(x0, sx), min(x1, sx + seg.shape[1])
            if ty1 > ty0 and tx1 > tx0:
                out[ty0 - y : ty1 - y, tx0 - x : tx1 - x] = seg[ty0 - sy : ty1 - sy, tx0 - sx : tx1 - sx, :3]
        return out

    def close(self) -> None:
        """Close the file."""
        self._tif.close()
        self._cache.clear()

    def _segment(self, level: int, page, index: int) -> tuple[np.ndarray, int, int]:
        key = (level, index)
        if key in self._cache:
            self._cache.move_to_end(key)
            seg = self._cache[key]
        else:
            seg = self._decode(page, index)
            self._remember(key, seg)
        origin = _segment_origin(page, index)
        return seg, origin[0], origin[1]

    def _decode(self, page, index: int) -> np.ndarray:
        offset, count = int(page.dataoffsets[index]), int(page.databytecounts[index])
        if count == 0 or offset + count > self._tif.filehandle.size:
            raise SlideError(f"{self.path}: segment {index} lies outside the file (truncated?)")
        fh = self._tif.filehandle
        with fh.lock:
            fh.seek(offset)
            data = fh.read(count)
        try:
            seg, _, _ = page.decode(data, index, jpegtables=page.jpegtables)
        except Exception as exc:  # codecs raise their own types
            raise SlideError(f"{self.path}: segment {index} cannot be decoded: {exc}") from exc
        if seg is None:
            raise SlideError(f"{self.path}: segment {index} cannot be decoded")
        return seg.reshape(seg.shape[-3:])

    def _remember(self, key: tuple[int, int], seg: np.ndarray) -> None:
        self._cache[key] = seg
        self._cached_bytes += seg.nbytes
        while self._cached_bytes > SEGMENT_CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.nbytes


def _check_page(path: Path, page) -> None:
    if page.dtype != np.uint8 or page.samplesperpixel not in (3, 4) or page.planarconfig != 1:
        raise SlideError(
            f"{path}: {page.samplesperpixel}-sample {page.dtype} TIFF (planar config "
            f"{int(page.planarconfig)}); slides must be interleaved 8-bit RGB or RGBA"
        )


def _segment_grid(page) -> tuple[int, int]:
    """(segment height, segment width) of a tiled or stripped page."""
    if page.is_tiled:
        return int(page.tilelength), int(page.tilewidth)
    return int(min(page.rowsperstrip, page.imagelength)), int(page.imagewidth)


def _segment_origin(page, index: int) -> tuple[int, int]:
    sh, sw = _segment_grid(page)
    across = -(-page.imagewidth // sw)
    return (index // across) * sh, (index % across) * sw


def _segments(page, x0: int, y0: int, x1: int, y1: int) -> list[int]:
    """Indices of the segments overlapping the region [x0, x1) x [y0, y1)."""
    sh, sw = _segment_grid(page)
    across = -(-page.imagewidth // sw)
    return [r * across + c for r in range(y0 // sh, (y1 - 1) // sh + 1)
            for c in range(x0 // sw, (x1 - 1) // sw + 1)]
