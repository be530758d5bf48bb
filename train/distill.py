"""Distillation targets: teacher ONNX models' 8-view TTA probabilities for the training patches.

The student trains against (1 - w) * label + w * teacher (binary cross-entropy is linear in its
target, so this is the weighted sum of the two losses). The teacher averages the dihedral group,
and several teachers are averaged (an ensemble), which the student then learns to reproduce
from one view: the ensemble's and TTA's gain at one model's and one view's cost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.manifest import sha256_file
from hcd_edge.model_info import read_model_info
from hcd_edge.train.data import PatchArrays

SPLIT_KEYS = ("kind", "seed", "val_fraction", "n_train", "n_val", "n_holdout", "holdout_from")


@dataclass(frozen=True)
class Teacher:
    """Soft targets for the training patches, in training-row order."""

    paths: tuple[Path, ...]
    sha256: tuple[str, ...]  # of each teacher file: recorded in provenance
    probs: np.ndarray  # (N,) float32 TTA probabilities, averaged over the teachers
    same_split: bool  # every teacher's recorded split equals the student's (no holdout leak)

    @property
    def fingerprint(self) -> str:
        """sha1 of the targets: a resumed run refuses different ones."""
        return hashlib.sha1(self.probs.tobytes()).hexdigest()

    def provenance(self, weight: float) -> dict:
        """What goes into the student's metadata."""
        return {"teachers": [p.name for p in self.paths], "teacher_sha256": list(self.sha256),
                "weight": weight, "targets": "8-view dihedral TTA probabilities, averaged over the teachers",
                "same_split": self.same_split}


def load_teacher(paths: Sequence[Path], train: PatchArrays, split: dict, *, threads: int | None = None) -> Teacher:
    """Score the training patches with each teacher (ONNX Runtime FP32, 8 dihedral views) and average."""
    from hcd_edge.train.compare import VIEWS, onnx_probabilities

    paths = tuple(Path(p) for p in paths)
    for path in paths:
        if not path.is_file():
            raise DataError(f"--teacher {path}: no such file (give an ONNX model, e.g. from hcd-edge export)")
    per_teacher = []
    for path in paths:
        views = [onnx_probabilities(path, train, view=k, threads=threads) for k in range(VIEWS)]
        per_teacher.append(np.mean(views, axis=0))
    splits = [read_model_info(p).provenance.get("split") or {} for p in paths]
    same = all(same_split(s, split) for s in splits)
    probs = np.mean(per_teacher, axis=0).astype(np.float32)
    return Teacher(paths, tuple(sha256_file(p) for p in paths), probs, same)


def same_split(recorded: dict, split: dict) -> bool:
    """Whether a teacher's recorded split is the run's: same settings, the holdout from the same-named
    folder (a folder given as a relative path in one run and an absolute one in the other is the same)."""
    return all(_comparable(k, recorded.get(k)) == _comparable(k, split.get(k)) for k in SPLIT_KEYS)


def _comparable(key: str, value):
    if key == "holdout_from" and isinstance(value, str):
        return Path(value).name
    return value


def soft_targets(labels, teacher, weight: float):
    """(1 - weight) * labels + weight * teacher, elementwise (torch tensors or arrays)."""
    return labels * (1.0 - weight) + teacher * weight

