"""`hcd-edge split`: one patch set -> train.csv and val.csv path lists with a fixed seed."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.atomic import write_text_atomic
from hcd_edge.errors import DataError
from hcd_edge.score.sources import PatchSet

SPLIT_NAMES = ("train", "val")
SPLIT_INFO = "split.json"


@dataclass(frozen=True)
class SplitResult:
    """What `split` wrote: the two lists, their sizes and positives (None when unlabelled)."""

    files: dict[str, Path]
    counts: dict[str, int]
    positives: dict[str, int | None]
    stratified: bool


def split_indices(patches: PatchSet, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) positions into patches, sorted; stratified by label when it has both classes."""
    from sklearn.model_selection import train_test_split

    n = len(patches)
    n_val = round(n * val_fraction)
    if n_val < 1 or n - n_val < 1:
        raise DataError(f"{n} patches are too few for a {val_fraction:.0%} validation split")
    stratify = patches.labels if _stratifiable(patches, n_val) else None
    train, val = train_test_split(np.arange(n), test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(val)


def write_split(patches: PatchSet, out: Path, val_fraction: float, seed: int, *,
                force: bool = False) -> SplitResult:
    """Write out/train.csv, out/val.csv (columns path,id[,label]; paths relative to out) and split.json."""
    out = Path(out)
    files = {name: out / f"{name}.csv" for name in SPLIT_NAMES}
    existing = [f for f in files.values() if f.exists()]
    if existing and not force:
        raise DataError(f"{existing[0]} exists; choose another --out or pass --force to replace it")
    train, val = split_indices(patches, val_fraction, seed)
    out.mkdir(parents=True, exist_ok=True)
    counts, positives = {}, {}
    for name, rows in zip(SPLIT_NAMES, (train, val)):
        write_text_atomic(files[name], _list_text(patches, rows, out))
        counts[name] = len(rows)
        positives[name] = None if patches.labels is None else int(patches.labels[rows].sum())
    stratified = _stratifiable(patches, len(val))
    info = {"source": patches.source, "seed": seed, "val_fraction": val_fraction,
            "stratified": stratified, "counts": counts, "positives": positives}
    write_text_atomic(out / SPLIT_INFO, json.dumps(info, indent=2, sort_keys=True) + "\n")
    return SplitResult(files, counts, positives, stratified)


def link_folders(patches: PatchSet, out: Path, result: SplitResult) -> dict[str, Path]:
    """out/NAME/ as Kaggle-layout folders (train/<id>.tif symlinks + train_labels.csv) of each list,
    for commands that take folders only (train --data)."""
    from hcd_edge.labelled.sets import read_label_list
    from hcd_edge.score.sources import KAGGLE_LABELS

    if patches.labels is None:
        raise DataError("--folders needs labelled patches (a Kaggle folder, class folders or a label CSV)")
    folders = {}
    for name, list_file in result.files.items():
        listed = read_label_list(list_file)
        folder = Path(out) / name
        images = folder / "train"
        images.mkdir(parents=True, exist_ok=True)
        lines = ["id,label"]
        for ref, label in zip(listed.refs, listed.labels):  # type: ignore[arg-type]
            link = images / f"{ref.id}.tif"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(ref.path.resolve())
            lines.append(f"{ref.id},{int(label)}")
        write_text_atomic(folder / KAGGLE_LABELS, "\n".join(lines) + "\n")
        folders[name] = folder
    return folders


def _stratifiable(patches: PatchSet, n_val: int) -> bool:
    if patches.labels is None:
        return False
    counts = np.bincount(patches.labels, minlength=2)
    return bool(counts.min() >= 2 and n_val >= 2 and len(patches) - n_val >= 2)


def _list_text(patches: PatchSet, rows: np.ndarray, out: Path) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    labelled = patches.labels is not None
    writer.writerow(("path", "id", "label") if labelled else ("path", "id"))
    base = out.resolve()
    for i in rows:
        ref = patches.refs[int(i)]
        path = os.path.relpath(ref.path.resolve(), base)
        label = [str(int(patches.labels[int(i)]))] if patches.labels is not None else []
        writer.writerow([path, ref.id, *label])
    return buffer.getvalue()
