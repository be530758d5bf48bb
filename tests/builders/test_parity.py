"""Parity metrics and gate verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.builders.parity import DEFAULT_THRESHOLDS, describe, evaluate
from hcd_edge.spec import Precision


@pytest.fixture()
def scores():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    p_ref = np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.15, 400), 0, 1)
    return p_ref, labels


def test_identical_scores_pass_with_zero_loss(scores):
    p_ref, labels = scores
    report = evaluate(p_ref, p_ref.copy(), labels, 0.5, DEFAULT_THRESHOLDS[Precision.INT8])
    assert report["passed"] and report["auc_loss"] == 0 and report["agreement"] == 1.0
    assert "AUC" in describe(report)


def test_flipped_labels_fail_agreement_and_auc(scores):
    p_ref, labels = scores
    p_eng = p_ref.copy()
    near = np.argsort(np.abs(p_ref - 0.5))[:20]  # 5% of patches pushed across the threshold
    p_eng[near] = np.where(p_ref[near] >= 0.5, 0.0, 1.0)
    report = evaluate(p_ref, p_eng, labels, 0.5, DEFAULT_THRESHOLDS[Precision.INT8])
    assert not report["passed"] and report["disagreements"] == 20
    assert any("agreement" in f for f in report["failures"])


def test_unlabelled_set_is_gated_on_max_dprob(scores):
    p_ref, _ = scores
    p_eng = p_ref.copy()
    p_eng[0] = min(1.0, p_eng[0] + 0.2) if p_eng[0] < 0.3 else p_eng[0] - 0.2
    report = evaluate(p_ref, p_eng, None, 0.99, DEFAULT_THRESHOLDS[Precision.INT8])
    assert report["labelled"] is False and "auc_loss" not in report
    assert report["failures"] == ["max |dprob| 0.2000 > 0.15"]


def test_single_class_labels_are_treated_as_unlabelled(scores):
    p_ref, _ = scores
    report = evaluate(
        p_ref, p_ref, np.ones(len(p_ref), np.int8), 0.5, DEFAULT_THRESHOLDS[Precision.FP16]
    )
    assert report["labelled"] is False and "one class" in report["note"] and report["passed"]


def test_fp16_limits_are_stricter_than_int8():
    fp16, int8 = DEFAULT_THRESHOLDS[Precision.FP16], DEFAULT_THRESHOLDS[Precision.INT8]
    assert fp16.max_auc_loss < int8.max_auc_loss and fp16.min_agreement > int8.min_agreement


def test_flips_report_how_near_the_threshold_they_were(scores):
    p_ref, labels = scores
    p_eng = p_ref.copy()
    near = np.argsort(np.abs(p_ref - 0.5))[:6]
    p_eng[near] = np.where(p_ref[near] >= 0.5, 0.0, 1.0)
    report = evaluate(p_ref, p_eng, labels, 0.5, DEFAULT_THRESHOLDS[Precision.INT8])
    expected = np.abs(p_ref[near] - 0.5).max()
    assert report["flip_max_margin"] == pytest.approx(expected)
    assert f"6 flipped (FP32 probability within {expected:.3f} of the threshold)" in describe(report)


def test_no_flip_means_zero_margin_and_no_flip_text(scores):
    p_ref, labels = scores
    report = evaluate(p_ref, p_ref.copy(), labels, 0.5, DEFAULT_THRESHOLDS[Precision.INT8])
    assert report["flip_max_margin"] == 0.0 and "flipped" not in describe(report)
