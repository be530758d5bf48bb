"""Inference of the seed CNN, HcdNet (the starter model) and ResNet50, side by side in one run.

Runtimes: torch eager FP32 (what the seed notebooks do), ONNX Runtime FP32 and INT8 engines
built by hcd-edge, and on a machine with a GPU TensorRT FP16 / INT8 and torch-tensorrt. Each
(model, runtime, batch) is timed on the same decoded real patches after a warm-up; ratios are
against torch eager and ONNX Runtime FP32 of the same model and batch. AUC (validation split of
the real patches) is measured for the trained starter model, whose FP32 and INT8 engines are
also gated against each other by build-engine.

    python -m benchmarks.inference [--models starter,cnn,resnet50] [--batch 1,8,64,256]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.machine import real_patches, write_results
from benchmarks.splits import SplitFolders, starter_split
from hcd_edge.bench import BenchConfig, evaluate_auc, latency_summary, time_inference
from hcd_edge.decode import decode_batch
from hcd_edge.score.sources import open_patch_set
from hcd_edge.spec import Precision

STARTER = Path(__file__).resolve().parents[1] / "hcd_edge" / "starter" / "starter.onnx"
MODELS = ("starter", "cnn", "resnet50")
MAX_BATCH = {"resnet50": 64}  # larger ResNet50 batches take minutes per sample on a small CPU
SAMPLES_KEPT = 2000  # per-batch latencies stored per record, for the distribution plot


@dataclass(frozen=True)
class Subject:
    """One model under test: its ONNX, its torch twin, and whether its weights are trained."""

    name: str
    onnx: Path
    config: object  # hcd_edge.train.models.ModelConfig
    trained: bool


@dataclass(frozen=True)
class Data:
    """Patches to time with, calibrate on, and (for trained models) measure AUC on."""

    timing: list[Path]
    calib: Path
    val: Path | None  # labelled validation folder, None without real data
    source: str


def main(argv: list[str] | None = None) -> int:
    """Run the inference benchmark, print its table and write benchmarks/results/inference.json."""
    args = _parse(argv)
    batches = tuple(int(b) for b in args.batch.split(","))
    config = BenchConfig(batches=batches, seconds=args.seconds, warmup=args.warmup,
                         threads=args.threads, decode_threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="hcd-bench-inference-") as tmp:
        work = Path(tmp)
        subjects = [_subject(name, work) for name in args.models.split(",")]
        data = _data(work, subjects)
        records, skipped = [], []
        for subject in subjects:
            records += _measure_subject(subject, data, config, work)
            skipped += _gpu_rows(subject, data, config, work, records)
    _print_table(records)
    command = " ".join(["python -m benchmarks.inference", *(sys.argv[1:] if argv is None else argv)])
    path = write_results("inference", {"command": command, "data": data.source, "seconds": args.seconds,
                                       "records": records, "skipped": skipped}, args.json)
    print(f"wrote {path}", file=sys.stderr)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="starter, cnn, hcdnet, resnet50")
    parser.add_argument("--batch", default="1,8,64,256")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed seconds first")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args(argv)


def _subject(name: str, work: Path) -> Subject:
    from hcd_edge.model_info import read_model_info
    from hcd_edge.train.models import Arch, ModelConfig

    if name == "starter":
        if not STARTER.is_file():
            raise SystemExit(f"{STARTER} is missing: train the starter model first (see STARTER.md)")
        info = read_model_info(STARTER)
        config = ModelConfig.from_dict(info.provenance["model"])
        return Subject(f"starter ({config.arch.value})", STARTER, config, trained=True)
    config = ModelConfig(arch=Arch(name))
    return Subject(name, _export_untrained(config, work / f"{name}.onnx"), config, trained=False)


def _export_untrained(config, out: Path) -> Path:
    """An ONNX of freshly initialized weights: speed does not depend on what the weights learned."""
    import torch

    from hcd_edge.spec import IMAGENET_SPEC, PreprocessSpec
    from hcd_edge.train.checkpoint import ModelCheckpoint, save_model_checkpoint
    from hcd_edge.train.export import export_checkpoint
    from hcd_edge.train.models import Arch, build_model

    torch.manual_seed(0)
    model = build_model(config, pretrained=False)
    spec = IMAGENET_SPEC if config.arch is Arch.RESNET50 else PreprocessSpec(
        mean=(0.70, 0.54, 0.69), std=(0.16, 0.20, 0.15))
    ckpt = ModelCheckpoint(model=config, state_dict=model.state_dict(), spec=spec, threshold=0.5,
                           metrics={}, provenance={"data": "none: untrained, for timing only"},
                           epoch=0)
    export_checkpoint(save_model_checkpoint(out.with_suffix(".pt"), ckpt), out)
    return out


def _data(work: Path, subjects: list[Subject]) -> Data:
    real = real_patches()
    if real is None:
        from hcd_edge.synthetic import write_synthetic_set

        folder = write_synthetic_set(work / "generated", n=1024, seed=0).root
        return Data(open_patch_set(folder).paths, folder, None, "generated patches (no real data)")
    split = _starter_split(real, work, subjects)
    return Data(open_patch_set(split.val).paths, split.train, split.val,
                f"real Kaggle patches beside {real}: calibration on the starter's training split, "
                f"AUC on {split.about}")


def _starter_split(real: Path, work: Path, subjects: list[Subject]) -> SplitFolders:
    from hcd_edge.model_info import read_model_info

    trained = [s for s in subjects if s.trained]
    provenance = read_model_info(trained[0].onnx).provenance if trained else {}
    return starter_split(real, work, provenance)


def _measure_subject(subject: Subject, data: Data, config: BenchConfig, work: Path) -> list[dict]:
    batches = [b for b in config.batches if b <= MAX_BATCH.get(subject.config.arch.value, 1 << 30)]
    records = [_torch_record(subject, data, config, b) for b in batches]
    for backend in _cpu_backends():
        for precision in (Precision.FP32, Precision.INT8):
            engine = _build(subject, precision, data, work, backend=backend)
            records += _engine_records(subject, engine, backend, data, config, batches)
    return records


def _cpu_backends() -> list[str]:
    """ONNX Runtime, and every other CPU backend usable here (OpenVINO when installed)."""
    from hcd_edge.backends.registry import usable

    others = [b.name for b in usable("cpu") if b.name != "onnxruntime"]
    return ["onnxruntime", *others]


def _build(subject: Subject, precision: Precision, data: Data, work: Path, backend: str) -> Path:
    from hcd_edge.builders import BuildRequest, build_engine

    gated = subject.trained and data.val is not None
    request = BuildRequest(
        onnx=subject.onnx, precision=precision, backend=backend,
        out=work / "engines" / f"{subject.config.arch.value}-{precision.value}-{backend}",
        calib=data.calib if precision is Precision.INT8 else None, calib_n=512,
        val=data.val if gated else None, gate=gated, threads=None,
    )
    started = time.perf_counter()
    result = build_engine(request)
    print(f"built {result.engine_dir.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return result.engine_dir


def _torch_record(subject: Subject, data: Data, config: BenchConfig, batch: int) -> dict:
    import torch

    from hcd_edge.train.models import build_model

    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    model = build_model(subject.config, pretrained=False).eval()
    x = torch.from_numpy(_decoded(data.timing, batch, subject))
    with torch.inference_mode():
        deadline = time.perf_counter() + config.warmup
        while time.perf_counter() < deadline:
            model(x)
        samples: list[float] = []
        deadline = time.perf_counter() + config.seconds
        while time.perf_counter() < deadline or len(samples) < 5:
            start = time.perf_counter()
            model(x)
            samples.append(time.perf_counter() - start)
    return _record(subject, "torch-eager", "fp32", batch, samples, auc=None)


def _decoded(paths: list[Path], batch: int, subject: Subject) -> np.ndarray:
    from hcd_edge.model_info import read_model_info

    spec = read_model_info(subject.onnx).spec
    out = np.empty((batch, 3, 96, 96), np.float32)
    decode_batch([paths[i % len(paths)] for i in range(batch)], out, mean=spec.mean, std=spec.std)
    return out


def _engine_records(subject: Subject, engine: Path, backend: str, data: Data, config: BenchConfig,
                    batches: list[int]) -> list[dict]:
    from hcd_edge.backends.engine_folder import open_executor
    from hcd_edge.manifest import read_manifest

    manifest = read_manifest(engine)
    records = []
    with open_executor(engine, threads=config.threads) as ex:
        auc = None
        if subject.trained and data.val is not None:
            auc = evaluate_auc(ex, open_patch_set(data.val), config.decode_threads)
        for batch in (b for b in batches if b <= ex.max_batch):
            slot = ex.make_slot(0, batch)
            spec = ex.spec
            decode_batch([data.timing[i % len(data.timing)] for i in range(batch)], slot.host[:batch],
                         mean=spec.mean, std=spec.std)
            samples = time_inference(ex, slot, batch, config)
            ex.release_slot(slot)
            record = _record(subject, backend, manifest.precision.value, batch, samples, auc)
            record["parity"] = manifest.parity
            record["quantization"] = manifest.quantization
            records.append(record)
    return records


def _record(subject: Subject, runtime: str, precision: str, batch: int, samples: list[float],
            auc: float | None) -> dict:
    latency = latency_summary(samples)
    print(f"  {subject.name:18s} {runtime:12s} {precision:5s} batch {batch:4d}: "
          f"{batch / (latency['mean'] / 1e3):9.1f} patches/s", file=sys.stderr)
    return {
        "model": subject.name, "runtime": runtime, "precision": precision, "batch": batch,
        "throughput": batch / (latency["mean"] / 1e3), "latency_ms": latency,
        "samples_ms": [round(s * 1e3, 4) for s in samples[:SAMPLES_KEPT]], "auc": auc,
        "trained": subject.trained,
    }


def _gpu_rows(subject: Subject, data: Data, config: BenchConfig, work: Path,
              records: list[dict]) -> list[str]:
    """TensorRT FP16/INT8 (and torch-tensorrt) rows on a GPU machine; why not, elsewhere."""
    from hcd_edge.backends.tensorrt import probe as tensorrt_missing_reason

    reason = tensorrt_missing_reason()
    if reason is not None:
        return [f"{subject.name}: TensorRT FP16/INT8 and torch-tensorrt: {reason}"]
    batches = [b for b in config.batches if b <= MAX_BATCH.get(subject.config.arch.value, 1 << 30)]
    for precision in (Precision.FP16, Precision.INT8):
        engine = _build(subject, precision, data, work, backend="tensorrt")
        records += _engine_records(subject, engine, "tensorrt", data, config, batches)
    return _torch_tensorrt_rows(subject, data, config, batches, records, work)


def _torch_tensorrt_rows(subject: Subject, data: Data, config: BenchConfig, batches: list[int],
                         records: list[dict], work: Path) -> list[str]:
    """torch-tensorrt FP16 through `hcd-edge export --tensorrt`: one dynamic-batch engine folder,
    timed by the same runtime as every other engine (the torch twin has untrained weights, so
    throughput only, no AUC)."""
    from hcd_edge.errors import BackendUnavailable

    try:
        from hcd_edge.train.export_tensorrt import require_torch_tensorrt

        require_torch_tensorrt()
    except (ImportError, BackendUnavailable) as exc:
        return [f"{subject.name}: torch-tensorrt: {exc}"]
    engine = _torch_tensorrt_engine(subject, work, max(batches))
    untrained = dataclasses.replace(subject, trained=False)
    records += _engine_records(untrained, engine, "torch-tensorrt", data, config, batches)
    return []


def _torch_tensorrt_engine(subject: Subject, work: Path, max_batch: int) -> Path:
    from hcd_edge.manifest import BatchProfile
    from hcd_edge.model_info import read_model_info
    from hcd_edge.train.checkpoint import ModelCheckpoint, save_model_checkpoint
    from hcd_edge.train.export_tensorrt import TrtExportRequest, export_tensorrt
    from hcd_edge.train.models import build_model

    model = build_model(subject.config, pretrained=False)
    info = read_model_info(subject.onnx)
    checkpoint = work / f"{subject.name}-torch-twin.pt"
    save_model_checkpoint(checkpoint, ModelCheckpoint(
        model=subject.config, state_dict=model.state_dict(), spec=info.spec,
        threshold=info.threshold, metrics={}, provenance={"note": "untrained torch twin"}, epoch=0))
    out = work / "engines" / f"{subject.config.arch.value}-fp16-torch-tensorrt"
    started = time.perf_counter()
    export_tensorrt(TrtExportRequest(checkpoint, out, Precision.FP16,
                                     BatchProfile(1, min(64, max_batch), max_batch), force=True))
    print(f"built {out.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return out


def _print_table(records: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Inference: patches/s, ratios to torch eager FP32 and ONNX Runtime FP32")
    for name in ("model", "runtime", "precision", "batch", "AUC", "p50 ms", "p99 ms", "patches/s",
                 "x torch", "x ORT fp32"):
        table.add_column(name, justify="left" if name in ("model", "runtime", "precision") else "right")
    for r in records:
        torch_tp = _throughput(records, r, "torch-eager", "fp32")
        ort_tp = _throughput(records, r, "onnxruntime", "fp32")
        table.add_row(r["model"], r["runtime"], r["precision"], str(r["batch"]),
                      "-" if r["auc"] is None else f"{r['auc']:.4f}",
                      f"{r['latency_ms']['p50']:.2f}", f"{r['latency_ms']['p99']:.2f}",
                      f"{r['throughput']:,.0f}", _ratio(r["throughput"], torch_tp),
                      _ratio(r["throughput"], ort_tp))
    Console(width=150).print(table)


def _throughput(records: list[dict], like: dict, runtime: str, precision: str) -> float | None:
    for r in records:
        if (r["model"], r["batch"], r["runtime"], r["precision"]) == (like["model"], like["batch"],
                                                                      runtime, precision):
            return r["throughput"]
    return None


def _ratio(value: float, base: float | None) -> str:
    return "-" if not base else f"{value / base:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
