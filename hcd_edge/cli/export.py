"""`hcd-edge export`: a training checkpoint -> ONNX with hcd-edge metadata, checked against torch;
or, with --tensorrt, straight to a TensorRT engine folder through torch-tensorrt (on a GPU)."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors
from hcd_edge.cli.train import count_text, load_train_package
from hcd_edge.errors import ModelError
from hcd_edge.score.targets import check_not_inputs


@click.command("export", short_help="Export a training checkpoint to ONNX with metadata.")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="ONNX file to write (with --tensorrt: the engine folder).")
@click.option("--opset", type=click.IntRange(min=17), default=17, show_default=True)
@click.option("--tensorrt", "to_tensorrt", is_flag=True,
              help="Compile with torch-tensorrt (dynamo) straight to a TensorRT engine folder that "
              "`hcd-edge score --engine` loads; needs an NVIDIA GPU and torch-tensorrt.")
@click.option("--precision", type=click.Choice(["fp16", "fp32"]), default="fp16", show_default=True,
              help="With --tensorrt: compute precision (float32 input and logit either way; TF32 off).")
@click.option("--batch", default="1:64:256", show_default=True,
              help="With --tensorrt: dynamic batch range MIN:OPT:MAX.")
@click.option("--force", is_flag=True, help="Replace an existing output file or folder.")
def export(checkpoint: Path, output: Path, opset: int, to_tensorrt: bool, precision: str,
           batch: str, force: bool) -> None:
    """Export CHECKPOINT (runs/NAME/best.pt) to ONNX: dynamic batch, spec and threshold in its metadata."""
    if to_tensorrt:
        _export_tensorrt(checkpoint, output, precision, batch, force)
        return
    with library_errors():
        check_not_inputs([("-o", output)], [checkpoint])
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


def _export_tensorrt(checkpoint: Path, output: Path, precision: str, batch: str, force: bool) -> None:
    from hcd_edge.builders import parse_batch_profile
    from hcd_edge.builders.parity import describe
    from hcd_edge.spec import Precision

    with library_errors():
        load_train_package()
        from hcd_edge.train.export_tensorrt import TrtExportRequest, export_tensorrt

        request = TrtExportRequest(checkpoint, output, Precision(precision),
                                   parse_batch_profile(batch), force)
        manifest = export_tensorrt(request)
    click.echo(f"wrote {output} ({manifest.precision.value} TensorRT {manifest.backend_version} "
               f"plan for the {manifest.device.get('name')}, batch {batch}, via torch-tensorrt)")
    if manifest.parity:
        click.echo(f"parity vs {manifest.parity['reference']}: {describe(manifest.parity)}")
