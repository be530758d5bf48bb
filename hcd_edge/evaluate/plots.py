"""Evaluation pictures: ROC curve, reliability diagram, and the most confident errors.

matplotlib is imported only here, when --plots is given (pip install 'hcd-edge[bench]').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hcd_edge.errors import HcdEdgeError

ERROR_GRID = (4, 4)  # rows, columns of the most-confident-errors picture


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise HcdEdgeError(
            "--plots needs matplotlib, which is not installed: pip install 'hcd-edge[bench]'"
        ) from exc
    return plt


def draw_plots(evaluation, folder: Path, title: str) -> list[Path]:
    """Write roc.png (with two classes), reliability.png and errors.png into folder."""
    plt = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if evaluation.metrics["auc"] is not None:
        written.append(_roc(plt, evaluation, folder / "roc.png", title))
    written.append(_reliability(plt, evaluation.metrics, folder / "reliability.png", title))
    written.append(_errors(plt, evaluation, folder / "errors.png"))
    return written


def _roc(plt, evaluation, path: Path, title: str) -> Path:
    from sklearn.metrics import roc_curve

    m = evaluation.metrics
    fpr, tpr, _ = roc_curve(evaluation.labels, evaluation.probabilities)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"AUC {m['auc']:.4f} (n={m['n']:,})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    if m["specificity"] is not None and m["sensitivity"] is not None:
        ax.scatter([1 - m["specificity"]], [m["sensitivity"]], c="red", zorder=3,
                   label=f"threshold {m['threshold']:.3f}")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {title}")
    ax.legend(loc="lower right")
    return _save(plt, fig, path)


def _reliability(plt, metrics: dict, path: Path, title: str) -> Path:
    bins = [b for b in metrics["calibration"]["bins"] if b["n"]]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls=":", c="grey", label="perfect calibration")
    ax.plot([b["mean_probability"] for b in bins], [b["observed"] for b in bins], marker="o",
            label=f"ECE {metrics['calibration']['ece']:.3f}, Brier {metrics['brier']:.3f}")
    ax.set(xlabel="mean predicted probability", ylabel="observed positive fraction",
           xlim=(0, 1), ylim=(0, 1), title=f"reliability: {title}")
    ax.legend(loc="upper left")
    return _save(plt, fig, path)


def _errors(plt, evaluation, path: Path) -> Path:
    import tifffile

    rows, cols = ERROR_GRID
    wrong = np.flatnonzero((evaluation.probabilities >= evaluation.metrics["threshold"])
                           != (evaluation.labels == 1))
    confidence = np.abs(evaluation.probabilities[wrong] - evaluation.labels[wrong])
    worst = wrong[np.argsort(-confidence, kind="stable")][: rows * cols]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2, rows * 2.2))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), worst):
        try:
            ax.imshow(tifffile.imread(evaluation.paths[i]))
        except Exception as exc:  # noqa: BLE001 - a picture is not worth failing the evaluation
            ax.text(0.5, 0.5, f"unreadable:\n{type(exc).__name__}", ha="center", fontsize=7)
        ax.set_title(f"label {evaluation.labels[i]}, p={evaluation.probabilities[i]:.3f}\n"
                     f"{Path(evaluation.paths[i]).stem[:14]}", fontsize=7)
    fig.suptitle(f"most confident errors ({len(wrong):,} wrong of {len(evaluation.labels):,})")
    return _save(plt, fig, path)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
