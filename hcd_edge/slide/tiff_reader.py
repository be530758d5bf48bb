"""TIFF pixels decoded with tifffile: slides OpenSlide refuses, and the tiles of those it reads.

Regions are read by decoding only the strips or tiles they overlap, so a 150,000 x 100,000
strip TIFF is never held whole; a small cache keeps recently decoded segments, because
neighbouring blocks of the grid share strips and tiles.

Slides OpenSlide opens as Aperio SVS or generic tiled TIFF are read the same way ("direct
tiles"): OpenSlide still gives the levels and the micrometres per pixel, but the pixels come
from tifffile's codecs, about 4x less CPU per pixel than OpenSlide's read_region (which
composites every tile into premultiplied ARGB; benchmarks/slide.py prints both). The path is
taken only when, at open, a tile of every level decodes to exactly OpenSlide's pixels;
anything else (another vendor, an unexpected layout, one differing pixel) stays with OpenSlide.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from hcd_edge.errors import SlideError
from hcd_edge.slide.reader import BACKGROUND, SlideLevel, mpp_from_tiff_tags

SEGMENT_CACHE_BYTES = 64 * 1024 * 1024  # decoded strips / tiles kept for neighbouring reads
DIRECT_VENDORS = ("aperio", "generic-tiff")  # OpenSlide formats whose levels are plain tiled pages


class TiffSegments:
    """Regions of TIFF pages (one per level) cut from their decoded strips or tiles; thread-safe.

    Segment bytes are read with pread (no shared file position) and decoded outside any lock
    (tifffile's codecs release the GIL), so several reader threads decode at once.
    """

    def __init__(self, path: Path, tif, pages: list, missing_is_background: bool = False):
        self.path, self._tif, self._pages = Path(path), tif, pages
        self._missing_is_background = missing_is_background  # OpenSlide shows absent tiles as glass
        self._fd = os.open(str(path), os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._cache: OrderedDict[tuple[int, int], np.ndarray | None] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def read(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 (height, width, 3) of `level` with top-left (x, y); white outside the image."""
        page = self._pages[level]
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, page.imagewidth), min(y + height, page.imagelength)
        if x1 <= x0 or y1 <= y0:
            return out
        for index in _segments(page, x0, y0, x1, y1):
            seg = self._segment(level, page, index)
            if seg is None:
                continue  # an absent tile: glass
            sy, sx = _segment_origin(page, index)
            ty0, ty1 = max(y0, sy), min(y1, sy + seg.shape[0])
            tx0, tx1 = max(x0, sx), min(x1, sx + seg.shape[1])
            if ty1 > ty0 and tx1 > tx0:
                out[ty0 - y : ty1 - y, tx0 - x : tx1 - x] = seg[ty0 - sy : ty1 - sy, tx0 - sx : tx1 - sx, :3]
        return out

    def close(self) -> None:
        """Close the file descriptor and the TIFF; idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._tif.close()
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0

    def _segment(self, level: int, page, index: int) -> np.ndarray | None:
        key = (level, index)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        seg = self._decode(page, index)
        with self._lock:
            self._remember(key, seg)
        return seg

    def _decode(self, page, index: int) -> np.ndarray | None:
        offset, count = int(page.dataoffsets[index]), int(page.databytecounts[index])
        if count == 0 and self._missing_is_background:
            return None
        if count == 0 or offset + count > self._size:
            raise SlideError(f"{self.path}: segment {index} lies outside the file (truncated?)")
        data = os.pread(self._fd, count, offset)
        try:
            seg, _, _ = page.decode(data, index, jpegtables=page.jpegtables)
        except Exception as exc:  # codecs raise their own types
            raise SlideError(f"{self.path}: segment {index} cannot be decoded: {exc}") from exc
        if seg is None:
            raise SlideError(f"{self.path}: segment {index} cannot be decoded")
        return seg.reshape(seg.shape[-3:])

    def _remember(self, key: tuple[int, int], seg: np.ndarray | None) -> None:
        if key in self._cache:
            return  # another thread decoded it meanwhile
        self._cache[key] = seg
        self._cached_bytes += 0 if seg is None else seg.nbytes
        while self._cached_bytes > SEGMENT_CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= 0 if old is None else old.nbytes


class TiffSlideReader:
    """A TIFF slide read with tifffile: contiguous 8-bit RGB(A), strips or tiles, any codec."""

    vendor = "tifffile"
    thread_safe = True

    def __init__(self, path: Path):
        import tifffile

        self.path = Path(path)
        try:
            tif = tifffile.TiffFile(str(path))
        except Exception as exc:  # tifffile raises many types on corrupt files
            raise SlideError(f"{path}: not a readable TIFF: {type(exc).__name__}: {exc}") from exc
        try:
            try:
                pages = [level.keyframe for level in tif.series[0].levels]
            except Exception as exc:  # same: a corrupt file
                raise SlideError(f"{path}: not a readable TIFF: {type(exc).__name__}: {exc}") from exc
            for page in pages:
                _check_page(self.path, page)
            self._segments = TiffSegments(self.path, tif, pages)
        except SlideError:
            tif.close()
            raise
        base = pages[0]
        self.levels = tuple(
            SlideLevel(int(p.imagewidth), int(p.imagelength), base.imagewidth / p.imagewidth)
            for p in pages
        )
        self.mpp = mpp_from_tiff_tags(base.tags.valueof(282), base.tags.valueof(296),
                                      str(base.tags.valueof(270) or ""))

    def read(self, level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 (height, width, 3) of `level`; white outside the image."""
        return self._segments.read(level, x, y, width, height)

    def close(self) -> None:
        """Close the file."""
        self._segments.close()


