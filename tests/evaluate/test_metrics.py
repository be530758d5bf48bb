"""evaluation_metrics: confusion at the threshold, rates, Brier and the reliability table."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hcd_edge.evaluate.metrics import calibration, evaluation_metrics


def test_confusion_rates_and_brier_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    probs = np.array([0.9, 0.6, 0.3, 0.5, 0.1, 0.2, 0.7, 0.5])
    m = evaluation_metrics(labels, probs, threshold=0.5)
    # p >= 0.5 is positive: tp = 0.9, 0.6, 0.5(label 1); fp = 0.5(label 0), 0.7; fn = 0.3
    assert m["confusion"] == {"tn": 2, "fp": 2, "fn": 1, "tp": 3}
    assert m["n"] == 8 and m["positives"] == 4 and m["negatives"] == 4
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["sensitivity"] == pytest.approx(3 / 4)
    assert m["specificity"] == pytest.approx(2 / 4)
    assert m["precision"] == pytest.approx(3 / 5)
    assert m["brier"] == pytest.approx(float(np.mean((probs - labels) ** 2)))
    assert m["auc"] == pytest.approx(roc_auc_score(labels, probs), abs=1e-12)


def test_one_class_has_no_auc_and_no_specificity():
    m = evaluation_metrics(np.array([1, 1, 1]), np.array([0.2, 0.8, 0.9]), threshold=0.5)
    assert m["auc"] is None
    assert m["specificity"] is None
    assert m["sensitivity"] == pytest.approx(2 / 3)


def test_calibration_bins_and_ece():
    labels = np.array([0, 0, 1, 1, 1])
    probs = np.array([0.05, 0.15, 0.15, 0.95, 1.0])  # 1.0 falls in the last bin
    table = calibration(labels, probs, bins=10)
    counts = [b["n"] for b in table["bins"]]
    assert counts == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    first, second, last = table["bins"][0], table["bins"][1], table["bins"][9]
    assert second["mean_probability"] == pytest.approx(0.15) and second["observed"] == 0.5
    assert last["observed"] == 1.0
    expected = (1 * 0.05 + 2 * abs(0.5 - 0.15) + 2 * abs(1.0 - 0.975)) / 5
    assert table["ece"] == pytest.approx(expected)
    assert first["low"] == 0.0 and first["high"] == 0.1
