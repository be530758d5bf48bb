"""`hcd-edge export`: a training checkpoint -> ONNX with hcd-edge metadata, checked against torch."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors
from hcd_edge.cli.train import count_text, load_train_package
from hcd_edge.errors import ModelError


@click.command("export", short_help="Export a training checkpoint to ONNX with metadata.")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="ONNX file to write.")
@click.option("--opset", type=click.IntRange(min=17), default=17, show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def export(checkpoint: Path, output: Path, opset: int, force: bool) -> None:
    """Export CHECKPOINT (runs/NAME/best.pt) to ONNX: dynamic batch, spec and threshold in its metadata."""
    with library_errors():
        if output.exists() and not force:
            raise ModelError(f"{output} exists; choose another -o or pass --force to replace it")
        pkg = load_train_package()
        result = pkg.export_checkpoint(checkpoint, output, opset=opset)
    info = result.info
    auc = info.metrics.get("auc")
    click.echo(f"wrote {result.path} ({info.architecture}, opset {opset}, threshold {info.threshold:.3f}"
               + (f", validation AUC {auc:.4f} on {count_text(info.metrics.get('n'))} patches of "
                  "the run's validation split" if isinstance(auc, float) else "") + ")")
    click.echo(f"parity: max |delta logit| {result.max_abs_diff:.2g} between torch and ONNX Runtime")
