"""Scoring one slide: plan the read, mask tissue, run the grid through the pipeline, write its folder."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from hcd_edge.backends.base import Executor
from hcd_edge.errors import SlideError
from hcd_edge.progress import ProgressReporter
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.slide import outputs
from hcd_edge.slide.feed import FeedTimes, cut_patches, fill_rows
from hcd_edge.slide.grid import BLOCK_PATCHES, DEFAULT_STRIDE, Grid, patches_per_block
from hcd_edge.slide.reader import SlideReader, open_slide
from hcd_edge.slide.resolution import RESAMPLE_TOLERANCE, ReadPlan, plan_read
from hcd_edge.slide.tissue import TissueConfig, TissueMask, cell_fractions, tissue_mask

STAGING_SUFFIX = ".partial"


@dataclass(frozen=True)
class SlideSettings:
    """What every slide of a run is scored with."""

    threshold: float
    pipeline: PipelineConfig
    stride: int = DEFAULT_STRIDE
    mpp: float | None = None  # level-0 micrometres per pixel overriding the slide's own
    tissue: TissueConfig = field(default_factory=TissueConfig)
    block_patches: int = BLOCK_PATCHES
    engine: dict = field(default_factory=dict)  # engine facts for summary.json


@dataclass
class Geometry:
    """Where a slide's patches come from: um/px used, read plan, grid."""

    mpp: float  # level-0 micrometres per pixel used
    mpp_source: str  # "slide" | "--mpp"
    plan: ReadPlan
    grid: Grid


def staging_folder(folder: Path) -> Path:
    """Where a slide's files are written before the folder is renamed into place."""
    return folder.with_name(folder.name + STAGING_SUFFIX)


def scan_slide(path: Path, folder: Path, executor: Executor, settings: SlideSettings,
               progress: ProgressReporter) -> dict:
    """Score the slide at path into `folder` (replaced when complete); returns its summary."""
    stages: dict[str, float] = {}
    began = time.perf_counter()
    reader = open_slide(Path(path))
    stages["open"] = time.perf_counter() - began
    try:
        geometry = slide_geometry(reader, executor.spec.mpp, settings.mpp, settings.stride)
        tick = time.perf_counter()
        mask, selected = select_patches(reader, geometry, settings.tissue)
        stages["tissue"] = time.perf_counter() - tick
        tick = time.perf_counter()
        probabilities, feed, pipeline = _score_grid(reader, geometry, selected, executor,
                                                    settings, progress, Path(path).name)
        stages["scoring"] = time.perf_counter() - tick
    finally:
        reader.close()
    stages.update(read=feed.read, normalize=pipeline.times.decode,
                  inference=pipeline.times.inference + pipeline.times.copy, wait=pipeline.times.wait)
    tick = time.perf_counter()
    staging, summary = _write_files(Path(path), folder, reader, geometry, mask, probabilities,
                                    settings, feed)
    stages["write"] = time.perf_counter() - tick
    wall = time.perf_counter() - began
    summary.update(seconds={k: round(v, 4) for k, v in stages.items()}, wall_seconds=round(wall, 4))
    scored = summary["patches_scored"]
    summary["patches_per_second"] = round(scored / wall, 2) if wall > 0 else None
    # the grid alone (block reads, cutting, normalizing, inference): comparable with `score`
    grid_seconds = stages["scoring"]
    summary["scoring_patches_per_second"] = round(scored / grid_seconds, 2) if grid_seconds > 0 else None
    outputs.write_json(staging / outputs.SUMMARY_JSON, summary)
    _replace(staging, folder)
    return summary


def slide_geometry(reader: SlideReader, model_mpp: float, mpp: float | None = None,
                   stride: int = DEFAULT_STRIDE) -> Geometry:
    """The read plan and grid of a slide at the model's um/px; mpp overrides the slide's own."""
    used = mpp if mpp is not None else reader.mpp
    if used is None:
        raise SlideError(
            f"{reader.path}: the slide does not say its micrometres per pixel; pass --mpp X "
            "(e.g. 0.25 for a 40x scan, 0.5 for 20x)"
        )
    plan = plan_read(reader.levels, model_mpp / used)
    grid = Grid.for_image(plan.width, plan.height, stride, plan.level0_per_pixel)
    if grid.rows == 0 or grid.cols == 0:
        raise SlideError(f"{reader.path}: {plan.width}x{plan.height} pixels at {model_mpp} um/px "
                         "is smaller than one 96x96 patch")
    return Geometry(used, "--mpp" if mpp is not None else "slide", plan, grid)


def select_patches(reader: SlideReader, geometry: Geometry,
                   config: TissueConfig) -> tuple[TissueMask, np.ndarray]:
    """The tissue mask and the grid-shaped bool of the patches to score."""
    mask = tissue_mask(reader, geometry.plan, config)
    selected = cell_fractions(mask, geometry.grid) >= max(config.min_fraction, 1e-9)
    return mask, selected


