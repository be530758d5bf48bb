"""Labelled patches in memory: Kaggle layout, class folders 0/ 1/, or PCam HDF5, as uint8 NHWC.

All 5,000 real patches are 138 MB as uint8, so a dataset is decoded once (through
hcd_edge.decode, the decoder the runtime uses) and normalized and augmented later in torch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.decode import decode_batch, status_message
from hcd_edge.errors import DataError
from hcd_edge.score.sources import open_patch_set, read_path_list
from hcd_edge.spec import PATCH_SIZE

PCAM_PATTERN = "camelyonpatch_level_2_split_{split}_{xy}.h5"
PCAM_SPLITS = ("train", "valid", "test")
LIST_SUFFIXES = (".txt", ".csv", ".lst")  # --data FILE with one folder per line
SYNTHETIC_INFO = "synthetic.json"  # hcd_edge.synthetic writes it beside train_labels.csv


@dataclass(frozen=True)
class PatchArrays:
    """Labelled patches decoded into memory, index-aligned."""

    pixels: np.ndarray  # (N, 96, 96, 3) uint8 RGB
    labels: np.ndarray  # (N,) int8 in {0, 1}
    ids: tuple[str, ...]
    source: str  # human description of where they came from

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> PatchArrays:
        """The patches at `index`, in that order."""
        return PatchArrays(self.pixels[index], self.labels[index],
                           tuple(self.ids[i] for i in index), self.source)


@dataclass(frozen=True)
class Dataset:
    """What --data points at: labelled sets to split, or PCam's own train and valid splits."""

    patches: PatchArrays  # everything to split (the folders one after another), or PCam train
    val: PatchArrays | None  # PCam valid when the folder has it (no split needed)
    provenance: dict  # source, kind, licence note
    folders: tuple[tuple[Path, int], ...] = ()  # (folder, patch count) in the order of `patches`

    def folder_rows(self, folder: Path) -> np.ndarray:
        """Row indices of `patches` that came from `folder`; DataError when it is not one of them."""
        start = 0
        for path, count in self.folders:
            if _same_path(path, folder):
                return np.arange(start, start + count)
            start += count
        names = ", ".join(str(p) for p, _ in self.folders)
        raise DataError(f"{folder} is not one of the --data folders ({names})")


def data_folders(paths: Path | Sequence[Path]) -> tuple[Path, ...]:
    """The folders named by --data: each path, or the folders listed in a .txt/.csv list file."""
    items = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    folders: list[Path] = []
    for item in items:
        if item.is_file() and item.suffix.lower() in LIST_SUFFIXES:
            listed = read_path_list(item)
            if not listed:
                raise DataError(f"data list {item} names no folders")
            folders.extend(listed)
        else:
            folders.append(item)
    if not folders:
        raise DataError("no training data given")
    seen: set[Path] = set()
    for f in folders:
        key = f.resolve()
        if key in seen:
            raise DataError(f"training data {f} is given twice")
        seen.add(key)
    return tuple(folders)


def load_dataset(path: Path | Sequence[Path], *, limit: int | None = None,
                 threads: int | None = None) -> Dataset:
    """Decode the labelled patches at `path` (or several folders); `limit` keeps the first N of each."""
    folders = data_folders(path)
    for folder in folders:
        if not folder.exists():
            raise DataError(f"training data {folder} does not exist")
    if len(folders) > 1:
        return _multi_folder_dataset(folders, limit, threads)
    path = folders[0]
    pcam = _pcam_files(path)
    if pcam is not None:
        return _pcam_dataset(path, pcam, limit)
    patches = load_patch_folder(path, limit=limit, threads=threads)
    return Dataset(patches=patches, val=None, provenance=_folder_provenance(path, patches),
                   folders=((path, len(patches)),))


def _multi_folder_dataset(folders: tuple[Path, ...], limit: int | None, threads: int | None) -> Dataset:
    """Several Kaggle or class-folder sets, concatenated in order; ids must not repeat across them."""
    parts: list[PatchArrays] = []
    owner: dict[str, Path] = {}
    for folder in folders:
        if _pcam_files(folder) is not None:
            raise DataError(f"{folder} holds PCam HDF5 files: several --data folders must each be a "
                            "Kaggle folder (train/ + train_labels.csv) or class folders 0/ 1/")
        part = load_patch_folder(folder, limit=limit, threads=threads)
        clashes = [i for i in part.ids if i in owner]
        if clashes:
            raise DataError(f"{len(clashes)} patch ids of {folder} are also in {owner[clashes[0]]} "
                            f"(e.g. {clashes[0]}); give each patch once")
        owner.update((i, folder) for i in part.ids)
        parts.append(part)
    patches = PatchArrays(np.concatenate([p.pixels for p in parts]), np.concatenate([p.labels for p in parts]),
                          tuple(i for p in parts for i in p.ids), " + ".join(p.source for p in parts))
    provenance = {"source": patches.source, "n": len(patches), "positives": int(patches.labels.sum()),
                  "folders": [_folder_provenance(f, p) for f, p in zip(folders, parts, strict=True)]}
    return Dataset(patches=patches, val=None, provenance=provenance,
                   folders=tuple((f, len(p)) for f, p in zip(folders, parts, strict=True)))


