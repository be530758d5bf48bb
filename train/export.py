"""ONNX export of a checkpoint: fixed names, dynamic batch, hcd-edge metadata, parity vs ONNX Runtime."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hcd_edge.atomic import atomic_path
from hcd_edge.errors import ModelError
from hcd_edge.model_info import ModelInfo, write_props
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, PATCH_SIZE, PreprocessSpec
from hcd_edge.train.checkpoint import ModelCheckpoint, load_model_checkpoint
from hcd_edge.train.models import build_model

MIN_OPSET = 17
PARITY_LIMIT = 1e-4  # max |logit torch - logit ONNX Runtime| accepted at export


@dataclass(frozen=True)
class ExportResult:
    """The written ONNX file and how closely ONNX Runtime reproduces torch on it."""

    path: Path
    max_abs_diff: float  # max |delta logit| over the parity batch
    info: ModelInfo


def export_checkpoint(checkpoint: Path, out: Path, *, opset: int = MIN_OPSET,
                      parity_batch: int = 16) -> ExportResult:
    """Export best.pt (or last.pt) to ONNX at `out`; ModelError when parity fails (nothing is left)."""
    if opset < MIN_OPSET:
        raise ModelError(f"opset {opset} is too old; hcd-edge exports opset {MIN_OPSET} or newer")
    ckpt = load_model_checkpoint(checkpoint)
    model = build_model(ckpt.model, pretrained=False)
    model.load_state_dict(ckpt.state_dict)
    model.eval()
    info = model_info(ckpt, run=Path(checkpoint).resolve().parent)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        _torch_export(model, tmp, opset)
        _add_metadata(tmp, info)
        diff = parity(model, tmp, ckpt.spec, parity_batch)
        if not diff <= PARITY_LIMIT:
            raise ModelError(f"export parity failed for {checkpoint}: max |delta logit| {diff:.3g} "
                             f"> {PARITY_LIMIT:g} between torch and ONNX Runtime; nothing written")
    return ExportResult(out, diff, info)


def model_info(ckpt: ModelCheckpoint, run: Path | None = None) -> ModelInfo:
    """The hcd-edge metadata of a checkpoint's ONNX; `run` (its run folder, holding split/) is
    recorded so evaluate and build-engine can warn about patches the model trained on."""
    provenance = {**ckpt.provenance, "model": ckpt.model.to_dict(), "epoch": ckpt.epoch}
    if run is not None:
        provenance["run"] = str(run)
    return ModelInfo(spec=ckpt.spec, threshold=ckpt.threshold, architecture=ckpt.model.arch.value,
                     metrics=ckpt.metrics, provenance=provenance)


def _torch_export(model: torch.nn.Module, path: Path, opset: int) -> None:
    example = torch.zeros(2, 3, PATCH_SIZE, PATCH_SIZE)
    with warnings.catch_warnings():
        # The TorchScript exporter needs no onnxscript (absent offline); it warns it is legacy.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
                          do_constant_folding=True)


def _add_metadata(path: Path, info: ModelInfo) -> None:
    import onnx

    proto = onnx.load(str(path))
    write_props(proto, info.to_props())
    proto.producer_name = "hcd-edge"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def parity(model: torch.nn.Module, onnx_path: Path, spec: PreprocessSpec, batch: int = 16,
           seed: int = 0) -> float:
    """Max |logit torch - logit ONNX Runtime| on random patches normalized by the spec."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (batch, PATCH_SIZE, PATCH_SIZE, 3), dtype=np.uint8)
    mean = np.array(spec.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.array(spec.std, np.float32).reshape(1, 3, 1, 1)
    x = ((pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255) - mean) / std).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    if got.shape != (batch, 1):
        raise ModelError(f"{onnx_path}: output {OUTPUT_NAME!r} has shape {got.shape}, expected ({batch}, 1)")
    return float(np.max(np.abs(got.astype(np.float64) - expected)))
