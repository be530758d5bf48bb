"""The starter model's own split of the real patches, as Kaggle-layout folders of links.

Benchmarks calibrate INT8 on the training part and measure AUC on patches the model did not
train on, without copying any patch: the untouched holdout for a model trained with
`--holdout N --holdout-from FOLDER` (starter v2 on: both real sets, 1,600 of pcam-real-extra
held out), else the validation split of pcam-real-5k it was selected on (v1).
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
    about: str = ""  # what the val folder is, for a report line


def starter_split(real: Path, work: Path, provenance: dict) -> SplitFolders:
    """The split a trained model records (its provenance "split" and "data" "folders"): its
    holdout when it drew one from a folder beside `real`, else `real`'s own stratified split."""
    split, folders = provenance.get("split", {}), (provenance.get("data") or {}).get("folders", [])
    seed, fraction = int(split.get("seed", 0)), float(split.get("val_fraction") or 0.2)
    names = [folder_name(f.get("source", "")) for f in folders]
    paths = [real.parent / n for n in names]
    held_from = Path(split["holdout_from"]).name if split.get("holdout_from") else None
    if held_from in names and split.get("n_holdout") and all(p.is_dir() for p in paths):
        return holdout_split(paths, real.parent / held_from, int(split["n_holdout"]), seed, fraction, work)
    found = split_real_patches(real, work, seed, fraction)
    overlap = " (the model trained on other sets too: these may include its training patches)" if held_from else ""
    return SplitFolders(found.train, found.val, seed, fraction,
                        f"the validation split of {real.name} (seed {seed}, {fraction:.0%}){overlap}")


def folder_name(source: str) -> str:
    """The folder's name in a patch set's description, e.g. 'kaggle layout a/b (train_labels.csv)' -> 'b'."""
    text = source.removeprefix("kaggle layout ").removesuffix(f" ({KAGGLE_LABELS})")
    return Path(text).name


def holdout_split(folders: list[Path], held_from: Path, n_holdout: int, seed: int,
                  val_fraction: float, work: Path) -> SplitFolders:
    """Reproduce train's rows (hcd_edge.train.prepare): the holdout drawn from `held_from`, then
    train/select of the rest; link the training rows (calibration) and the holdout (AUC)."""
    from hcd_edge.train.split import SplitKind, holdout_indices, split_indices

    sets = [open_patch_set(f) for f in folders]
    if any(s.labels is None for s in sets):
        raise ValueError(f"{folders} must all be Kaggle-layout folders with labels")
    refs = tuple(r for s in sets for r in s.refs)
    labels = np.concatenate([np.asarray(s.labels, np.int8) for s in sets])
    at = folders.index(held_from)
    first = sum(len(s.refs) for s in sets[:at])  # the folders' rows follow one another, as in train
    pool = np.arange(first, first + len(sets[at].refs))
    held = holdout_indices(labels, pool, n_holdout, seed)
    rest = np.setdiff1d(np.arange(len(labels)), held)
    train, _ = split_indices(labels[rest], val_fraction, seed, SplitKind.STRATIFIED)
    return SplitFolders(
        train=link_folder(refs, labels, rest[train], work / "split-train"),
        val=link_folder(refs, labels, held, work / "split-holdout"),
        seed=seed, val_fraction=val_fraction,
        about=f"the untouched holdout ({n_holdout} of {held_from.name}, seed {seed})",
    )


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
