"""`hcd-edge slide`: score whole-slide images into heatmaps, QuPath GeoJSON and per-slide tables."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import EXIT_PARTIAL, library_errors
from hcd_edge.cli.options import batch_option, ray_options, ray_request, threads_option

TTA_MODES = ["none", "flip", "dihedral"]
TISSUE_METHODS = ["saturation", "otsu", "none"]
EXIT_INTERRUPTED = 130


@click.command(short_help="Score whole-slide images into heatmaps and GeoJSON.")
@click.argument("slides", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: DIR/<slide name>/ per slide and DIR/slides.csv.")
@click.option("--engine", type=click.Path(path_type=Path), default=None,
              help="Engine folder (from build-engine). Default: the starter model's cached engine.")
@click.option("--mpp", type=click.FloatRange(min=0.01, max=1000), default=None,
              help="Level-0 micrometres per pixel, overriding the slide's own (needed when a "
                   "slide does not say).")
@click.option("--stride", type=click.IntRange(min=8, max=96), default=32, show_default=True,
              help="Pixels between patches at the model's resolution (32: one patch per 32x32 "
                   "centre cell).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability at or above which a patch is tumour [default: the engine's].")
@batch_option
@threads_option
@click.option("--tta", type=click.Choice(TTA_MODES), default="none", show_default=True,
              help="Average probabilities over 2 flips or the 8 dihedral transforms of each patch.")
@click.option("--tissue", type=click.Choice(TISSUE_METHODS), default="saturation",
              show_default=True,
              help="Background mask on a thumbnail: a fixed HSV-saturation threshold, Otsu's "
                   "threshold per slide, or none (score every patch).")
@click.option("--saturation", type=click.FloatRange(0.0, 1.0), default=0.07, show_default=True,
              help="Saturation at or above which a thumbnail pixel is tissue (--tissue saturation).")
@click.option("--min-tissue", type=click.FloatRange(0.0, 1.0), default=0.25, show_default=True,
              help="Fraction of a patch's centre cell that must be tissue for it to be scored.")
@click.option("--recursive", is_flag=True, help="Look for slides in subfolders too.")
@click.option("--resume", is_flag=True, help="Skip slides whose DIR/<name>/summary.json exists.")
@ray_options("the slides, one slide per task,")
def slide(slides, out, engine, mpp, stride, threshold, batch, threads, tta, tissue, saturation,
          min_tissue, recursive, resume, ray_address, workers):
    """Score whole-slide images SLIDES (files or folders: SVS, NDPI, MRXS, SCN, TIFF, ...).

    Each slide is read at the model's resolution (0.972 um/px, 10x), background is masked,
    and 96x96 patches on a grid from the level-0 origin are scored. DIR/<name>/ gets
    patches.csv (x,y,size in level-0 pixels, probability, label), probability.npy, tissue.png,
    heatmap.png, tumour.geojson (QuPath annotations) and summary.json; DIR/slides.csv has a row
    per slide. Needs the slide extra: pip install 'hcd-edge[slide]'.

    Exit codes: 0 all slides scored; 1 configuration or environment error; 2 usage error;
    3 finished but some slides could not be scored (error rows in slides.csv); 130 interrupted
    (rerun with --resume).
    """
    from hcd_edge.cli.console import ConsoleProgress
    from hcd_edge.cli.score import _starter_model
    from hcd_edge.score.tta import Tta
    from hcd_edge.slide.run import SlideRequest, SlidesInterrupted, score_slides
    from hcd_edge.slide.tissue import TissueConfig, TissueMethod

    request = SlideRequest(
        inputs=tuple(slides), out=out, engine=engine, mpp=mpp, stride=stride, threshold=threshold,
        batch=batch, threads=threads, tta=Tta(tta), recursive=recursive, resume=resume,
        tissue=TissueConfig(TissueMethod(tissue), saturation, min_tissue),
        starter_model=_starter_model(), ray=ray_request(ray_address, workers),
    )
    try:
        with library_errors():
            result = score_slides(request, ConsoleProgress(rate=True))
    except SlidesInterrupted as stop:
        click.echo(f"\ninterrupted: {stop}; run the same command with --resume to finish", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    done = len(result.outcomes) - result.failed
    click.echo(f"scored {done} of {len(result.outcomes)} slides with {result.engine}; "
               f"table {result.table}", err=True)
    if result.failed:
        click.get_current_context().exit(EXIT_PARTIAL)
