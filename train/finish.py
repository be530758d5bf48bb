"""The end of a run: the best model's validation metrics, threshold, files and pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hcd_edge.spec import PreprocessSpec
from hcd_edge.train.checkpoint import (
    BEST,
    ModelCheckpoint,
    load_model_checkpoint,
    save_model_checkpoint,
)
from hcd_edge.train.config import TrainConfig
from hcd_edge.train.data import PatchArrays
from hcd_edge.train.evaluate import predict_logits, predict_tta, sigmoid
from hcd_edge.train.metrics import (
    EpochRecord,
    confusion,
    roc_auc,
    summary,
    write_metrics,
    youden_threshold,
)
from hcd_edge.train.models import count_parameters
from hcd_edge.train.plots import plot_confusion, plot_curves, plot_roc, plot_samples
from hcd_edge.train.prepare import Prepared
from hcd_edge.train.progress import TrainProgress

PLOTS = "plots"


@dataclass(frozen=True)
class TrainResult:
    """What a finished run wrote and measured."""

    out: Path
    best: Path  # best.pt: the checkpoint `hcd-edge export` reads
    metrics: dict  # final validation summary of the best epoch's model
    history: tuple[EpochRecord, ...]
    plots: tuple[Path, ...]


def finish_run(config: TrainConfig, data: Prepared, model: nn.Module, device: torch.device,
               history: list[EpochRecord], progress: TrainProgress) -> TrainResult:
    """Reload best.pt, measure it on validation, store its threshold and metrics, draw the plots."""
    best_path = Path(config.out) / BEST
    best = load_model_checkpoint(best_path)
    model.load_state_dict(best.state_dict)
    labels = data.val.labels
    probs = sigmoid(predict_logits(model, data.val.pixels, data.spec, device=device))
    threshold = youden_threshold(labels, probs)
    final = summary(labels, probs, threshold)
    final.update(best_epoch=best.epoch, epochs_run=len(history), parameters=count_parameters(model),
                 train_seconds=round(sum(r.seconds for r in history), 1),
                 train_cpu_seconds=round(sum(r.cpu_seconds for r in history), 1), arch=config.model.arch.value)
    if config.tta:
        final.update(_tta_metrics(model, data.val, data.spec, device, threshold))
    if data.holdout is not None:
        final["holdout"] = holdout_metrics(model, data.holdout, data.spec, device, threshold, config.tta)
    save_model_checkpoint(best_path, ModelCheckpoint(best.model, best.state_dict, best.spec, threshold,
                                                     final, data.provenance, best.epoch))
    write_metrics(Path(config.out), history, final)
    plots = _draw(Path(config.out) / PLOTS, history, data, probs, threshold)
    progress.note(f"best epoch {best.epoch}: validation AUC {final['auc']:.4f}, accuracy "
                  f"{final['accuracy']:.4f} at threshold {threshold:.3f}; wrote {best_path}")
    if "holdout" in final:
        h = final["holdout"]
        tta = f", {h['auc_tta']:.4f} with TTA" if "auc_tta" in h else ""
        progress.note(f"holdout ({h['n']} patches, untouched): AUC {h['auc']:.4f}{tta}, accuracy "
                      f"{h['accuracy']:.4f} at threshold {threshold:.3f}")
    return TrainResult(Path(config.out), best_path, final, tuple(history), plots)


def _tta_metrics(model: nn.Module, patches: PatchArrays, spec: PreprocessSpec, device: torch.device,
                 threshold: float) -> dict:
    labels = patches.labels
    probs = predict_tta(model, patches.pixels, spec, device=device)
    return {"auc_tta": roc_auc(labels, probs), "accuracy_tta": confusion(labels, probs, threshold).accuracy}


def holdout_metrics(model: nn.Module, holdout: PatchArrays, spec: PreprocessSpec, device: torch.device,
                    threshold: float, tta: bool) -> dict:
    """The best model on the untouched holdout, at the threshold chosen on the select split."""
    probs = sigmoid(predict_logits(model, holdout.pixels, spec, device=device))
    metrics = summary(holdout.labels, probs, threshold)
    if tta:
        metrics.update(_tta_metrics(model, holdout, spec, device, threshold))
    return metrics


def _draw(folder: Path, history: list[EpochRecord], data: Prepared, probs: np.ndarray,
          threshold: float) -> tuple[Path, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    labels = data.val.labels
    paths = [plot_curves(history, folder / "curves.png"),
             plot_confusion(confusion(labels, probs, threshold), folder / "confusion.png"),
             plot_samples(data.val.pixels, labels, probs, threshold, folder / "samples.png")]
    if len(np.unique(labels)) == 2:
        paths.append(plot_roc(labels, probs, threshold, folder / "roc.png"))
    return tuple(paths)
