"""`hcd-edge synth`: write generated H&E-like patches in the Kaggle layout."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors


@click.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of patches.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; one seed always gives the same files.")
@click.option("--force", is_flag=True, help="Write into a non-empty OUT (same-named files are replaced).")
@click.option("--slide", is_flag=True,
              help="Write a generated whole-slide TIFF OUT/synthetic-slide.tif instead (a section "
                   "of about N generated patches with a tumour region, 0.972 um/px, for `hcd-edge slide`).")
def synth(out: Path, n: int, seed: int, force: bool, slide: bool) -> None:
    """Write N generated patches to OUT/train/<id>.tif and OUT/train_labels.csv (not tissue)."""
    if slide:
        _synth_slide(out, n, seed, force)
        return
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


def _synth_slide(out: Path, n: int, seed: int, force: bool) -> None:
    from hcd_edge.slide.synthetic import write_synthetic_slide

    target = out / "synthetic-slide.tif"
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; add --force to replace it")
    rows = max(2, round((n / 1.18) ** 0.5))  # an ellipse in a 3:2 box of rows x 1.5 rows: 1.18 rows^2
    cols = max(2, round(rows * 1.5))
    with library_errors():
        result = write_synthetic_slide(target, rows=rows, cols=cols, seed=seed)
    click.echo(f"wrote {target}: {result.width}x{result.height} pixels at {result.mpp} um/px, "
               f"{result.tumour_patches} generated tumour patches; synthetic, not tissue")
