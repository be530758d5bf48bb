"""Train/validation splits with a fixed seed, undersampling to balance, class weights."""

from __future__ import annotations

from enum import Enum

import numpy as np

from hcd_edge.errors import DataError

HOLDOUT_SEED_OFFSET = 7919  # the holdout draw does not reuse the train/select split's random stream


class SplitKind(str, Enum):
    """How the validation patches are drawn."""

    STRATIFIED = "stratified"  # the same positive fraction in train and validation
    RANDOM = "random"


class Balance(str, Enum):
    """How class imbalance is handled in training (validation is never changed)."""

    NONE = "none"
    CLASS_WEIGHTS = "class-weights"  # positives weighted by negatives/positives in the loss
    UNDERSAMPLE = "undersample"  # drop random majority-class patches until balanced


def split_indices(labels: np.ndarray, val_fraction: float, seed: int,
                  kind: SplitKind = SplitKind.STRATIFIED) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) index arrays, each sorted; the same seed always gives the same split."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"the validation fraction must be between 0 and 1, got {val_fraction}")
    n = len(labels)
    n_val = round(n * val_fraction)
    if n_val < 2 or n - n_val < 2:
        raise DataError(f"{n} patches are too few for a {val_fraction:.0%} validation split")
    stratify = labels if kind is SplitKind.STRATIFIED else None
    if stratify is not None and np.bincount(labels, minlength=2).min() < 2:
        raise DataError("a stratified split needs at least 2 patches of each class; "
                        "add patches or use --split random")
    train, val = train_test_split(np.arange(n), test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(val)


def holdout_indices(labels: np.ndarray, pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` rows drawn from `pool`, stratified by label with `seed` (sorted): the untouched holdout."""
    from sklearn.model_selection import train_test_split

    pool = np.sort(np.asarray(pool))
    if n < 2 or n > len(pool) - 2:
        raise DataError(f"a holdout of {n} patches needs 2 <= n <= {len(pool) - 2} "
                        f"(its pool holds {len(pool)} patches)")
    stratify = labels[pool]
    if np.bincount(stratify, minlength=2).min() < 2:
        raise DataError("a stratified holdout needs at least 2 patches of each class in its pool")
    _, held = train_test_split(pool, test_size=n, random_state=seed + HOLDOUT_SEED_OFFSET, stratify=stratify)
    return np.sort(held)


def undersample(labels: np.ndarray, index: np.ndarray, seed: int) -> np.ndarray:
    """The subset of `index` with as many patches of each class as the rarer one has (sorted)."""
    rng = np.random.default_rng(seed)
    by_class = [index[labels[index] == c] for c in (0, 1)]
    keep = min(len(b) for b in by_class)
    if keep == 0:
        raise DataError("cannot undersample: the training split holds only one class")
    return np.sort(np.concatenate([rng.choice(b, keep, replace=False) for b in by_class]))


def positive_weight(labels: np.ndarray) -> float:
    """negatives / positives: the loss weight of a positive that balances the classes."""
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise DataError("class weights need both classes in the training split")
    return (len(labels) - positives) / positives