def _same_path(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def load_patch_folder(path: Path, *, limit: int | None = None, threads: int | None = None) -> PatchArrays:
    """A Kaggle-layout or class-folder set decoded to uint8; DataError lists undecodable files."""
    patch_set = open_patch_set(path)
    if patch_set.labels is None:
        raise DataError(f"{path} has no labels: give a Kaggle folder (train/ + train_labels.csv), "
                        "class folders 0/ and 1/, or PCam HDF5 files")
    refs = patch_set.refs[:limit] if limit else patch_set.refs
    if not refs:
        raise DataError(f"{path} holds no labelled patches")
    pixels = np.empty((len(refs), PATCH_SIZE, PATCH_SIZE, 3), np.uint8)
    statuses = decode_batch([r.path for r in refs], pixels, threads=threads)
    bad = np.flatnonzero(statuses)
    if bad.size:
        examples = "; ".join(f"{refs[i].path}: {status_message(int(statuses[i]))}" for i in bad[:3])
        raise DataError(f"{bad.size} of {len(refs)} patches in {path} could not be decoded "
                        f"(e.g. {examples}); remove or fix them and their label rows")
    labels = np.asarray(patch_set.labels[:len(refs)], np.int8)
    return PatchArrays(pixels, labels, tuple(r.id for r in refs), patch_set.source)


def _folder_provenance(path: Path, patches: PatchArrays) -> dict:
    info = {"source": patches.source, "n": len(patches), "positives": int(patches.labels.sum())}
    synthetic = path / SYNTHETIC_INFO
    if synthetic.is_file():
        try:
            meta = json.loads(synthetic.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read {synthetic}: {exc}") from exc
        info["generated"] = {"generator": meta.get("generator"), "seed": meta.get("seed")}
    return info


def _pcam_files(path: Path) -> dict[str, tuple[Path, Path]] | None:
    """{split: (x file, y file)} when path is a PCam folder or one PCam _x/_y file, else None."""
    if path.is_file() and path.name.startswith("camelyonpatch_level_2_split_"):
        split = path.name.split("_")[4]
        folder = path.parent
        return {split: _pcam_pair(folder, split)}
    if not path.is_dir():
        return None
    found = {s: _pcam_pair(path, s) for s in PCAM_SPLITS
             if (path / PCAM_PATTERN.format(split=s, xy="x")).exists()}
    return found or None


def _pcam_pair(folder: Path, split: str) -> tuple[Path, Path]:
    x, y = (folder / PCAM_PATTERN.format(split=split, xy=xy) for xy in ("x", "y"))
    for f in (x, y):
        if not f.is_file():
            raise DataError(f"PCam file {f} is missing (each split needs its _x.h5 and _y.h5)")
    return x, y


def _pcam_dataset(path: Path, files: dict[str, tuple[Path, Path]], limit: int | None) -> Dataset:
    if "train" in files:
        train = read_pcam(*files["train"], limit=limit)
        val = read_pcam(*files["valid"], limit=limit) if "valid" in files else None
    else:
        split = next(iter(files))
        train, val = read_pcam(*files[split], limit=limit), None
    provenance = {"source": f"PCam HDF5 {path}", "n": len(train), "positives": int(train.labels.sum()),
                  "val": "PCam valid split" if val is not None else "split from the data"}
    return Dataset(patches=train, val=val, provenance=provenance, folders=((path, len(train)),))


def read_pcam(x_path: Path, y_path: Path, *, limit: int | None = None) -> PatchArrays:
    """One PCam split: x (N, 96, 96, 3) uint8 dataset "x", y (N, 1, 1, 1) uint8 dataset "y"."""
    import h5py

    x = _read_h5(h5py, x_path, "x", limit)
    y = _read_h5(h5py, y_path, "y", limit)
    if x.ndim != 4 or x.shape[1:] != (PATCH_SIZE, PATCH_SIZE, 3) or x.dtype != np.uint8:
        raise DataError(f"{x_path}: dataset 'x' must be (N, 96, 96, 3) uint8, got {x.shape} {x.dtype}")
    y = y.reshape(len(y), -1)
    if y.shape != (len(x), 1):
        raise DataError(f"{y_path}: dataset 'y' must hold one label per patch of {x_path} "
                        f"({len(x)}), got shape {y.shape}")
    y = y[:, 0]
    bad = np.flatnonzero((y != 0) & (y != 1))
    if bad.size:
        raise DataError(f"{y_path}: label {y[bad[0]]} at index {bad[0]} is not 0 or 1 "
                        f"({bad.size} such labels)")
    stem = x_path.name.removesuffix("_x.h5")
    ids = tuple(f"{stem}:{i}" for i in range(len(x)))
    return PatchArrays(np.ascontiguousarray(x), y.astype(np.int8), ids, f"PCam {x_path.parent} ({stem})")


def _read_h5(h5py, path: Path, name: str, limit: int | None) -> np.ndarray:
    try:
        with h5py.File(path, "r") as fh:
            if name not in fh:
                raise DataError(f"{path} has no dataset {name!r} (found {sorted(fh.keys())})")
            data = fh[name]
            return np.asarray(data[:limit] if limit else data[()])
    except OSError as exc:
        raise DataError(f"cannot read PCam file {path}: {exc}") from exc
