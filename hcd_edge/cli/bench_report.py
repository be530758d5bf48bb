"""Terminal output of `hcd-edge bench`: one line per measurement, the AUCs, then an 80-column table."""

from __future__ import annotations

import click

TABLE_WIDTH = 80  # the table fits a standard terminal; engine names wrap inside their column
NAME_WIDTH = 16  # engine column: what the numeric columns leave of TABLE_WIDTH


def progress_line(record) -> None:
    """One stderr line as each (engine, batch) measurement finishes."""
    click.echo(
        f"  {record.engine} batch {record.batch}: {record.throughput:,.0f} patches/s, "
        f"p50 {record.latency_ms['p50']:.2f} ms",
        err=True,
    )


def auc_lines(records) -> list[str]:
    """'ENGINE: AUC x on N patches of SOURCE', once per engine that has an AUC."""
    seen: dict[str, str] = {}
    for r in records:
        if r.auc is not None and r.engine not in seen:
            seen[r.engine] = f"{r.engine}: AUC {r.auc:.4f} on {r.n:,} patches of {r.auc_source}"
    return list(seen.values())


def throughput_ratios(records) -> list[float | None]:
    """Each record's patches/s divided by the first engine's at the same batch (None if it lacks it)."""
    if not records:
        return []
    first = records[0].engine
    base = {r.batch: r.throughput for r in records if r.engine == first}
    return [r.throughput / base[r.batch] if base.get(r.batch) else None for r in records]


def records_table(records):
    """The rich Table: engine, backend+precision, batch, AUC, latency p50/p99, patches/s, ratio."""
    from rich import box
    from rich.table import Table

    first = records[0].engine if records else ""
    table = Table(title="hcd-edge bench", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  collapse_padding=True,
                  caption=f"x first: patches/s relative to {first} at the same batch")
    table.add_column("engine", overflow="fold", max_width=NAME_WIDTH)
    table.add_column("runs on", no_wrap=True)
    for name in ("batch", "AUC", "p50 ms", "p99 ms", "patches/s", "x first"):
        table.add_column(name, justify="right", no_wrap=True)
    for r, ratio in zip(records, throughput_ratios(records)):
        table.add_row(
            wrap_name(r.engine, NAME_WIDTH), f"{_short_backend(r.backend)} {r.precision}", str(r.batch),
            "-" if r.auc is None else f"{r.auc:.4f}",
            f"{r.latency_ms['p50']:.2f}", f"{r.latency_ms['p99']:.2f}", f"{r.throughput:,.0f}",
            "-" if ratio is None else f"{ratio:.2f}",
        )
    return table


def print_records(records) -> None:
    """The AUC lines and the table, at most TABLE_WIDTH columns wide."""
    from rich.console import Console

    console = Console(width=TABLE_WIDTH, highlight=False)
    for line in auc_lines(records):
        console.print(line, markup=False)
    console.print(records_table(records))


def wrap_name(name: str, width: int) -> str:
    """The name on lines of at most `width` characters, broken after '-', '_' or '.' where possible."""
    import re

    lines: list[str] = [""]
    for part in re.findall(r"[^-_.]*[-_.]?", name):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(line[i : i + width] for line in lines for i in range(0, max(len(line), 1), width))


def _short_backend(backend: str) -> str:
    return {"onnxruntime": "ort", "tensorrt": "trt"}.get(backend, backend)
