"""Fixtures for bench tests: a tiny ORT engine folder and a few labelled patches."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import tifffile

from hcd_edge.device_info import describe_cpu
from hcd_edge.manifest import BatchProfile, Manifest, TensorInfo, sha256_file, write_manifest
from hcd_edge.spec import Precision
from tests.tiny_models import TINY_SPEC, write_tiny_cnn


@pytest.fixture
def tiny_engine(tmp_path):
    """An ONNX Runtime engine folder around the tiny test CNN (max batch 64)."""
    folder = tmp_path / "tiny-fp32-onnxruntime"
    folder.mkdir()
    write_tiny_cnn(folder / "model.onnx")
    manifest = Manifest(
        name=folder.name, precision=Precision.FP32, backend="onnxruntime",
        backend_version=onnxruntime.__version__, engine_file="model.onnx",
        engine_sha256=sha256_file(folder / "model.onnx"), source_onnx="tiny.onnx",
        source_onnx_sha256="0" * 64, device=describe_cpu(), batch=BatchProfile(1, 16, 64),
        inputs=[TensorInfo("input", ["N", 3, 96, 96], "float32")],
        outputs=[TensorInfo("logit", ["N", 1], "float32")],
        preprocess=TINY_SPEC, threshold=0.5, hcd_edge_version="test", created="2026-01-01T00:00:00Z",
    )
    write_manifest(folder, manifest)
    return folder


@pytest.fixture
def labelled_patches(tmp_path):
    """A Kaggle-layout folder of 40 patches: label 1 patches are darker purple than label 0."""
    rng = np.random.default_rng(0)
    root = tmp_path / "val"
    (root / "train").mkdir(parents=True)
    lines = ["id,label"]
    for i in range(40):
        label = i % 2
        base = np.array([120, 60, 140] if label else [230, 170, 200], dtype=np.int16)
        pixels = np.clip(base + rng.integers(-40, 40, (96, 96, 3)), 0, 255).astype(np.uint8)
        tifffile.imwrite(root / "train" / f"p{i:03d}.tif", pixels, photometric="rgb")
        lines.append(f"p{i:03d},{label}")
    (root / "train_labels.csv").write_text("\n".join(lines) + "\n")
    return root
