"""PNG pictures of a run: training curves, ROC, confusion matrix, and a grid of sample patches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hcd_edge.train.metrics import Confusion, EpochRecord


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[EpochRecord], path: Path) -> Path:
    """Loss, accuracy and validation AUC per epoch."""
    plt = _pyplot()
    epochs = [r.epoch for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(epochs, [r.train_loss for r in history], "o-", label="train")
    axes[0].plot(epochs, [r.val_loss for r in history], "o-", label="validation")
    axes[1].plot(epochs, [r.train_acc for r in history], "o-", label="train")
    axes[1].plot(epochs, [r.val_acc for r in history], "o-", label="validation")
    axes[2].plot(epochs, [r.val_auc for r in history], "o-", color="C2")
    for ax, title in zip(axes, ("loss", "accuracy at 0.5", "validation ROC AUC")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()
    return _save(fig, path)


def plot_roc(labels: np.ndarray, probs: np.ndarray, threshold: float, path: Path) -> Path:
    """The validation ROC curve with the stored threshold marked."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fpr, tpr, _ = roc_curve(labels, probs)
    calls = probs >= threshold
    at_fpr = calls[labels == 0].mean()
    at_tpr = calls[labels == 1].mean()
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot(fpr, tpr, label=f"AUC {roc_auc_score(labels, probs):.4f}")
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=0.8)
    ax.plot([at_fpr], [at_tpr], "o", color="C3", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("validation ROC")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_confusion(c: Confusion, path: Path) -> Path:
    """The confusion matrix at the stored threshold."""
    plt = _pyplot()
    m = c.matrix()
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
    ax.set_xticks([0, 1], ["called 0", "called 1"])
    ax.set_yticks([0, 1], ["label 0", "label 1"])
    ax.set_title(f"threshold {c.threshold:.3f}: sens {c.sensitivity:.3f}, spec {c.specificity:.3f}",
                 fontsize=9)
    return _save(fig, path)


def plot_samples(pixels: np.ndarray, labels: np.ndarray, probs: np.ndarray, threshold: float,
                 path: Path, n: int = 32, seed: int = 0) -> Path:
    """A grid of validation patches with label, probability and the centre 32x32 outlined.

    Half are drawn from the errors when there are any: those are what a pathologist checks.
    """
    plt = _pyplot()
    pick = _sample_rows(labels, probs >= threshold, n, seed)
    cols = 8
    fig, axes = plt.subplots((len(pick) + cols - 1) // cols, cols, figsize=(2 * cols, 2.2 * ((len(pick) + cols - 1) // cols)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), pick):
        right = (probs[i] >= threshold) == (labels[i] == 1)
        ax.imshow(pixels[i])
        ax.add_patch(plt.Rectangle((31.5, 31.5), 32, 32, fill=False, ec="yellow", lw=0.8))
        ax.set_title(f"label {labels[i]}  p={probs[i]:.2f}", fontsize=8,
                     color="darkgreen" if right else "red")
    fig.suptitle("validation patches (yellow: the centre 32x32 that decides the label; red: wrong)")
    return _save(fig, path)


def _sample_rows(labels: np.ndarray, calls: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wrong = np.flatnonzero(calls != (labels == 1))
    errors = rng.choice(wrong, min(len(wrong), n // 2), replace=False)
    rest = np.setdiff1d(np.arange(len(labels)), errors)
    others = rng.choice(rest, min(len(rest), n - len(errors)), replace=False)
    return np.sort(np.concatenate([errors, others]).astype(int))


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Path(path)
