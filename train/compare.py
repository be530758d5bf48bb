"""ONNX models scored side by side on one labelled folder: AUC with and without 8-view TTA, and
accuracy, sensitivity, specificity and calibration at each model's own stored threshold.

    python -m hcd_edge.train.compare --val /tmp/holdout old.onnx new.onnx --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from hcd_edge.errors import DataError, ModelError
from hcd_edge.model_info import read_model_info
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME
from hcd_edge.train.augment import dihedral, normalize, to_unit
from hcd_edge.train.data import PatchArrays, load_patch_folder
from hcd_edge.train.evaluate import sigmoid
from hcd_edge.train.metrics import roc_auc, summary

VIEWS = 8  # the dihedral group, as `hcd-edge score --tta dihedral`


def onnx_probabilities(model: Path, patches: PatchArrays, *, view: int = 0, threads: int | None = None,
                       batch: int = 256) -> np.ndarray:
    """(N,) FP32 ONNX Runtime probabilities of the patches under dihedral transform `view`."""
    import onnxruntime as ort

    spec = read_model_info(model).spec
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    out = np.empty(len(patches), np.float64)
    for start in range(0, len(patches), batch):
        x = normalize(to_unit(torch.from_numpy(patches.pixels[start:start + batch])), spec)
        x = dihedral(x, view).contiguous().numpy()
        out[start:start + len(x)] = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0].reshape(-1)
    return sigmoid(out)


def compare_models(models: list[Path], patches: PatchArrays, *, threads: int | None = None) -> list[dict]:
    """One record per model: summary at its stored threshold, plus auc_tta over the 8 views."""
    records = []
    for model in models:
        threshold = read_model_info(model).threshold
        views = [onnx_probabilities(model, patches, view=k, threads=threads) for k in range(VIEWS)]
        record = {"model": str(model), **summary(patches.labels, views[0], threshold)}
        record["auc_tta"] = roc_auc(patches.labels, np.mean(views, axis=0))
        records.append(record)
    return records


def _table(records: list[dict]) -> str:
    head = "model | n | AUC | AUC TTA | threshold | accuracy | sensitivity | specificity | Brier | ECE"
    rows = [f"{Path(r['model']).name} | {r['n']} | {r['auc']:.4f} | {r['auc_tta']:.4f} | {r['threshold']:.3f} | "
            f"{r['accuracy']:.4f} | {r['sensitivity']:.4f} | {r['specificity']:.4f} | {r['brier']:.4f} | "
            f"{r['ece']:.4f}" for r in records]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    """Command line: --val FOLDER MODEL.onnx... [--json FILE] [--threads N]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--val", type=Path, required=True, help="labelled folder (Kaggle layout or 0/ 1/)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        patches = load_patch_folder(args.val, threads=args.threads)
        records = compare_models(args.models, patches, threads=args.threads)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(_table(records))
    if args.json:
        args.json.write_text(json.dumps({"val": str(args.val), "models": records}, indent=2) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
