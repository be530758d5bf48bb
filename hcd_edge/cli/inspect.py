"""`hcd-edge inspect`: show an engine folder's manifest (what, from what, for which device, how good)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors

SECTIONS = (
    (
        "engine",
        (
            "name",
            "stage",
            "backend",
            "backend_version",
            "precision",
            "engine_file",
            "engine_sha256",
            "created",
            "hcd_edge_version",
            "schema_version",
        ),
    ),
    ("source", ("source_onnx", "source_onnx_sha256", "model", "threshold", "preprocess")),
    ("device", ("device",)),
    ("shapes", ("batch", "inputs", "outputs")),
    ("precision pass", ("quantization", "calibration")),
    ("parity", ("parity",)),
    ("build", ("build_options",)),
)


@click.command("inspect", short_help="Show an engine's manifest or an ONNX model's metadata.")
@click.argument("engine", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the raw manifest JSON.")
def inspect_engine(engine: Path, as_json: bool) -> None:
    """Show the manifest of ENGINE (an engine folder, or a file inside one) and check its file."""
    from hcd_edge.errors import EngineError
    from hcd_edge.manifest import read_manifest, verify_engine_file

    folder = engine if engine.is_dir() else engine.parent
    with library_errors():
        manifest = read_manifest(folder)
    data = manifest.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    try:
        verify_engine_file(folder, manifest)
        check = "engine file matches its SHA-256"
    except EngineError as exc:  # a damaged or changed file is reported, not fatal, when inspecting
        check = f"PROBLEM: {exc}"
    _print_table(folder, data, check)


def _print_table(folder: Path, data: dict, check: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"engine {folder}")
    table.add_column("section", style="bold")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for section, keys in SECTIONS:
        present = [k for k in keys if k in data]
        for i, key in enumerate(present):
            table.add_row(
                section if i == 0 else "",
                key,
                _format(data[key]),
                end_section=i == len(present) - 1,
            )
    table.add_row("check", "engine file", check)
    Console(soft_wrap=False).print(table)


def _format(value: object) -> str:
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            text = _format(item)
            nested = isinstance(item, dict) and item
            lines.append(f"{key}:\n" + _indent(text) if nested else f"{key}: {text}")
        return "\n".join(lines) or "-"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "\n".join(_format(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
