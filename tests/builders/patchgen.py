"""Small Kaggle-like patch sets for build tests: two colour classes the tiny CNN tells apart."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from hcd_edge.spec import INPUT_NAME
from tests.tiny_models import TINY_SPEC, write_tiny_cnn

# Pink (stroma-like) and purple (nuclei-dense) base colours, RGB.
CLASS_COLOURS = (np.array([230.0, 160.0, 200.0]), np.array([120.0, 60.0, 150.0]))


@dataclass(frozen=True)
class PatchFixture:
    """A Kaggle-layout folder, its labels, and a tiny model whose threshold splits the two classes."""

    root: Path  # root/train/<id>.tif + root/train_labels.csv
    model: Path
    threshold: float
    labels: dict


def make_patches(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n (96, 96, 3) uint8 patches, half of each colour class, and their class (0/1)."""
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % 2
    base = np.stack([CLASS_COLOURS[c] for c in cls])[:, None, None, :]
    img = base + rng.normal(0, 25, (n, 96, 96, 3))
    dark = rng.random((n, 96, 96, 1)) < np.where(cls == 0, 0.1, 0.3)[:, None, None, None]
    img = np.where(dark, img * 0.6, img)
    return np.clip(img, 0, 255).astype(np.uint8), cls


def fp32_probabilities(model: Path, pixels: np.ndarray) -> np.ndarray:
    """The tiny model's probabilities for raw patches, computed directly with onnxruntime."""
    import onnxruntime as ort

    mean = np.array(TINY_SPEC.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.array(TINY_SPEC.std, np.float32).reshape(1, 3, 1, 1)
    x = ((pixels.transpose(0, 3, 1, 2) / np.float32(255) - mean) / std).astype(np.float32)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = session.run(None, {INPUT_NAME: x})[0].ravel()
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def write_patch_fixture(root: Path, n: int = 160, seed: int = 7, flip: float = 0.1) -> PatchFixture:
    """Write n patches in the Kaggle layout with labels = the model's class, `flip` of them flipped."""
    root.mkdir(parents=True, exist_ok=True)
    pixels, cls = make_patches(n, seed)
    probe = write_tiny_cnn(root / "probe.onnx")
    p = fp32_probabilities(probe, pixels)
    hi = int(np.median(p[cls == 1]) > np.median(p[cls == 0]))  # the class the model scores higher
    threshold = float((np.median(p[cls == 0]) + np.median(p[cls == 1])) / 2)
    model = write_tiny_cnn(root / "tiny.onnx", threshold=threshold)
    probe.unlink()
    rng = np.random.default_rng(seed + 1)
    labels = (cls == hi).astype(int) ^ (rng.random(n) < flip)
    (root / "train").mkdir(exist_ok=True)
    ids = [f"{seed:02d}{i:05d}{'abcdef'[i % 6]}" for i in range(n)]
    for pid, img in zip(ids, pixels):
        tifffile.imwrite(root / "train" / f"{pid}.tif", img, photometric="rgb")
    with open(root / "train_labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label"])
        writer.writerows(zip(ids, labels.tolist()))
    return PatchFixture(
        root=root, model=model, threshold=threshold, labels=dict(zip(ids, labels.tolist()))
    )
