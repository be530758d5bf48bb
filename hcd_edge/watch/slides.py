"""Whole-slide files dropped into the watched folder: scored by `hcd-edge slide`'s code, one at a time.

This is the only place the watch touches the slide code; each slide's outputs go to
DIR/<slide name>/ and its row in results.csv says where they are, or why it was not scored.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from pathlib import Path

from hcd_edge.score.rows import Row

log = logging.getLogger("hcd_edge.watch")


class SlideStatus(IntEnum):
    """Row statuses of slide files (decode statuses are 1-99, score's row statuses 100-109)."""

    UNAVAILABLE = 110  # slide support (hcd_edge.slide, OpenSlide) is not installed here
    FAILED = 111  # the slide code raised: unreadable, truncated or unsupported slide


def slide_out_dir(out: Path, slide: Path) -> Path:
    """DIR/<slide file name without its extension>/."""
    return out / slide.name.rsplit(".", 1)[0]


def score_slide_file(slide: Path, out: Path, engine: Path, threads: int | None) -> Row:
    """Score one slide into DIR/<slide>/ and return its results row (an error row on failure)."""
    slide_id = slide.name.rsplit(".", 1)[0]
    try:
        import hcd_edge.slide  # noqa: F401 - probe: slide support lives in its own package
    except ImportError as exc:
        message = f"slide support not installed/available ({exc}): {slide}"
        return Row(str(slide), slide_id, "", "", int(SlideStatus.UNAVAILABLE), message)
    message = f"slide support not installed/available (no slide entry point in hcd_edge.slide): {slide}"
    return Row(str(slide), slide_id, "", "", int(SlideStatus.UNAVAILABLE), message)
