"""From TrainConfig to data ready to train on: load, split, preprocessing spec, provenance."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcd_edge import __version__
from hcd_edge.spec import IMAGENET_SPEC, PreprocessSpec
from hcd_edge.train.config import TrainConfig
from hcd_edge.train.data import Dataset, PatchArrays, load_dataset
from hcd_edge.train.models import Arch
from hcd_edge.train.split import Balance, holdout_indices, positive_weight, split_indices


@dataclass(frozen=True)
class Prepared:
    """The training and validation patches of a run and what follows from them."""

    train: PatchArrays
    val: PatchArrays  # picks the best epoch and the threshold ("select" in the split lists)
    spec: PreprocessSpec  # normalization the model is trained with and exported with
    pos_weight: float | None  # loss weight of positives (class weights), else None
    provenance: dict  # goes into the ONNX metadata
    fingerprint: str  # sha1 of the split's ids and labels: resume refuses other data
    holdout: PatchArrays | None = None  # untouched by training and checkpoint choice; scored at the end
    split_lists: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)  # name -> (id, label, folder)


SPLIT_DIR = "split"  # run folder: split/train.csv, split/select.csv, split/holdout.csv


def prepare_data(config: TrainConfig) -> Prepared:
    """Load config.data, set the holdout aside, split the rest (unless PCam brings its valid split)."""
    dataset = load_dataset(config.data, limit=config.limit, threads=config.threads)
    rows = _split_rows(config, dataset)
    train = dataset.patches.subset(rows["train"])
    val = dataset.val if dataset.val is not None else dataset.patches.subset(rows["select"])
    holdout = dataset.patches.subset(rows["holdout"]) if "holdout" in rows else None
    spec = IMAGENET_SPEC if config.model.arch is Arch.RESNET50 else dataset_spec(train.pixels)
    weight = positive_weight(train.labels) if config.balance is Balance.CLASS_WEIGHTS else None
    provenance = _provenance(config, dataset.provenance, train, val, dataset.val is not None, holdout)
    lists = {name: _list_rows(dataset, r) for name, r in rows.items()}
    return Prepared(train, val, spec, weight, provenance, _fingerprint(train, val, holdout), holdout, lists)


def _split_rows(config: TrainConfig, dataset: Dataset) -> dict[str, np.ndarray]:
    """Row indices of dataset.patches for train, select (unless PCam valid) and holdout (when asked)."""
    labels = dataset.patches.labels
    rest = np.arange(len(labels))
    rows: dict[str, np.ndarray] = {}
    if config.holdout > 0:
        pool = dataset.folder_rows(config.holdout_from) if config.holdout_from is not None else rest
        rows["holdout"] = holdout_indices(labels, pool, config.holdout, config.seed)
        rest = np.setdiff1d(rest, rows["holdout"])
    if dataset.val is not None:
        rows["train"] = rest
        return rows
    tr, va = split_indices(labels[rest], config.val_fraction, config.seed, config.split)
    rows["train"], rows["select"] = rest[tr], rest[va]
    return rows


def _list_rows(dataset: Dataset, rows: np.ndarray) -> list[tuple[str, int, str]]:
    owner = np.repeat(np.arange(len(dataset.folders)), [n for _, n in dataset.folders])
    names = [str(f) for f, _ in dataset.folders]
    p = dataset.patches
    return [(p.ids[i], int(p.labels[i]), names[owner[i]] if len(owner) else "") for i in rows]


def write_split_lists(out: Path, prepared: Prepared) -> Path:
    """Write out/split/{train,select,holdout}.csv (id,label,folder) and return the folder."""
    folder = Path(out) / SPLIT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in prepared.split_lists.items():
        lines = ["id,label,folder"] + [f"{i},{y},{f}" for i, y, f in rows]
        tmp = folder / f"{name}.csv.tmp"
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(folder / f"{name}.csv")
    return folder


def dataset_spec(pixels: np.ndarray, chunk: int = 512) -> PreprocessSpec:
    """Per-channel mean and std (units of pixel/255, 4 decimals) of uint8 NHWC patches."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for start in range(0, len(pixels), chunk):
        block = pixels[start:start + chunk].reshape(-1, 3).astype(np.float64) / 255.0
        total += block.sum(axis=0)
        squares += (block * block).sum(axis=0)
    count = len(pixels) * pixels.shape[1] * pixels.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 1e-8))
    return PreprocessSpec(mean=tuple(round(float(v), 4) for v in mean),  # type: ignore[arg-type]
                          std=tuple(max(round(float(v), 4), 1e-4) for v in std))  # type: ignore[arg-type]


def _fingerprint(train: PatchArrays, val: PatchArrays, holdout: PatchArrays | None) -> str:
    digest = hashlib.sha1()
    for part in (train, val) if holdout is None else (train, val, holdout):
        digest.update("\n".join(part.ids).encode())
        digest.update(part.labels.tobytes())
    return digest.hexdigest()


def _provenance(config: TrainConfig, data: dict, train: PatchArrays, val: PatchArrays,
                pcam_valid: bool, holdout: PatchArrays | None) -> dict:
    import torch

    split = {"kind": "PCam valid split" if pcam_valid else config.split.value,
             "seed": config.seed, "val_fraction": None if pcam_valid else config.val_fraction,
             "n_train": len(train), "n_val": len(val), "val_positives": int(val.labels.sum())}
    if holdout is not None:
        split.update(n_holdout=len(holdout), holdout_positives=int(holdout.labels.sum()),
                     holdout_from=str(config.holdout_from) if config.holdout_from else "all folders")
    prov = {"data": data, "split": split, "balance": config.balance.value,
            "hcd_edge_version": __version__, "torch_version": str(torch.__version__)}
    if config.data_name:
        prov["data_name"] = config.data_name
    if config.command:
        prov["command"] = config.command
    commit = _git_commit()
    if commit:
        prov["commit"] = commit
    return prov


def _git_commit() -> str | None:
    """The commit of the hcd-edge checkout this code runs from, when it is one."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