def direct_tiles(path: Path, vendor: str, levels: tuple[SlideLevel, ...], read_openslide) -> TiffSegments | None:
    """TiffSegments reading the levels of a slide OpenSlide opened, or None to stay with OpenSlide.

    read_openslide(level, x, y, width, height) -> RGB uint8: OpenSlide's pixels, compared with
    the direct ones on one tile per level before the direct path is trusted.
    """
    if vendor not in DIRECT_VENDORS:
        return None
    import tifffile

    try:
        tif = tifffile.TiffFile(str(path))
    except Exception:  # noqa: BLE001 - OpenSlide reads it; tifffile need not
        return None
    try:
        pages = _level_pages(tif, levels)
        segments = None if pages is None else TiffSegments(path, tif, pages, missing_is_background=True)
    except Exception:  # noqa: BLE001 - any surprise in the layout: OpenSlide reads it
        segments = None
    if segments is None or pages is None:
        tif.close()
        return None
    if not _agrees(segments, pages, read_openslide):
        segments.close()
        return None
    return segments


def _level_pages(tif, levels: tuple[SlideLevel, ...]) -> list | None:
    """The tiled top-level page of each OpenSlide level (same size), or None when one lacks one."""
    pages = []
    for level in levels:
        match = [p for p in tif.pages if p.is_tiled and p.imagewidth == level.width
                 and p.imagelength == level.height and _plain_rgb(p)]
        if len(match) != 1:
            return None
        pages.append(match[0])
    return pages


def _plain_rgb(page) -> bool:
    return (page.dtype == np.uint8 and page.samplesperpixel == 3 and page.planarconfig == 1
            and page.imagedepth == 1)


def _agrees(segments: TiffSegments, pages: list, read_openslide) -> bool:
    """True when the centre tile of every level decodes to OpenSlide's pixels exactly."""
    for level, page in enumerate(pages):
        tiles_down = -(-page.imagelength // page.tilelength)
        tiles_across = -(-page.imagewidth // page.tilewidth)
        x, y = (tiles_across // 2) * page.tilewidth, (tiles_down // 2) * page.tilelength
        width = min(page.tilewidth, page.imagewidth - x)
        height = min(page.tilelength, page.imagelength - y)
        try:
            direct = segments.read(level, x, y, width, height)
        except SlideError:
            return False
        if not np.array_equal(direct, read_openslide(level, x, y, width, height)):
            return False
    return True


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
