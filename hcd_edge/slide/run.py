"""`hcd-edge slide`: score many slides with one engine; a row per slide in DIR/slides.csv.

A slide that cannot be read or scored gets an error row with the reason and the run goes on;
a finished slide has DIR/<name>/summary.json, which --resume uses to skip it.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.errors import DataError, HcdEdgeError
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.score.pipeline import DEFAULT_SLOTS, PipelineConfig
from hcd_edge.score.tta import Tta
from hcd_edge.slide import outputs
from hcd_edge.slide.deps import require_slide_extra
from hcd_edge.slide.grid import BLOCK_PATCHES, DEFAULT_STRIDE
from hcd_edge.slide.scan import SlideSettings, scan_slide, staging_folder
from hcd_edge.slide.tissue import TissueConfig

if TYPE_CHECKING:
    from hcd_edge.distributed.pool import RayOptions

SLIDE_SUFFIXES = (".svs", ".ndpi", ".mrxs", ".scn", ".tif", ".tiff", ".btf", ".vms", ".vmu",
                  ".svslide", ".bif")
SLIDES_CSV = "slides.csv"
SLIDES_HEADER = ("slide", "name", "status", "message", "patches", "tissue_mm2", "tumour_mm2",
                 "max_probability", "seconds", "folder")
SLIDES_TASK = "slides"


@dataclass(frozen=True)
class SlideRequest:
    """One `hcd-edge slide` run (see the CLI's --help for each option)."""

    inputs: tuple[Path, ...]
    out: Path
    engine: Path | None = None  # None: the starter model's default engine
    mpp: float | None = None  # level-0 micrometres per pixel, overriding the slides' own
    stride: int = DEFAULT_STRIDE  # pixels at the model's resolution
    threshold: float | None = None  # None: the engine's
    batch: int | None = None  # patches per batch; None: the engine's optimal batch (manifest)
    threads: int | None = None
    tta: Tta = Tta.NONE
    recursive: bool = False
    resume: bool = False
    tissue: TissueConfig = field(default_factory=TissueConfig)
    starter_model: Path | None = None
    slots: int | None = DEFAULT_SLOTS
    block_patches: int = BLOCK_PATCHES
    ray: RayOptions | None = None  # score the slides on Ray workers (hcd_edge.distributed)


@dataclass
class SlideOutcome:
    """The slides.csv row of one input."""

    slide: Path
    name: str
    ok: bool
    message: str = ""
    summary: dict | None = None
    resumed: bool = False

    def row(self, out: Path) -> tuple:
        """The slides.csv row."""
        s = self.summary or {}
        folder = str(out / self.name) if self.ok else ""
        status = "ok" if self.ok else "error"
        return (str(self.slide), self.name, status, self.message, s.get("patches_scored", ""),
                s.get("tissue_area_mm2", ""), s.get("tumour_area_mm2", ""),
                "" if s.get("max_probability") is None else s["max_probability"],
                s.get("wall_seconds", ""), folder)


@dataclass
class SlidesResult:
    """Every slide's outcome and where the table is."""

    outcomes: list[SlideOutcome]
    table: Path
    engine: Path

    @property
    def failed(self) -> int:
        """Slides that got an error row."""
        return sum(not o.ok for o in self.outcomes)


class SlidesInterrupted(KeyboardInterrupt):
    """Ctrl-C: the finished slides are in their folders; --resume scores the rest."""

    def __init__(self, done: int, total: int):
        super().__init__(f"{done} of {total} slides finished")
        self.done, self.total = done, total


def collect_slides(inputs: tuple[Path, ...], recursive: bool) -> list[Path]:
    """Slide files named directly (whatever their suffix) and found in folders, sorted per folder."""
    found: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            pattern = "**/*" if recursive else "*"
            found += sorted(p for p in item.glob(pattern)
                            if p.suffix.lower() in SLIDE_SUFFIXES and p.is_file())
        else:
            found.append(item)  # missing or unreadable files get their error row
    if not found:
        names = ", ".join(str(p) for p in inputs)
        hint = "" if recursive else " (add --recursive to look in subfolders)"
        raise DataError(f"no slides ({', '.join(SLIDE_SUFFIXES)}) found in {names}{hint}")
    return found


def score_slides(request: SlideRequest, progress: ProgressReporter | None = None) -> SlidesResult:
    """Score every slide of the request into request.out; see SlidesResult.

    Raises SlideUnavailable (no slide extra), DataError / EngineError for bad configuration,
    SlidesInterrupted on Ctrl-C. Bad slides do not raise: they get error rows.
    """
    progress = progress or SilentProgress()
    require_slide_extra()
    slides = collect_slides(request.inputs, request.recursive)
    out = Path(request.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; give a folder (it is created when missing)")
    out.mkdir(parents=True, exist_ok=True)
    engine = _engine_folder(request, progress)
    if request.ray is not None:
        from hcd_edge.distributed.slides import score_slides_on_ray

        outcomes = score_slides_on_ray(named_slides(slides), out, engine, request, progress)
    else:
        with engine.executor(threads=request.threads) as executor:
            settings = slide_settings(request, engine, executor.backend)
            outcomes = _score_all(slides, out, executor, settings, request.resume, progress)
    table = write_slides_csv(out, outcomes)
    return SlidesResult(outcomes, table, engine.path)


def slide_settings(request: SlideRequest, engine: EngineFolder, backend: str) -> SlideSettings:
    """What every slide of the request is scored with (backend: the executors' backend)."""
    manifest = engine.manifest
    threshold = request.threshold if request.threshold is not None else manifest.threshold
    return SlideSettings(
        threshold=threshold, stride=request.stride, mpp=request.mpp, tissue=request.tissue,
        pipeline=PipelineConfig(batch=manifest.batch.chosen(request.batch), slots=request.slots,
                                decode_threads=request.threads, tta=request.tta),
        block_patches=request.block_patches,
        engine={"folder": str(engine.path), "name": manifest.name, "backend": backend,
                "precision": manifest.precision.value},
    )


def named_slides(slides: list[Path]) -> list[tuple[Path, str, SlideOutcome | None]]:
    """(slide, output name, None) per slide; a later slide with a taken name gets its error row."""
    named: list[tuple[Path, str, SlideOutcome | None]] = []
    names: dict[str, Path] = {}
    for slide in slides:
        name = slide_name(slide)
        if name in names:
            named.append((slide, name, SlideOutcome(slide, name, False, f"duplicate name {name!r}: "
                                                    f"{slide} collides with {names[name]}, which was scored")))
        else:
            names[name] = slide
            named.append((slide, name, None))
    return named


def _engine_folder(request: SlideRequest, progress: ProgressReporter) -> EngineFolder:
    if request.engine is not None:
        return EngineFolder.open(Path(request.engine))
    from hcd_edge.score.default_engine import default_engine

    # No patch files to calibrate INT8 on: the cached starter engine (INT8 when an earlier
    # `score` run built it), else FP32 built now.
    return default_engine([], model=request.starter_model, threads=request.threads,
                          progress=progress).engine


def _score_all(slides: list[Path], out: Path, executor, settings: SlideSettings, resume: bool,
               progress: ProgressReporter) -> list[SlideOutcome]:
    outcomes: list[SlideOutcome] = []
    progress.start(SLIDES_TASK, len(slides))
    try:
        for slide, name, refused in named_slides(slides):
            outcomes.append(refused or score_one_slide(slide, name, out, executor, settings,
                                                       resume, progress))
            progress.advance(SLIDES_TASK)
    except KeyboardInterrupt as exc:
        write_slides_csv(out, outcomes)
        raise SlidesInterrupted(sum(o.ok for o in outcomes), len(slides)) from exc
    finally:
        progress.finish(SLIDES_TASK)
    return outcomes


def slide_name(path: Path) -> str:
    """The output folder name of a slide: its file name without the suffix."""
    return Path(path).stem or Path(path).name


def score_one_slide(slide: Path, name: str, out: Path, executor, settings: SlideSettings,
                    resume: bool, progress: ProgressReporter) -> SlideOutcome:
    """Score one slide into out/name with an open executor; a bad slide gives an error outcome."""
    folder = out / name
    done = folder / outputs.SUMMARY_JSON
    if resume and done.is_file():
        summary = json.loads(done.read_text(encoding="utf-8"))
        return SlideOutcome(slide, name, True, "finished in an earlier run", summary, resumed=True)
    began = time.perf_counter()
    try:
        summary = scan_slide(slide, folder, executor, settings, progress)
    except KeyboardInterrupt:
        _discard(staging_folder(folder))
        raise
    except Exception as exc:  # noqa: BLE001 - a bad slide is a row, never the end of the run
        _discard(staging_folder(folder))
        why = str(exc) if isinstance(exc, HcdEdgeError) else f"{type(exc).__name__}: {exc}"
        progress.note(f"{slide}: not scored: {why}")
        return SlideOutcome(slide, name, False, why,
                            {"wall_seconds": round(time.perf_counter() - began, 4)})
    progress.note(f"{slide}: {summary['patches_scored']} patches, max probability "
                  f"{summary['max_probability']}, {summary['tumour_regions']} tumour regions")
    return SlideOutcome(slide, name, True, "", summary)


def _discard(staging: Path) -> None:
    import shutil

    shutil.rmtree(staging, ignore_errors=True)


def write_slides_csv(out: Path, outcomes: list[SlideOutcome]) -> Path:
    """DIR/slides.csv, one row per input slide, written whole (hcd_edge.atomic)."""
    from hcd_edge.atomic import atomic_text

    target = out / SLIDES_CSV
    with atomic_text(target) as fh:
        writer = csv.writer(fh)
        writer.writerow(SLIDES_HEADER)
        writer.writerows(o.row(out) for o in outcomes)
    return target
