"""`hcd-edge split`: train.csv and val.csv path lists from one patch set, with a fixed seed."""

from __future__ import annotations

from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors


@click.command("split", short_help="Split patches into train.csv and val.csv lists.")
@click.argument("data", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--val", "val_fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.2, show_default=True, help="Fraction of the patches in val.csv.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the draw: the same seed gives the same lists.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for train.csv, val.csv and split.json.")
@click.option("--recursive", is_flag=True, help="Look for unlabelled patches in subfolders too.")
@click.option("--folders", is_flag=True,
              help="Also write OUT/train/ and OUT/val/ as Kaggle-layout folders of symlinks "
                   "(for train --data, which takes folders).")
@click.option("--force", is_flag=True, help="Replace existing lists in --out.")
def split(data, val_fraction, seed, out, recursive, folders, force):
    """Split DATA (labelled folders or label CSVs, or plain patch folders) into train.csv and
    val.csv, stratified by label when labelled.

    The lists (columns path,id,label; paths relative to --out) are accepted wherever a
    folder is: train --data, build-engine --calib/--val, evaluate, score, bench --val.
    """
    from hcd_edge.labelled.sets import open_labelled_sets, require_labels
    from hcd_edge.labelled.split import link_folders, write_split

    with library_errors():
        patches = open_labelled_sets(data, recursive=recursive)
        if folders:
            require_labels(patches, "--folders needs labelled patches:")
        result = write_split(patches, out, val_fraction, seed, force=force)
        linked = link_folders(patches, out, result) if folders else {}
    for name, path in result.files.items():
        positives = result.positives[name]
        extra = "" if positives is None else f" ({positives:,} positive)"
        also = f" and {linked[name]}/" if name in linked else ""
        click.echo(f"{name}: {result.counts[name]:,} patches{extra} -> {path}{also}")
    kind = "stratified by label" if result.stratified else "random"
    click.echo(f"{kind}, seed {seed}, from {patches.source}")
