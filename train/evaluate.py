"""Scoring patches held in memory with a torch model, optionally averaged over the dihedral group."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hcd_edge.spec import PreprocessSpec
from hcd_edge.train.augment import dihedral, normalize, to_unit


@torch.no_grad()
def predict_logits(model: nn.Module, pixels: np.ndarray, spec: PreprocessSpec, *,
                   device: torch.device | str = "cpu", batch: int = 256, view: int = 0) -> np.ndarray:
    """(N,) float64 logits of uint8 NHWC patches under dihedral transform `view` (0 = as is)."""
    was_training = model.training
    model.eval()
    out = np.empty(len(pixels), np.float64)
    try:
        for start in range(0, len(pixels), batch):
            x = normalize(to_unit(torch.from_numpy(pixels[start:start + batch])), spec).to(device)
            out[start:start + len(x)] = model(dihedral(x, view)).float().reshape(-1).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def predict_tta(model: nn.Module, pixels: np.ndarray, spec: PreprocessSpec, *,
                device: torch.device | str = "cpu", batch: int = 256) -> np.ndarray:
    """(N,) probabilities averaged over the 8 dihedral transforms, as `hcd-edge score --tta` does."""
    views = [sigmoid(predict_logits(model, pixels, spec, device=device, batch=batch, view=k))
             for k in range(8)]
    return np.mean(views, axis=0)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits (float64, overflow-safe)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, np.float64)))


def bce_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of logits against 0/1 labels (unweighted)."""
    z = np.asarray(logits, np.float64)
    y = np.asarray(labels, np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