def _score_grid(reader: SlideReader, geometry: Geometry, selected: np.ndarray,
                executor: Executor, settings: SlideSettings, progress: ProgressReporter,
                task: str) -> tuple[np.ndarray, FeedTimes, ScoringPipeline]:
    grid = geometry.grid
    probabilities = np.full((grid.rows, grid.cols), np.nan, dtype=np.float32)
    feed = FeedTimes()
    pipeline = ScoringPipeline(executor, settings.pipeline)
    per_side = patches_per_block(grid.stride, geometry.plan.scale, settings.block_patches)
    cuts = cut_patches(reader, geometry.plan, grid, selected, feed, per_side)
    progress.start(task, int(selected.sum()))
    try:
        fill = partial(fill_rows, spec=executor.spec, threads=settings.pipeline.decode_threads)
        for result in pipeline.run(cuts, fill=fill):
            rows = np.fromiter((c.row for c in result.paths), np.int64, len(result))
            cols = np.fromiter((c.col for c in result.paths), np.int64, len(result))
            probabilities[rows, cols] = result.probabilities
            progress.advance(task, len(result))
    finally:
        progress.finish(task)
    return probabilities, feed, pipeline


def _write_files(path: Path, folder: Path, reader: SlideReader, geometry: Geometry,
                 mask: TissueMask, probabilities: np.ndarray, settings: SlideSettings,
                 feed: FeedTimes) -> tuple[Path, dict]:
    """Every file but summary.json, in the staging folder; returns it and the summary so far."""
    from hcd_edge.slide.geojson import tumour_regions, write_geojson
    from hcd_edge.slide.heatmap import write_heatmap

    staging = staging_folder(folder)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    grid, threshold = geometry.grid, settings.threshold
    scored = outputs.write_patches_csv(staging / outputs.PATCHES_CSV, grid, probabilities, threshold)
    outputs.write_probability_map(staging / outputs.PROBABILITY_NPY, probabilities)
    outputs.write_mask_png(staging / outputs.TISSUE_PNG, mask.mask)
    features = tumour_regions(grid, probabilities, threshold, geometry.mpp)
    write_geojson(staging / outputs.TUMOUR_GEOJSON, features)
    write_heatmap(staging / outputs.HEATMAP_PNG, mask.thumbnail, mask.mask_pixel, grid,
                  probabilities, f"{path.name}: tumour probability (outlined: >= {threshold:.3g})",
                  features)
    summary = _summary(path, reader, geometry, mask, probabilities, settings, features, scored, feed)
    return staging, summary


def _replace(staging: Path, folder: Path) -> None:
    """Rename the complete staging folder to `folder`, replacing an earlier result."""
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(folder)


def _summary(path: Path, reader: SlideReader, geometry: Geometry, mask: TissueMask,
             probabilities: np.ndarray, settings: SlideSettings, features: list[dict],
             scored: int, feed: FeedTimes) -> dict:
    plan, grid, mpp = geometry.plan, geometry.grid, geometry.mpp
    mask_um = mask.mask_pixel * plan.level0_per_pixel * mpp
    finite = probabilities[np.isfinite(probabilities)]
    level = reader.levels[plan.level]
    return {
        "slide": str(path),
        "reader": reader.vendor,
        "decoder": getattr(reader, "decoder", "tifffile"),
        "dimensions": [reader.levels[0].width, reader.levels[0].height],
        "mpp": round(mpp, 6),
        "mpp_source": geometry.mpp_source,
        "level": plan.level,
        "level_dimensions": [level.width, level.height],
        "level_mpp": round(plan.downsample * mpp, 6),
        "resampled": plan.resampled,
        "resample_factor": round(plan.scale, 6),
        "resample_tolerance": RESAMPLE_TOLERANCE,
        "mpp_used": round(plan.level0_per_pixel * mpp, 6),
        "grid": {"rows": grid.rows, "cols": grid.cols, "stride": grid.stride,
                 "patch_level0": round(grid.patch_level0, 4),
                 "cell_level0": round(grid.cell_level0, 4),
                 "cell_offset_level0": round(grid.cell_offset * plan.level0_per_pixel, 4)},
        "tissue": {"method": settings.tissue.method.value, "threshold": round(mask.threshold, 4),
                   "min_fraction": settings.tissue.min_fraction, "mask_pixel_um": round(mask_um, 4),
                   "fraction": round(mask.fraction, 6)},
        "tissue_area_mm2": round(float(mask.mask.sum()) * mask_um * mask_um * 1e-6, 6),
        "tumour_area_mm2": round(sum(f["properties"]["measurements"]["area_mm2"] for f in features), 6),
        "tumour_regions": len(features),
        "max_probability": round(float(finite.max()), 6) if finite.size else None,
        "patches_scored": scored,
        "patches_on_grid": grid.rows * grid.cols,
        "blocks_read": feed.blocks,
        "largest_read_pixels": feed.largest_read,
        "threshold": settings.threshold,
        "tta": settings.pipeline.tta.value,
        "batch": settings.pipeline.batch,
        "engine": settings.engine,
    }
