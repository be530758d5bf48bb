"""`hcd-edge build-engine`: compile an ONNX model into an FP32 / FP16 / INT8 engine folder."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.backends.registry import backend_choices
from hcd_edge.builders.request import (
    HARDWARE_COMPATIBILITY,
    ActivationForm,
    CalibMethod,
    Stage,
)
from hcd_edge.cli.errors import library_errors
from hcd_edge.spec import Precision

PRECISIONS = [p.value for p in Precision]
CALIB_METHODS = [m.value for m in CalibMethod]
STAGES = [s.value for s in Stage]
ACTIVATION_FORMS = [f.value for f in ActivationForm]


@click.command("build-engine", short_help="Build an FP32/FP16/INT8 engine from an ONNX model.")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default=None,
    help="Engine precision [default: the model's own for a portable/Q-DQ ONNX, else fp32].",
)
@click.option(
    "--backend",
    type=click.Choice(backend_choices()),
    default="auto",
    show_default=True,
    help="auto = TensorRT where tensorrt, pycuda and a GPU are present, else the fastest of "
    "OpenVINO (when installed) and ONNX Runtime, measured on this CPU.",
)
@click.option(
    "--calib",
    type=click.Path(path_type=Path),
    help="Calibration patches: a folder (Kaggle layout, "
    "class folders 0/ 1/, or plain .tif files) or a CSV/TXT list of paths. Needed for int8.",
)
@click.option(
    "--calib-n",
    type=click.IntRange(min=32),
    default=512,
    show_default=True,
    help="Calibration patches used at most.",
)
@click.option(
    "--calib-method", type=click.Choice(CALIB_METHODS), default="minmax", show_default=True
)
@click.option(
    "--val",
    type=click.Path(path_type=Path),
    help="Parity patches [default: patches of --calib held back from calibration].",
)
@click.option(
    "--val-n",
    type=click.IntRange(min=32),
    default=1000,
    show_default=True,
    help="Parity patches scored at most.",
)
@click.option(
    "--batch",
    default="1:64:256",
    callback=lambda ctx, param, value: _batch_profile(value),
    show_default=True,
    metavar="MIN:OPT:MAX",
    help="Dynamic batch range (TensorRT optimization profile); score and slide batch OPT patches.",
)
@click.option(
    "--workspace-mb",
    type=click.IntRange(min=1),
    default=1024,
    show_default=True,
    help="TensorRT builder workspace limit.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Engine folder [default: engines/<model>-<precision>-<backend>].",
)
@click.option("--force", is_flag=True, help="Replace an existing engine folder.")
@click.option("--no-gate", is_flag=True, help="Keep the engine even when parity is out of bounds.")
@click.option(
    "--min-agreement",
    type=click.FloatRange(min=0.5, max=1.0),
    default=None,
    help="Share of parity patches that must keep their FP32 label at the model threshold "
    "[default: 0.999 fp32/fp16, 0.99 int8]. Lower it only for patches that sit near the "
    "threshold (e.g. generated ones), where tiny changes flip labels.",
)
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default="engine",
    show_default=True,
    help="onnx: stop after the precision pass and write a portable precision ONNX "
    "(calibrate here, compile on the device).",
)
@click.option(
    "--mean",
    type=float,
    nargs=3,
    default=None,
    metavar="R G B",
    help="Normalization mean (pixel/255) for a model without a preprocessing spec.",
)
@click.option(
    "--std",
    type=float,
    nargs=3,
    default=None,
    metavar="R G B",
    help="Normalization std (pixel/255) for a model without a preprocessing spec.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="CPU threads [default: all]."
)
@click.option(
    "--activation-form",
    type=click.Choice(ACTIVATION_FORMS),
    default="auto",
    show_default=True,
    help="ONNX Runtime int8: activation type; auto measures both here.",
)
@click.option(
    "--version-compatible", is_flag=True, help="TensorRT: plan runs on later TensorRT releases."
)
@click.option(
    "--hardware-compatibility",
    type=click.Choice(HARDWARE_COMPATIBILITY),
    default="none",
    show_default=True,
    help="TensorRT: plan runs on other GPU architectures of the same platform (refused on Jetson).",
)
@click.option(
    "--timing-cache",
    type=click.Path(path_type=Path),
    help="TensorRT timing cache [default: under $HCD_EDGE_CACHE_DIR or ~/.cache/hcd-edge].",
)
@click.option(
    "--keep-work",
    is_flag=True,
    help="Keep the intermediate ONNX files (prepared, int8, timing) in OUT.work/.",
)
def build_engine(model: Path, **options) -> None:
    """Build an engine folder (engine file + manifest.json) from MODEL.onnx, checked against FP32."""
    from hcd_edge.builders import build_engine as run_build
    from hcd_edge.cli.console import ConsoleProgress

    with library_errors():
        request = _request(model, options)
        for warning in _training_overlap(request):
            click.echo(warning, err=True)
        result = run_build(request, ConsoleProgress())
    manifest = result.manifest
    kind = "portable ONNX" if manifest.stage == "onnx" else "engine"
    click.echo(
        f"wrote {kind} {result.engine_dir} ({manifest.backend} {manifest.precision.value}, "
        f"{result.engine_path.name})"
    )
    if result.next_step:
        click.echo(
            f"next: copy {result.engine_dir} to the device, then run there:\n  {result.next_step}"
        )


def _batch_profile(text: str):
    """The --batch MIN:OPT:MAX profile; a malformed one is a usage error (exit 2)."""
    from hcd_edge.builders import parse_batch_profile
    from hcd_edge.errors import HcdEdgeError

    try:
        return parse_batch_profile(text)
    except HcdEdgeError as exc:
        raise click.BadParameter(str(exc), param_hint="'--batch'") from exc


def _request(model: Path, options: dict):
    from hcd_edge.builders import BuildRequest
    from hcd_edge.builders.source import declared_precision

    precision = Precision(options.pop("precision") or declared_precision(model).value)
    return BuildRequest(
        onnx=model,
        precision=precision,
        thresholds=_gate_thresholds(precision, options.pop("min_agreement")),
        batch=options.pop("batch"),
        gate=not options.pop("no_gate"),
        mean=options.pop("mean") or None,
        std=options.pop("std") or None,
        hardware_compatibility=options.pop("hardware_compatibility"),
        **options,
    )


def _gate_thresholds(precision: Precision, min_agreement: float | None):
    """The precision's default parity limits, with --min-agreement in place when given."""
    from hcd_edge.builders.parity import with_agreement

    return None if min_agreement is None else with_agreement(precision, min_agreement)


def _training_overlap(request) -> list[str]:
    """Warnings for parity patches that are in the model's recorded training split."""
    from hcd_edge.builders.patches import plan_patches
    from hcd_edge.labelled.overlap import recorded_provenance, training_overlap

    provenance, model_file = recorded_provenance(Path(request.onnx))
    if request.val is None and request.calib is None or model_file is None:
        return []
    plan = plan_patches(request.calib, request.val, request.calib_n, request.val_n)
    overlaps = training_overlap(plan.val_refs, provenance, model_file)
    return [o.warning("parity (--val)") for o in overlaps]
