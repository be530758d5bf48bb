"""Validation metrics (sklearn), the Youden threshold, per-epoch history, metrics.json and .csv."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from hcd_edge.atomic import write_text_atomic


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of training: losses, accuracies, validation AUC, learning rate, wall time."""

    epoch: int  # 1-based, counted over all stages
    stage: int  # 0 for single-stage training; 0 then 1 for ResNet50 fine-tuning
    lr: float  # learning rate at the end of the epoch
    train_loss: float
    train_acc: float  # at probability 0.5, on augmented batches
    val_loss: float
    val_acc: float  # at probability 0.5
    val_auc: float
    seconds: float  # wall time of the epoch, training and validation
    cpu_seconds: float = 0.0  # process CPU time of the epoch, all threads (robust to a busy CPU)


def roc_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return math.nan
    return float(roc_auc_score(labels, probs))


def youden_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """The probability threshold maximising sensitivity + specificity - 1 (Youden's J)."""
    from sklearn.metrics import roc_curve

    if len(np.unique(labels)) < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(labels, probs)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 0.0, 1.0))  # roc_curve's first threshold is inf


BOOTSTRAP_RESAMPLES = 2000  # enough for stable 2.5 / 97.5 percentiles of an AUC


def bootstrap_aucs(labels: np.ndarray, scores: list[np.ndarray], *, resamples: int = BOOTSTRAP_RESAMPLES,
                   seed: int = 0) -> np.ndarray:
    """(resamples, models) AUCs of each model's scores on the same stratified resamples of the patches.

    Positives and negatives are resampled separately (each class keeps its count), and every
    model sees the same resample, so differences between columns are paired: what two models
    share (the patches that are hard for both) cancels out of their difference.
    """
    from sklearn.metrics import roc_auc_score

    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels != 1)
    if not len(positives) or not len(negatives):
        raise ValueError("a bootstrap of the AUC needs patches of both classes")
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, len(scores)))
    for r in range(resamples):
        rows = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        for m, score in enumerate(scores):
            out[r, m] = roc_auc_score(labels[rows], score[rows])
    return out


def interval95(samples: np.ndarray) -> list[float]:
    """[2.5th, 97.5th] percentile of bootstrap samples: a 95% confidence interval."""
    return [float(v) for v in np.percentile(samples, [2.5, 97.5])]


@dataclass(frozen=True)
class Confusion:
    """Counts at one threshold (a patch is called 1 when its probability is >= threshold)."""

    threshold: float
    tn: int
    fp: int
    fn: int
    tp: int

    @property
    def sensitivity(self) -> float:
        """tp / (tp + fn): the fraction of tumour patches called tumour."""
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def specificity(self) -> float:
        """tn / (tn + fp): the fraction of normal patches called normal."""
        return self.tn / max(self.tn + self.fp, 1)

    @property
    def accuracy(self) -> float:
        """Fraction of patches called right."""
        return (self.tp + self.tn) / max(self.tn + self.fp + self.fn + self.tp, 1)

    def matrix(self) -> np.ndarray:
        """[[tn, fp], [fn, tp]]: rows are the true label, columns the call."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


def confusion(labels: np.ndarray, probs: np.ndarray, threshold: float) -> Confusion:
    """The confusion counts of calling probs >= threshold."""
    calls = probs >= threshold
    pos = labels == 1
    return Confusion(threshold, int((~calls & ~pos).sum()), int((calls & ~pos).sum()),
                     int((~calls & pos).sum()), int((calls & pos).sum()))


def calibration(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict:
    """Brier score, expected calibration error and the reliability table (equal-width bins)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            mean_p, frac = float(probs[inside].mean()), float(labels[inside].mean())
            ece += inside.mean() * abs(mean_p - frac)
            table.append({"bin": [round(float(edges[b]), 4), round(float(edges[b + 1]), 4)], "n": int(inside.sum()),
                          "mean_probability": mean_p, "fraction_positive": frac})
    brier = float(np.mean((probs - labels) ** 2))
    return {"brier": brier, "ece": float(ece), "reliability": table}


def summary(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict:
    """Validation metrics at the stored threshold, for metrics.json and the ONNX metadata."""
    c = confusion(labels, probs, threshold)
    cal = calibration(labels, probs)
    return {
        "n": len(labels), "positives": int(labels.sum()),
        "auc": roc_auc(labels, probs), "threshold": threshold,
        "accuracy": c.accuracy, "sensitivity": c.sensitivity, "specificity": c.specificity,
        "accuracy_at_0.5": confusion(labels, probs, 0.5).accuracy,
        "confusion": {"tn": c.tn, "fp": c.fp, "fn": c.fn, "tp": c.tp},
        "brier": cal["brier"], "ece": cal["ece"], "reliability": cal["reliability"],
    }


def write_metrics(out: Path, history: list[EpochRecord], final: dict) -> tuple[Path, Path]:
    """Write out/metrics.json (history + final) and out/metrics.csv (history), atomically."""
    json_path, csv_path = Path(out) / "metrics.json", Path(out) / "metrics.csv"
    doc = {"history": [asdict(r) for r in history], "final": final}
    write_text_atomic(json_path, json.dumps(_finite(doc), indent=2, sort_keys=True) + "\n")
    names = [f.name for f in fields(EpochRecord)]
    rows = [",".join(names)] + [",".join(_cell(getattr(r, n)) for n in names) for r in history]
    write_text_atomic(csv_path, "\n".join(rows) + "\n")
    return json_path, csv_path


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _finite(obj):
    """NaN/inf -> None, so metrics.json is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj

