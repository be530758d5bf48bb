"""`hcd-edge score`: score folders, files or lists of patches into CSV / Kaggle / JSONL files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hcd_edge.cli.errors import EXIT_INTERRUPTED, EXIT_PARTIAL, library_errors
from hcd_edge.cli.options import (
    FiniteFloatRange,
    batch_option,
    ray_options,
    ray_request,
    threads_option,
)

FORMATS = ["csv", "kaggle", "jsonl"]
TTA_MODES = ["none", "flip", "dihedral"]


@click.command(short_help="Score patches into a CSV, Kaggle or JSONL file.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engine", type=click.Path(path_type=Path), default=None,
              help="Engine folder (from build-engine). Default: the starter model's engine, "
                   "built for this machine on first use and cached.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file [default: scores.csv, or scores.jsonl for --format jsonl].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv: id,probability,label,status,message. kaggle: id,label (the probability) "
                   "with failures (if any) in FILE.errors.csv. jsonl: one object per patch.")
@batch_option
@threads_option
@click.option("--threshold", type=FiniteFloatRange(0.0, 1.0), default=None,
              help="Probability at or above which label = 1 [default: the engine's threshold].")
@click.option("--tta", type=click.Choice(TTA_MODES), default="none", show_default=True,
              help="Average probabilities over 2 flips or the 8 dihedral transforms of each patch.")
@click.option("--recursive", is_flag=True, help="Look for patches in subfolders too.")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted run from FILE.partial (same options), scoring only what is missing.")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a JSON summary (counts, engine, rates, seconds per stage) to this file.")
@ray_options("the patches")
def score(paths, engine, out, fmt, batch, threads, threshold, tta, recursive, resume, summary,
          ray_address, workers):
    """Score PATHS (folders, .tif files, or .txt/.csv lists of paths): one row per patch.

    Exit codes: 0 all scored; 1 configuration or environment error; 2 usage error;
    3 finished but some patches could not be scored (they are in the output with a status);
    130 interrupted (rerun with --resume). HCD_EDGE_STARTER_MODEL overrides the starter
    model used without --engine (development and tests).
    """
    from hcd_edge.cli.console import ConsoleProgress
    from hcd_edge.score.output import OutputFormat
    from hcd_edge.score.run import ScoreInterrupted, ScoreRequest
    from hcd_edge.score.run import score as run_score
    from hcd_edge.score.summary import summary_text
    from hcd_edge.score.tta import Tta

    output_format = OutputFormat(fmt)
    request = ScoreRequest(
        inputs=tuple(paths), out=out or _default_out(output_format), fmt=output_format,
        engine=engine, batch=batch, threads=threads, threshold=threshold, tta=Tta(tta),
        recursive=recursive, resume=resume, summary=summary,
        starter_model=_starter_model() if engine is None else None,
        ray=ray_request(ray_address, workers),
    )
    try:
        with library_errors():
            result = run_score(request, ConsoleProgress(rate=True))
    except ScoreInterrupted as stop:
        hint = "run the same command with --resume to finish" if stop.kept else "run the same command again"
        click.echo(f"\ninterrupted: {stop}; {hint}", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    click.echo(summary_text(result.summary), err=True)
    if result.counts.failed:
        click.get_current_context().exit(EXIT_PARTIAL)


def _default_out(fmt) -> Path:
    return Path("scores.jsonl" if fmt.value == "jsonl" else "scores.csv")


def _starter_model() -> Path | None:
    from hcd_edge.score.default_engine import STARTER_ENV

    value = os.environ.get(STARTER_ENV)
    return Path(value) if value else None
