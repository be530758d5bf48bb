"""Checkpoints: best.pt (what export needs) and last.pt (what resume needs), written atomically.

Both are plain dicts of tensors and JSON-like values, so torch.load(weights_only=True) reads
them without unpickling code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from hcd_edge.atomic import atomic_path
from hcd_edge.errors import DataError, ModelError
from hcd_edge.spec import PreprocessSpec
from hcd_edge.train.models import ModelConfig

FORMAT = "hcd-edge-checkpoint"
VERSION = 1
BEST = "best.pt"
LAST = "last.pt"


@dataclass(frozen=True)
class ModelCheckpoint:
    """A trained model and what its ONNX metadata needs."""

    model: ModelConfig
    state_dict: dict
    spec: PreprocessSpec
    threshold: float  # Youden's J threshold on validation
    metrics: dict  # validation summary
    provenance: dict  # data, split, seed, command, versions
    epoch: int  # the epoch that produced these weights


def save_model_checkpoint(path: Path, ckpt: ModelCheckpoint, extra: dict | None = None) -> Path:
    """Write ckpt (and, for last.pt, the resume state in `extra`) to path atomically."""
    doc = {
        "format": FORMAT, "version": VERSION, "model": ckpt.model.to_dict(),
        "state_dict": ckpt.state_dict, "spec": ckpt.spec.to_dict(), "threshold": ckpt.threshold,
        "metrics": ckpt.metrics, "provenance": ckpt.provenance, "epoch": ckpt.epoch,
        "resume": extra,
    }
    with atomic_path(Path(path)) as tmp:
        torch.save(doc, tmp)
    return Path(path)


def load_checkpoint_doc(path: Path) -> dict:
    """The raw checkpoint dict; ModelError when missing or not an hcd-edge checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist; train first with `hcd-edge train`")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle and torch errors all mean "not a checkpoint"
        raise ModelError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{path} is not an hcd-edge checkpoint (written by `hcd-edge train`)")
    if doc.get("version") != VERSION:
        raise ModelError(f"{path} has checkpoint version {doc.get('version')}; this hcd-edge reads {VERSION}")
    return doc


def load_model_checkpoint(path: Path) -> ModelCheckpoint:
    """The model part of a checkpoint (best.pt or last.pt)."""
    doc = load_checkpoint_doc(path)
    try:
        return ModelCheckpoint(
            model=ModelConfig.from_dict(doc["model"]), state_dict=doc["state_dict"],
            spec=PreprocessSpec.from_dict(doc["spec"]), threshold=float(doc["threshold"]),
            metrics=dict(doc["metrics"]), provenance=dict(doc["provenance"]), epoch=int(doc["epoch"]),
        )
    except (KeyError, TypeError, ValueError, DataError) as exc:
        raise ModelError(f"{path} is an incomplete hcd-edge checkpoint: {exc}") from exc
