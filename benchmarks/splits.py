"""The starter model's train/validation split of the real patches, as Kaggle-layout folders of links.

Benchmarks calibrate INT8 on the training part and measure AUC on the validation part, the
same patches the starter model was selected on, without copying any patch.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.score.sources import KAGGLE_LABELS, PatchRef, open_patch_set


@dataclass(frozen=True)
class SplitFolders:
    """Kaggle-layout folders (train/<id>.tif links + train_labels.csv) of one split."""

    train: Path
    val: Path
    seed: int
    val_fraction: float


def split_real_patches(real: Path, work: Path, seed: int, val_fraction: float) -> SplitFolders:
    """Reproduce train/'s stratified split of `real` and write both halves under `work`."""
    from hcd_edge.train.split import SplitKind, split_indices

    patches = open_patch_set(real)
    if patches.labels is None:
        raise ValueError(f"{real} has no labels; expected the Kaggle layout")
    train_idx, val_idx = split_indices(patches.labels, val_fraction, seed, SplitKind.STRATIFIED)
    return SplitFolders(
        train=link_folder(patches.refs, patches.labels, train_idx, work / "split-train"),
        val=link_folder(patches.refs, patches.labels, val_idx, work / "split-val"),
        seed=seed,
        val_fraction=val_fraction,
    )


def link_folder(refs: tuple[PatchRef, ...], labels: np.ndarray, index: np.ndarray, out: Path) -> Path:
    """A Kaggle-layout folder of symbolic links to refs[index], with their labels."""
    (out / "train").mkdir(parents=True, exist_ok=True)
    with open(out / KAGGLE_LABELS, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label"])
        for i in index.tolist():
            ref = refs[i]
            link = out / "train" / f"{ref.id}.tif"
            if not link.is_symlink():
                link.symlink_to(ref.path.resolve())
            writer.writerow([ref.id, int(labels[i])])
    return out
