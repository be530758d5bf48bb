"""Accuracy against speed of trained runs, side by side: how the edge model (HcdNet) was chosen.

For each run folder (written by `hcd-edge train`): validation AUC and accuracy from its
metrics.json, parameters, the run's measured training time, torch CPU training throughput
(AdamW steps at batch 64), and ONNX Runtime CPU FP32 inference throughput at batch 64 of its
exported best.pt. Timing rounds alternate between the models, so a busy shared CPU slows them
alike; ratios are against the first run given.

    python -m benchmarks.models runs/cmp-cnn runs/cmp-hcdnet [--threads 2] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import write_results
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME


@dataclass
class Subject:
    """One trained run and its ONNX Runtime session."""

    run: Path
    final: dict  # metrics.json "final"
    onnx: Path
    session: Any  # onnxruntime.InferenceSession
    x: np.ndarray  # one input batch in the model's spec
    seconds: list[float]  # per-batch inference wall times, all rounds
    train_seconds: list[float]  # per-step training wall times, all rounds


def main(argv: list[str] | None = None) -> int:
    """Time every run's ONNX, print the table, write benchmarks/results/models.json."""
    args = _parse(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subjects = [_subject(Path(run), Path(tmp) / f"{i}-{Path(run).name}.onnx", args)
                    for i, run in enumerate(args.runs)]
        for _ in range(args.rounds):
            for s in subjects:
                s.seconds += _time_round(s, args.batches)
                s.train_seconds += _time_training(s, args.train_steps, args.threads)
        rows = [_row(s, args.batch) for s in subjects]
    base = rows[0]["patches_per_s"]
    for r in rows:
        r["speed_vs_first"] = r["patches_per_s"] / base
    print(_table(rows))
    path = write_results("models", {"batch": args.batch, "threads": args.threads, "rounds": args.rounds,
                                     "runs": rows}, Path(args.json) if args.json else None)
    print(f"\nwrote {path}")
    return 0


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders with best.pt and metrics.json")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="ORT intra-op threads (default: all)")
    p.add_argument("--rounds", type=int, default=7, help="alternating timing rounds per model")
    p.add_argument("--batches", type=int, default=10, help="timed batches per model per round")
    p.add_argument("--train-steps", type=int, default=2, help="timed training steps per model per round")
    p.add_argument("--json", default=None, help="output path (default benchmarks/results/models.json)")
    return p.parse_args(argv)


def _subject(run: Path, onnx_path: Path, args) -> Subject:
    import onnxruntime as ort

    from hcd_edge.backends.onnxruntime.executor import session_options
    from hcd_edge.train import export_checkpoint

    final = json.loads((run / "metrics.json").read_text())["final"]
    exported = export_checkpoint(run / "best.pt", onnx_path)
    session = ort.InferenceSession(str(exported.path), session_options(args.threads, False),
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (args.batch, 3, 96, 96)).astype(np.float32) / 255
    spec = exported.info.spec
    x = ((pixels - np.array(spec.mean, np.float32).reshape(1, 3, 1, 1))
         / np.array(spec.std, np.float32).reshape(1, 3, 1, 1)).astype(np.float32)
    for _ in range(3):  # warm-up: allocations, kernel selection
        session.run([OUTPUT_NAME], {INPUT_NAME: x})
    return Subject(run, final, exported.path, session, x, [], [])


def _time_round(s: Subject, batches: int) -> list[float]:
    out = []
    for _ in range(batches):
        start = time.perf_counter()
        s.session.run([OUTPUT_NAME], {INPUT_NAME: s.x})
        out.append(time.perf_counter() - start)
    return out


def _time_training(s: Subject, steps: int, threads: int | None) -> list[float]:
    """Wall seconds of AdamW steps of a fresh copy of the model on this batch (torch CPU)."""
    import torch

    from hcd_edge.train.checkpoint import load_model_checkpoint
    from hcd_edge.train.models import build_model

    torch.set_num_threads(threads or 1)
    model = build_model(load_model_checkpoint(s.run / "best.pt").model, pretrained=False).train()
    optimizer = torch.optim.AdamW(model.parameters())
    x, y = torch.from_numpy(s.x), torch.ones(len(s.x))
    out = []
    for i in range(steps + 1):  # the first step allocates: untimed
        start = time.perf_counter()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i:
            out.append(time.perf_counter() - start)
    return out


def _row(s: Subject, batch: int) -> dict:
    median = statistics.median(s.seconds)
    f = s.final
    return {
        "run": s.run.name, "arch": f.get("arch"), "parameters": f.get("parameters"),
        "onnx_bytes": s.onnx.stat().st_size, "val_auc": f.get("auc"), "val_auc_tta": f.get("auc_tta"),
        "val_accuracy": f.get("accuracy"), "threshold": f.get("threshold"),
        "best_epoch": f.get("best_epoch"), "epochs_run": f.get("epochs_run"),
        "train_seconds": f.get("train_seconds"), "train_cpu_seconds": f.get("train_cpu_seconds"),
        "median_batch_ms": median * 1e3,
        "patches_per_s": batch / median, "timed_batches": len(s.seconds),
        "train_patches_per_s": batch / statistics.median(s.train_seconds) if s.train_seconds else None,
    }


def _table(rows: list[dict]) -> str:
    head = ("| run | params | ONNX MB | val AUC | AUC (TTA) | acc | best/run epochs | train min (CPU min) "
            "| train patches/s | FP32 patches/s | x first |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        tta = f"{r['val_auc_tta']:.4f}" if r["val_auc_tta"] is not None else "-"
        cpu = f" ({r['train_cpu_seconds'] / 60:.1f})" if r["train_cpu_seconds"] else ""
        lines.append(f"| {r['run']} | {r['parameters']:,} | {r['onnx_bytes'] / 1e6:.2f} | {r['val_auc']:.4f} | "
                     f"{tta} | {r['val_accuracy']:.4f} | {r['best_epoch']}/{r['epochs_run']} | "
                     f"{r['train_seconds'] / 60:.1f}{cpu} | {r['train_patches_per_s'] or 0:,.0f} | "
                     f"{r['patches_per_s']:,.0f} | {r['speed_vs_first']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
