"""Splits with a fixed seed, undersampling and class weights."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.errors import DataError
from hcd_edge.train.split import SplitKind, positive_weight, split_indices, undersample

LABELS = np.array([1] * 40 + [0] * 60, np.int8)


def test_stratified_split_keeps_the_positive_fraction_and_is_disjoint():
    train, val = split_indices(LABELS, 0.2, seed=0)
    assert len(val) == 20 and LABELS[val].sum() == 8
    assert not set(train) & set(val) and len(train) + len(val) == len(LABELS)


def test_same_seed_same_split_other_seed_other_split():
    a = split_indices(LABELS, 0.2, seed=3)[1]
    assert np.array_equal(a, split_indices(LABELS, 0.2, seed=3)[1])
    assert not np.array_equal(a, split_indices(LABELS, 0.2, seed=4)[1])


def test_random_split_has_the_requested_size():
    train, val = split_indices(LABELS, 0.3, seed=0, kind=SplitKind.RANDOM)
    assert len(val) == 30 and len(train) == 70


@pytest.mark.parametrize("labels, fraction, message", [
    (LABELS, 0.0, "between 0 and 1"),
    (LABELS[:3], 0.2, "too few"),
    (np.array([1] + [0] * 20, np.int8), 0.2, "at least 2 patches of each class"),
])
def test_impossible_splits_are_refused(labels, fraction, message):
    with pytest.raises(DataError, match=message):
        split_indices(labels, fraction, seed=0)


def test_undersampling_balances_the_classes_reproducibly():
    index = np.arange(len(LABELS))
    kept = undersample(LABELS, index, seed=1)
    assert np.bincount(LABELS[kept]).tolist() == [40, 40]
    assert np.array_equal(kept, undersample(LABELS, index, seed=1))
    with pytest.raises(DataError, match="only one class"):
        undersample(LABELS, index[:40], seed=1)


def test_positive_weight_is_negatives_over_positives():
    assert positive_weight(LABELS) == pytest.approx(60 / 40)
    with pytest.raises(DataError, match="both classes"):
        positive_weight(LABELS[:40])
