"""`hcd-edge synth`: write generated H&E-like patches in the Kaggle layout."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors


@click.command("synth", short_help="Write generated labelled patches (no real data needed).")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of patches.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; one seed always gives the same files.")
@click.option("--force", is_flag=True, help="Write into a non-empty OUT (same-named files are replaced).")
def synth(out: Path, n: int, seed: int, force: bool) -> None:
    """Write N generated patches to OUT/train/<id>.tif and OUT/train_labels.csv (not tissue)."""
    from rich.progress import Progress

    from hcd_edge.synthetic import write_synthetic_set

    with library_errors(), Progress(transient=True) as bar:
        bar.disable = not bar.console.is_terminal
        task = bar.add_task("generating patches", total=n)
        result = write_synthetic_set(out, n, seed, force=force,
                                     progress=lambda k: bar.advance(task, k))
    click.echo(
        f"wrote {result.n} generated patches to {out / 'train'} ({result.positives} labelled 1, "
        f"{result.ring_only} negatives with tumour only outside the centre) and "
        f"{out / 'train_labels.csv'}; these are synthetic, not tissue"
    )
