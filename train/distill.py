"""Distillation targets: a teacher ONNX model's 8-view TTA probabilities for the training patches.

The student trains against (1 - w) * label + w * teacher (binary cross-entropy is linear in its
target, so this is the weighted sum of the two losses). The teacher averages the dihedral group,
which the student then learns to reproduce from one view: TTA's gain at one view's cost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.model_info import read_model_info
from hcd_edge.train.data import PatchArrays

SPLIT_KEYS = ("kind", "seed", "val_fraction", "n_train", "n_val", "n_holdout", "holdout_from")


@dataclass(frozen=True)
class Teacher:
    """Soft targets for the training patches, in training-row order."""

    path: Path
    sha256: str  # of the teacher file: recorded in provenance
    probs: np.ndarray  # (N,) float32 TTA probabilities
    same_split: bool  # the teacher's recorded split equals the student's (no holdout leak)

    @property
    def fingerprint(self) -> str:
        """sha1 of the targets: a resumed run refuses different ones."""
        return hashlib.sha1(self.probs.tobytes()).hexdigest()

    def provenance(self, weight: float) -> dict:
        """What goes into the student's metadata."""
        return {"teacher": self.path.name, "teacher_sha256": self.sha256, "weight": weight,
                "targets": "8-view dihedral TTA probabilities", "same_split": self.same_split}


def load_teacher(path: Path, train: PatchArrays, split: dict, *, threads: int | None = None) -> Teacher:
    """Score the training patches with the teacher (ONNX Runtime FP32, 8 dihedral views averaged)."""
    from hcd_edge.train.compare import VIEWS, onnx_probabilities

    path = Path(path)
    if not path.is_file():
        raise DataError(f"--teacher {path}: no such file (give an ONNX model, e.g. from hcd-edge export)")
    teacher_split = read_model_info(path).provenance.get("split") or {}
    views = [onnx_probabilities(path, train, view=k, threads=threads) for k in range(VIEWS)]
    probs = np.mean(views, axis=0).astype(np.float32)
    same = all(teacher_split.get(k) == split.get(k) for k in SPLIT_KEYS)
    return Teacher(path, _sha256(path), probs, same)


def soft_targets(labels, teacher, weight: float):
    """(1 - weight) * labels + weight * teacher, elementwise (torch tensors or arrays)."""
    return labels * (1.0 - weight) + teacher * weight


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
