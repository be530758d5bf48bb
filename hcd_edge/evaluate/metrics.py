"""Classification metrics of probabilities against 0/1 labels: AUC, confusion, Brier, calibration."""

from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10  # equal-width probability bins of the reliability table


def evaluation_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float,
                       bins: int = CALIBRATION_BINS) -> dict:
    """JSON-ready metrics: n, auc (None with one class), accuracy, sensitivity, specificity,
    precision, confusion {tn, fp, fn, tp} at `threshold` (label 1 when p >= threshold), brier,
    calibration {bins, ece}."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    predicted = p >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    tn = int(np.sum(~predicted & (y == 0)))
    n = len(y)
    return {
        "n": n,
        "positives": int(y.sum()),
        "negatives": n - int(y.sum()),
        "auc": roc_auc(y, p),
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, n),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "brier": float(np.mean((p - y) ** 2)) if n else None,
        "calibration": calibration(y, p, bins),
    }


def roc_auc(labels: np.ndarray, probs: np.ndarray) -> float | None:
    """sklearn's ROC AUC, or None when the labels hold fewer than two classes."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, probs))


def calibration(labels: np.ndarray, probs: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability table: per equal-width bin its range, count, mean probability and observed
    positive fraction; ece = count-weighted mean |observed - mean probability|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1], right=False), 0, bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        row = {"low": round(float(edges[b]), 6), "high": round(float(edges[b + 1]), 6), "n": count,
               "mean_probability": None, "observed": None}
        if count:
            mean_p, observed = float(probs[inside].mean()), float(labels[inside].mean())
            row.update(mean_probability=mean_p, observed=observed)
            ece += count * abs(observed - mean_p)
        table.append(row)
    return {"bins": table, "ece": ece / len(labels) if len(labels) else None}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None
