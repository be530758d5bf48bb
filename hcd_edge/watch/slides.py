"""Whole-slide files dropped into the watched folder: scored by `hcd-edge slide`'s code, one at a time.

This is the only place the watch touches the slide code (hcd_edge.slide.scan.scan_slide, with
the watch's open executor). Each slide's outputs go to DIR/<slide name>/ (heatmap, GeoJSON,
probability map, summary.json); its row in results.csv carries the slide's highest patch
probability, label 1 when that reaches the threshold, and where the outputs are, or why the
slide was not scored (an error row: never a crash).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from hcd_edge.backends.base import Executor
from hcd_edge.errors import HcdEdgeError
from hcd_edge.score.pipeline import PipelineConfig
from hcd_edge.score.rows import PROBABILITY_FORMAT
from hcd_edge.watch.rows import Row

log = logging.getLogger("hcd_edge.watch")


class SlideStatus(IntEnum):
    """Row statuses of slide files (decode statuses are 1-99, score's row statuses 100-109)."""

    UNAVAILABLE = 110  # slide support (the `slide` extra: OpenSlide, shapely...) is not installed
    FAILED = 111  # the slide code raised: unreadable, truncated or unsupported slide
    NO_TISSUE = 112  # read, but no patch held tissue: nothing to score


@dataclass(frozen=True)
class SlideJob:
    """How the watch scores slides: its executor, threshold and pipeline shape."""

    executor: Executor
    threshold: float
    pipeline: PipelineConfig
    engine: dict  # engine facts for each slide's summary.json


def slide_name(slide: Path) -> str:
    """The output folder name of a slide: its file name without the suffix."""
    return slide.stem or slide.name


def score_slide_file(slide: Path, out: Path, job: SlideJob) -> Row:
    """Score one slide into DIR/<slide name>/ and return its results row (an error row on failure)."""
    name = slide_name(slide)
    try:
        from hcd_edge.slide.deps import require_slide_extra
        from hcd_edge.slide.scan import SlideSettings, scan_slide, staging_folder

        require_slide_extra()
    except (ImportError, HcdEdgeError) as exc:
        message = f"slide support not installed/available ({exc}): {slide}"
        return Row(str(slide), name, "", "", int(SlideStatus.UNAVAILABLE), message)
    from hcd_edge.progress import SilentProgress

    settings = SlideSettings(threshold=job.threshold, pipeline=job.pipeline, engine=job.engine)
    folder = out / name
    try:
        summary = scan_slide(slide, folder, job.executor, settings, SilentProgress())
    except Exception as exc:  # noqa: BLE001 - a bad slide is an error row, never the end of the watch
        shutil.rmtree(staging_folder(folder), ignore_errors=True)
        why = str(exc) if isinstance(exc, HcdEdgeError) else f"{type(exc).__name__}: {exc}"
        log.warning("slide %s not scored: %s", slide, why)
        return Row(str(slide), name, "", "", int(SlideStatus.FAILED), f"{why}: {slide}")
    return _slide_row(slide, name, folder, summary, job.threshold)


def _slide_row(slide: Path, name: str, folder: Path, summary: dict, threshold: float) -> Row:
    best = summary.get("max_probability")
    scored = summary.get("patches_scored", 0)
    if best is None:
        message = f"no tissue patch to score ({scored} patches); outputs in {folder}"
        return Row(str(slide), name, "", "", int(SlideStatus.NO_TISSUE), message)
    message = (f"{scored} patches, {summary.get('tumour_regions', 0)} tumour regions; "
               f"outputs in {folder}")
    label = "1" if best >= threshold else "0"
    return Row(str(slide), name, PROBABILITY_FORMAT.format(best), label, 0, message)
