"""`hcd-edge doctor`: check this device step by step (packages, decoder, backends, GPU, smoke test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("doctor", short_help="Check this device step by step; smoke-test each backend.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@click.option("--no-smoke", is_flag=True, help="Only probe; skip building, scoring and comparing.")
@click.option("-n", "--patches", type=click.IntRange(min=32), default=64, show_default=True,
              help="Generated patches scored by each smoke test.")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the smoke test's patches and engines here (default: a temporary folder).")
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="ONNX for the smoke test (default: the packaged starter model).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Decoder and CPU inference threads. Default: all cores.")
def doctor(as_json: bool, no_smoke: bool, patches: int, work: Path | None, model: Path | None,
           threads: int | None) -> None:
    """Check this device, one named step at a time, and smoke-test every usable backend.

    Steps: python, packages, native decoder, onnxruntime, openvino, gpu driver, cuda (pycuda and
    the GPU), tensorrt, pinned memory, then per backend a smoke test (build the starter model in
    FP32 and INT8 -- and FP16 on TensorRT --, score generated patches through the pipeline,
    compare with ONNX Runtime FP32, time it). Steps that cannot run here (the GPU steps on a
    CPU-only machine) are skipped with the reason. Exit 0 when every step that ran worked, 1
    when one failed (named, with what to do).
    """
    from hcd_edge.doctor import DoctorOptions, run_doctor

    options = DoctorOptions(smoke=not no_smoke, patches=patches, work=work, model=model,
                            threads=threads)
    progress = None
    if not as_json:
        from hcd_edge.cli.console import ConsoleProgress

        progress = ConsoleProgress(stream=sys.stderr, bars=False)
    report = run_doctor(options, progress)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_table(report)
    sys.exit(report.exit_code)


def _print_table(report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="hcd-edge doctor")
    for name in ("step", "status", "detail"):
        table.add_column(name, overflow="fold")
    colour = {"ok": "green", "skipped": "yellow", "failed": "bold red"}
    for check in report.checks:
        status = check.status.value
        table.add_row(check.step, f"[{colour[status]}]{status}[/]", check.detail)
    console = Console(soft_wrap=False)
    console.print(table)
    for check in report.failed:
        console.print(f"[bold red]FAILED at step '{check.step}'[/]: {check.detail}\n  fix: {check.fix}")
    if not report.failed:
        console.print("every step that could run here worked (exit 0)")
