"""Labelled patch sets from folders, label CSVs and split lists, one or several at a time.

Accepted wherever labels are needed (evaluate, build-engine --calib/--val, bench --val):
- a Kaggle folder (train/ + train_labels.csv) or class folders 0/ and 1/;
- a labels CSV: `id,label` (ids resolved to ID.tif in the CSV's train/ folder, else beside it),
  `path,label` (paths relative to the CSV), or `id,label,folder` (train's split lists: each id
  looked up in its data folder);
- any other folder, patch file or path list, unlabelled.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.score.sources import (
    PatchRef,
    PatchSet,
    open_patch_set,
    patch_ref,
    sort_key,
)

LABEL_LIST_SUFFIXES = (".csv",)


def open_labelled(path: str | os.PathLike, *, recursive: bool = False) -> PatchSet:
    """The PatchSet of one source: labelled when it is a labelled folder or a labels CSV."""
    p = Path(path)
    if p.suffix.lower() in LABEL_LIST_SUFFIXES and p.is_file():
        header = _csv_header(p)
        if "label" in header and ("id" in header or "path" in header):
            return read_label_list(p)
    if not p.exists() and not p.is_symlink():
        raise DataError(f"{p} does not exist")
    return open_patch_set(p, recursive=recursive)


def open_labelled_sets(paths: Sequence[str | os.PathLike], *, recursive: bool = False) -> PatchSet:
    """Several sources as one PatchSet (sorted by path, repeated paths once); labels only when all have them."""
    sets = [open_labelled(p, recursive=recursive) for p in paths]
    if len(sets) == 1:
        return sets[0]
    labelled = all(s.labels is not None for s in sets)
    pairs: dict[Path, tuple[PatchRef, int]] = {}
    for s in sets:
        for i, ref in enumerate(s.refs):
            pairs.setdefault(ref.path, (ref, int(s.labels[i]) if s.labels is not None else -1))
    ordered = sorted(pairs.values(), key=lambda item: sort_key(item[0]))
    labels = np.array([y for _, y in ordered], dtype=np.int8) if labelled else None
    return PatchSet(refs=tuple(r for r, _ in ordered), labels=labels,
                    source="; ".join(s.source for s in sets))


def require_labels(patches: PatchSet, what: str) -> PatchSet:
    """The set itself, or DataError saying which labelled inputs `what` accepts."""
    if patches.labels is None:
        raise DataError(
            f"{what} {patches.source} has no labels: give a Kaggle folder (train/ + "
            "train_labels.csv), class folders 0/ and 1/, or a CSV with columns id,label or "
            "path,label (e.g. from `hcd-edge split`)"
        )
    return patches


def read_label_list(csv_path: Path) -> PatchSet:
    """A labelled PatchSet from an `id,label`, `path,label` or `id,label,folder` CSV."""
    rows = _csv_rows(csv_path)
    header = [h.strip().lower() for h in rows[0]]
    col: dict[str, int] = {name: header.index(name) for name in ("id", "label", "path", "folder")
                           if name in header}
    pairs: list[tuple[PatchRef, int]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) <= max(col.values()):
            raise DataError(f"{csv_path}:{line_no}: expected {len(header)} columns, got {row!r}")
        label = _label(row[col["label"]], csv_path, line_no)
        pairs.append((patch_ref(_patch_path(csv_path, row, col, label)), label))
    pairs.sort(key=lambda item: sort_key(item[0]))
    missing = [r.path for r, _ in pairs if not r.path.exists()]
    if missing:
        raise DataError(f"{csv_path} lists {len(missing)} patches that do not exist, e.g. {missing[0]}")
    return PatchSet(refs=tuple(r for r, _ in pairs),
                    labels=np.array([y for _, y in pairs], dtype=np.int8),
                    source=f"label list {csv_path}")


def _patch_path(csv_path: Path, row: list[str], col: dict[str, int], label: int) -> Path:
    if "path" in col and row[col["path"]].strip():
        text = row[col["path"]].strip()
        return Path(text) if os.path.isabs(text) else csv_path.parent / text
    pid = row[col["id"]].strip()
    if "folder" in col and row[col["folder"]].strip():
        return _in_data_folder(Path(row[col["folder"]].strip()), pid, label)
    return _in_data_folder(csv_path.parent, pid, label)


def _in_data_folder(folder: Path, pid: str, label: int) -> Path:
    """Where a labelled folder keeps patch `pid`: train/, the class folder, or the folder itself."""
    for candidate in (folder / "train", folder / str(label)):
        if candidate.is_dir():
            return candidate / f"{pid}.tif"
    return folder / f"{pid}.tif"


def _label(text: str, csv_path: Path, line_no: int) -> int:
    value = text.strip()
    if value not in ("0", "1"):
        raise DataError(f"{csv_path}:{line_no}: label must be 0 or 1, got {value!r}")
    return int(value)


def _csv_header(csv_path: Path) -> list[str]:
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            first = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from exc
    return [h.strip().lower() for h in first]


def _csv_rows(csv_path: Path) -> list[list[str]]:
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from exc
    if not rows:
        raise DataError(f"{csv_path} is empty")
    return rows
