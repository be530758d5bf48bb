"""Terminal output of `hcd-edge bench`: one line per measurement, then a table."""

from __future__ import annotations

import click


def progress_line(record) -> None:
    """One stderr line as each (engine, batch) measurement finishes."""
    click.echo(
        f"  {record.engine} batch {record.batch}: {record.throughput:,.0f} patches/s, "
        f"p50 {record.latency_ms['p50']:.2f} ms",
        err=True,
    )


def print_records(records) -> None:
    """The summary table (backend, precision, size, batch, AUC, ms/batch p50 and p99, patches/s)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="hcd-edge bench")
    for name in ("engine", "backend", "precision", "size MB", "batch", "AUC",
                 "ms/batch p50", "ms/batch p99", "decode ms", "patches/s"):
        table.add_column(name, justify="left" if name in ("engine", "backend", "precision") else "right")
    for r in records:
        table.add_row(
            r.engine, r.backend, r.precision, f"{r.engine_size_mb:.2f}", str(r.batch),
            "-" if r.auc is None else f"{r.auc:.4f}",
            f"{r.latency_ms['p50']:.2f}", f"{r.latency_ms['p99']:.2f}",
            f"{r.stages_ms['decode']:.2f}", f"{r.throughput:,.0f}",
        )
    console = Console(stderr=False)
    if not console.is_terminal:
        console = Console(width=140)  # a pipe or file still gets the whole table
    console.print(table)
