"""`hcd-edge inspect`: what an engine folder or an exported ONNX model is, from its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hcd_edge.cli.errors import EXIT_ERROR, library_errors


@click.command("inspect", short_help="Show an engine's manifest or an ONNX model's metadata.")
@click.argument("target", metavar="ENGINE_OR_MODEL", type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Every manifest field (build options, quantization, parity details).")
@click.option("--json", "as_json", is_flag=True, help="Print the raw manifest (or model metadata) as JSON.")
def inspect_engine(target: Path, full: bool, as_json: bool) -> None:
    """Show ENGINE_OR_MODEL: an engine folder (or a file inside one) with its file check, or an
    ONNX model's hcd-edge metadata (spec, threshold, validation metrics, provenance).

    Exit codes: 0 the engine file matches its manifest; 1 it does not (PROBLEM: tampered,
    swapped or missing), or ENGINE_OR_MODEL is not an engine or a model.
    """
    from hcd_edge.manifest import MANIFEST_NAME

    if target.is_file() and target.suffix.lower() == ".onnx" and not (target.parent / MANIFEST_NAME).is_file():
        _inspect_model(target, full, as_json)
    else:
        _inspect_folder(target if target.is_dir() or not target.exists() else target.parent, full, as_json)


def _inspect_folder(folder: Path, full: bool, as_json: bool) -> None:
    from hcd_edge.cli.inspect_view import engine_summary, full_rows
    from hcd_edge.errors import EngineError
    from hcd_edge.manifest import read_manifest, verify_engine_file

    with library_errors():
        manifest = read_manifest(folder)
    data = manifest.to_dict()
    try:
        verify_engine_file(folder, manifest)
        check = f"{manifest.engine_file} matches its SHA-256"
    except EngineError as exc:  # the manifest is still shown, then exit 1
        check = f"PROBLEM: {exc}"
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    elif full:
        _print_full(folder, full_rows(data), check)
    else:
        _print_pairs(engine_summary(folder, data, check))
        click.echo("(--full: every field; --json: the raw manifest)")
    if check.startswith("PROBLEM"):
        click.echo(check, err=True)
        click.get_current_context().exit(EXIT_ERROR)


def _inspect_model(path: Path, full: bool, as_json: bool) -> None:
    from hcd_edge.cli.inspect_view import format_value, model_summary
    from hcd_edge.model_info import ModelInfo, graph_precision, read_props

    with library_errors():
        props = read_props(path)
        info = ModelInfo.from_props(props, str(path))
    if as_json:
        click.echo(json.dumps({k: _maybe_json(v) for k, v in props.items()}, indent=2, sort_keys=True))
        return
    rows = model_summary(path, props, info, graph_precision(path).value, _graph(path))
    if full:
        rows += [("metrics", format_value(info.metrics)), ("provenance", format_value(info.provenance))]
    _print_pairs(rows)
    if not full:
        click.echo("(--full: metrics and provenance; --json: the raw metadata)")


def _graph(path: Path) -> dict:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)

    def shape(value) -> str:
        dims = [d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim]
        return f"{value.name} [{', '.join(dims)}]"

    return {"opset": opset, "input": shape(proto.graph.input[0]), "output": shape(proto.graph.output[0])}


def _maybe_json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _print_pairs(rows: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for field, value in rows:
        table.add_row(field, value)
    Console(highlight=False, width=_width()).print(table)


def _print_full(folder: Path, rows: list[tuple[str, str, str]], check: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"engine {folder}")
    table.add_column("section", style="bold")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for i, (section, key, value) in enumerate(rows):
        last = i + 1 == len(rows) or bool(rows[i + 1][0])
        table.add_row(section, key, value, end_section=last)
    table.add_row("check", "engine file", check)
    Console(highlight=False, width=_width()).print(table)


def _width() -> int:
    """The terminal's width, 80 on a pipe or a file."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns
