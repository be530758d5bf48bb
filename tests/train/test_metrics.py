"""Metrics: Youden threshold, confusion counts, calibration, bootstrap intervals, metrics.json / .csv."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hcd_edge.train.metrics import (
    EpochRecord,
    bootstrap_aucs,
    calibration,
    confusion,
    interval95,
    roc_auc,
    summary,
    write_metrics,
    youden_threshold,
)

LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
PROBS = np.array([0.1, 0.2, 0.3, 0.6, 0.55, 0.7, 0.8, 0.9])


def test_youden_threshold_maximises_sensitivity_plus_specificity():
    t = youden_threshold(LABELS, PROBS)
    c = confusion(LABELS, PROBS, t)
    j = [confusion(LABELS, PROBS, p).sensitivity + confusion(LABELS, PROBS, p).specificity for p in PROBS]
    assert c.sensitivity + c.specificity == pytest.approx(max(j))
    assert 0.0 <= t <= 1.0


def test_confusion_counts_calls_at_or_above_the_threshold():
    c = confusion(LABELS, PROBS, 0.6)
    assert (c.tn, c.fp, c.fn, c.tp) == (3, 1, 1, 3)
    assert c.matrix().tolist() == [[3, 1], [1, 3]]
    assert (c.sensitivity, c.specificity, c.accuracy) == (0.75, 0.75, 0.75)


def test_calibration_of_perfect_and_useless_predictions():
    perfect = calibration(LABELS, LABELS.astype(float))
    assert perfect["brier"] == 0 and perfect["ece"] == 0
    useless = calibration(LABELS, np.full(8, 0.5))
    assert useless["brier"] == pytest.approx(0.25) and useless["reliability"][0]["n"] == 8


def test_single_class_auc_is_nan_and_threshold_defaults():
    assert math.isnan(roc_auc(np.zeros(4), np.linspace(0, 1, 4)))
    assert youden_threshold(np.zeros(4), np.linspace(0, 1, 4)) == 0.5


def test_metrics_files_are_strict_json_and_csv(tmp_path):
    history = [EpochRecord(1, 0, 1e-3, 0.5, 0.7, 0.6, 0.65, math.nan, 1.5, 2.9),
               EpochRecord(2, 0, 5e-4, 0.4, 0.8, 0.5, 0.75, 0.81, 1.4, 2.8)]
    final = summary(LABELS, PROBS, 0.6)
    json_path, csv_path = write_metrics(tmp_path, history, final)
    doc = json.loads(json_path.read_text())  # NaN would make this invalid JSON
    assert doc["history"][0]["val_auc"] is None and doc["final"]["accuracy"] == 0.75
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "epoch,stage,lr,train_loss,train_acc,val_loss,val_acc,val_auc,seconds,cpu_seconds"
    assert rows[2].split(",")[7] == "0.81"


def test_bootstrap_aucs_are_paired_and_keep_each_class_count():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [300, 200])
    good = labels + rng.normal(0, 0.8, len(labels))  # AUC about 0.8
    worse = labels + rng.normal(0, 1.6, len(labels))
    aucs = bootstrap_aucs(labels, [good, good, worse], resamples=300, seed=3)
    assert aucs.shape == (300, 3)
    assert np.array_equal(aucs[:, 0], aucs[:, 1])  # the same resamples for every model
    low, high = interval95(aucs[:, 0])
    assert low < roc_auc(labels, good) < high and high - low < 0.1
    assert np.mean(aucs[:, 0] > aucs[:, 2]) > 0.95  # the better model is ahead in nearly every resample
    assert np.array_equal(bootstrap_aucs(labels, [good], resamples=50, seed=3),
                          bootstrap_aucs(labels, [good], resamples=50, seed=3))  # seeded


def test_bootstrap_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        bootstrap_aucs(np.ones(5), [np.linspace(0, 1, 5)], resamples=10)
