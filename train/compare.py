"""ONNX models scored side by side on one labelled folder: AUC with and without 8-view TTA, and
accuracy, sensitivity, specificity and calibration at each model's own stored threshold; each
AUC with a 95% bootstrap interval, and each model after the first against the first (paired:
the same resamples of the patches), so that a difference within the noise reads as such.

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
from hcd_edge.train.metrics import bootstrap_aucs, interval95, roc_auc, summary

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
    """One record per model: summary at its stored threshold, auc_tta over the 8 views, the AUC's
    95% bootstrap interval and, after the first model, the paired difference from the first."""
    records, single_view = [], []
    for model in models:
        threshold = read_model_info(model).threshold
        views = [onnx_probabilities(model, patches, view=k, threads=threads) for k in range(VIEWS)]
        record = {"model": str(model), **summary(patches.labels, views[0], threshold)}
        record["auc_tta"] = roc_auc(patches.labels, np.mean(views, axis=0))
        records.append(record)
        single_view.append(views[0])
    add_bootstrap(records, patches.labels, single_view)
    return records


def add_bootstrap(records: list[dict], labels: np.ndarray, scores: list[np.ndarray]) -> None:
    """Put auc_ci95 in each record, and auc_minus_first (+ its interval and the share of resamples
    in which the model is ahead) in every record after the first: is a difference more than noise?"""
    aucs = bootstrap_aucs(labels, scores)
    for m, record in enumerate(records):
        record["auc_ci95"] = interval95(aucs[:, m])
        if m:
            difference = aucs[:, m] - aucs[:, 0]
            record["auc_minus_first"] = record["auc"] - records[0]["auc"]
            record["auc_minus_first_ci95"] = interval95(difference)
            record["ahead_of_first"] = float(np.mean(difference > 0))


def _table(records: list[dict]) -> str:
    head = ("model | n | AUC | 95% CI | AUC - first (95% CI, resamples ahead) | AUC TTA | threshold | "
            "accuracy | sensitivity | specificity | Brier | ECE")
    rows = [f"{Path(r['model']).name} | {r['n']} | {r['auc']:.4f} | {_interval(r['auc_ci95'])} | "
            f"{_versus_first(r)} | {r['auc_tta']:.4f} | {r['threshold']:.3f} | "
            f"{r['accuracy']:.4f} | {r['sensitivity']:.4f} | {r['specificity']:.4f} | {r['brier']:.4f} | "
            f"{r['ece']:.4f}" for r in records]
    return "\n".join([head, *rows])


def _interval(bounds: list[float]) -> str:
    return f"{bounds[0]:.4f}-{bounds[1]:.4f}"


def _versus_first(record: dict) -> str:
    if "auc_minus_first" not in record:
        return "-"
    low, high = record["auc_minus_first_ci95"]
    return f"{record['auc_minus_first']:+.4f} ({low:+.4f} to {high:+.4f}, {record['ahead_of_first']:.0%})"


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
