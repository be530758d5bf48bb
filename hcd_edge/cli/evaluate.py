"""`hcd-edge evaluate`: AUC, confusion, calibration and plots of an engine on labelled patches."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hcd_edge.cli.errors import EXIT_PARTIAL, library_errors
from hcd_edge.cli.options import batch_option, threads_option
from hcd_edge.cli.score import TTA_MODES, _starter_model


@click.command("evaluate", short_help="AUC, confusion, calibration of an engine on labels.")
@click.argument("data", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engine", type=click.Path(path_type=Path), default=None,
              help="Engine folder. Default: the starter model's engine, as `score`.")
@click.option("--tta", type=click.Choice(TTA_MODES), default="none", show_default=True,
              help="Average over 2 flips or the 8 dihedral transforms of each patch.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability at or above which a patch counts as positive "
                   "[default: the engine's threshold].")
@batch_option
@threads_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the metrics (n, auc, accuracy, sensitivity, specificity, threshold, "
                   "confusion, brier, calibration, source, engine) as JSON to this file.")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write roc.png, reliability.png and errors.png (most confident errors) here.")
@click.option("--scores", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also keep the per-patch scores (score's CSV) in this file.")
def evaluate(data, engine, tta, threshold, batch, threads, json_path, plots, scores):
    """Measure an engine on DATA: labelled folders (Kaggle layout, class folders 0/ 1/) or
    label CSVs (id,label or path,label, e.g. from `hcd-edge split`).

    Scores DATA through the same pipeline as `score` and reports n, AUC, accuracy,
    sensitivity, specificity, the confusion matrix, Brier score and calibration. Warns when
    DATA overlaps the model's recorded training split. Exit 3 when some patches could not be
    scored (they are left out of the metrics and counted).
    """
    from hcd_edge.atomic import write_text_atomic
    from hcd_edge.cli.console import ConsoleProgress
    from hcd_edge.evaluate.report import evaluation_text
    from hcd_edge.evaluate.run import EvaluateRequest
    from hcd_edge.evaluate.run import evaluate as run_evaluate
    from hcd_edge.score.tta import Tta

    request = EvaluateRequest(data=tuple(data), engine=engine, tta=Tta(tta), threshold=threshold,
                              batch=batch, threads=threads, scores=scores,
                              starter_model=_starter_model())
    with library_errors():
        result = run_evaluate(request, ConsoleProgress(rate=True))
        written = _plots(result, plots) if plots is not None else []
    for overlap in result.overlaps:
        click.echo(overlap.warning("evaluated"), err=True)
    click.echo(evaluation_text(result.metrics))
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(result.metrics, indent=2, sort_keys=True) + "\n")
        written.insert(0, json_path)
    if scores is not None:
        written.insert(0, scores)
    if written:
        click.echo("wrote " + ", ".join(str(p) for p in written))
    if result.failed:
        click.echo(f"{len(result.failed):,} patches could not be scored, e.g. {result.failed[0]}",
                   err=True)
        click.get_current_context().exit(EXIT_PARTIAL)


def _plots(result, folder: Path) -> list[Path]:
    from hcd_edge.evaluate.plots import draw_plots

    m = result.metrics
    return draw_plots(result, folder, f"{m['engine_name']}, n={m['n']:,}")
