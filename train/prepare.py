"""From TrainConfig to data ready to train on: load, split, preprocessing spec, provenance."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge import __version__
from hcd_edge.spec import IMAGENET_SPEC, PreprocessSpec
from hcd_edge.train.config import TrainConfig
from hcd_edge.train.data import PatchArrays, load_dataset
from hcd_edge.train.models import Arch
from hcd_edge.train.split import Balance, positive_weight, split_indices


@dataclass(frozen=True)
class Prepared:
    """The training and validation patches of a run and what follows from them."""

    train: PatchArrays
    val: PatchArrays
    spec: PreprocessSpec  # normalization the model is trained with and exported with
    pos_weight: float | None  # loss weight of positives (class weights), else None
    provenance: dict  # goes into the ONNX metadata
    fingerprint: str  # sha1 of the split's ids and labels: resume refuses other data


def prepare_data(config: TrainConfig) -> Prepared:
    """Load config.data, split it (unless PCam brings its valid split) and derive the spec."""
    dataset = load_dataset(config.data, limit=config.limit, threads=config.threads)
    if dataset.val is not None:
        train, val = dataset.patches, dataset.val
    else:
        tr, va = split_indices(dataset.patches.labels, config.val_fraction, config.seed, config.split)
        train, val = dataset.patches.subset(tr), dataset.patches.subset(va)
    spec = IMAGENET_SPEC if config.model.arch is Arch.RESNET50 else dataset_spec(train.pixels)
    weight = positive_weight(train.labels) if config.balance is Balance.CLASS_WEIGHTS else None
    provenance = _provenance(config, dataset.provenance, train, val, dataset.val is not None)
    return Prepared(train, val, spec, weight, provenance, _fingerprint(train, val))


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


def _fingerprint(train: PatchArrays, val: PatchArrays) -> str:
    digest = hashlib.sha1()
    for part in (train, val):
        digest.update("\n".join(part.ids).encode())
        digest.update(part.labels.tobytes())
    return digest.hexdigest()


def _provenance(config: TrainConfig, data: dict, train: PatchArrays, val: PatchArrays,
                pcam_valid: bool) -> dict:
    import torch

    split = {"kind": "PCam valid split" if pcam_valid else config.split.value,
             "seed": config.seed, "val_fraction": None if pcam_valid else config.val_fraction,
             "n_train": len(train), "n_val": len(val), "val_positives": int(val.labels.sum())}
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
