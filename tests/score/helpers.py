"""Engines and patch folders shared by the pipeline, score and CLI score tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import tifffile

from hcd_edge.device_info import describe_cpu
from hcd_edge.manifest import BatchProfile, Manifest, TensorInfo, sha256_file, write_manifest
from hcd_edge.spec import Precision
from tests.builders.patchgen import make_patches
from tests.tiny_models import TINY_SPEC, write_tiny_cnn


def make_tiny_engine(folder: Path, *, max_batch: int = 256, threshold: float = 0.5,
                     seed: int = 0) -> Path:
    """An FP32 ONNX Runtime engine folder around the tiny test CNN."""
    folder.mkdir(parents=True)
    write_tiny_cnn(folder / "model.onnx", seed=seed, threshold=threshold)
    manifest = Manifest(
        name=folder.name, precision=Precision.FP32, backend="onnxruntime",
        backend_version=onnxruntime.__version__, engine_file="model.onnx",
        engine_sha256=sha256_file(folder / "model.onnx"), source_onnx="tiny.onnx",
        source_onnx_sha256="0" * 64, device=describe_cpu(), batch=BatchProfile(1, 16, max_batch),
        inputs=[TensorInfo("input", ["N", 3, 96, 96], "float32")],
        outputs=[TensorInfo("logit", ["N", 1], "float32")],
        preprocess=TINY_SPEC, threshold=threshold, hcd_edge_version="test",
        created="2026-01-01T00:00:00Z",
    )
    write_manifest(folder, manifest)
    return folder


def write_patch_folder(folder: Path, n: int, seed: int = 3) -> list[Path]:
    """n two-colour 96x96 RGB TIFF patches named p00000.tif, p00001.tif, ... (sorted = written)."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels, _ = make_patches(n, seed)
    paths = []
    for i, img in enumerate(pixels):
        path = folder / f"p{i:05d}.tif"
        tifffile.imwrite(path, img, photometric="rgb")
        paths.append(path)
    return paths


def reference_probabilities(model: Path, pixels: np.ndarray) -> np.ndarray:
    """Probabilities of (n, 96, 96, 3) uint8 patches computed directly: numpy normalize + ORT."""
    mean = np.array(TINY_SPEC.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.array(TINY_SPEC.std, np.float32).reshape(1, 3, 1, 1)
    x = ((pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255) - mean) / std)
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})[0].ravel()
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


# file name -> decode status (or the duplicate status) of each bad input write_bad_inputs makes
BAD_INPUTS = {
    "broken_link.tif": 1,  # OPEN_FAILED
    "directory.tif": 2,  # NOT_A_FILE
    "empty.tif": 3,  # EMPTY_FILE
    "not_tiff.tif": 10,  # NOT_TIFF
    "small.tif": 20,  # WRONG_SIZE
    "grey.tif": 21,  # NOT_RGB
    "sub/p00003.tif": 100,  # DUPLICATE_ID of p00003.tif
}


def write_bad_inputs(folder: Path) -> None:
    """One file of every kind hcd-edge must report instead of scoring (see BAD_INPUTS)."""
    (folder / "broken_link.tif").symlink_to(folder / "does-not-exist.tif")
    (folder / "directory.tif").mkdir()
    (folder / "empty.tif").write_bytes(b"")
    (folder / "not_tiff.tif").write_text("id,label\nnot a tiff\n")
    rng = np.random.default_rng(5)
    tifffile.imwrite(folder / "small.tif", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8),
                     photometric="rgb")
    tifffile.imwrite(folder / "grey.tif", rng.integers(0, 255, (96, 96), dtype=np.uint8))
    (folder / "sub").mkdir()
    (folder / "sub" / "p00003.tif").write_bytes((folder / "p00003.tif").read_bytes())
