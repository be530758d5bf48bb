"""`make gpu-check`: the first time a GPU is lent, one command says whether the GPU half works and how fast.

Steps, each recorded in one JSON file (default benchmarks/results/gpu_check.json), which is
written even when a step fails, and the step's error kept in it:

1. doctor  -- `hcd-edge doctor --json` (every probe and the smoke tests, exit code).
2. pytest  -- `pytest -m gpu -rs` (the GPU tests; their skip reasons when they cannot run).
3. engines -- the starter model built for TensorRT in FP32, FP16 and INT8, calibrated on the
   training split of the shared real patches and gated against FP32 on the validation split
   (generated patches when the real ones are absent: no AUC then); each engine scores the
   validation split (AUC), keeps its parity report, and is benchmarked at batch 1, 64, 256.
   ONNX Runtime FP32 on the same patches is the reference row.
Exit code: 0 when every step ran and passed, 1 otherwise (the JSON names the failing steps).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import RESULTS_DIR, describe_machine, real_patches
from hcd_edge.spec import Precision

STARTER = Path(__file__).resolve().parents[1] / "hcd_edge" / "starter" / "starter.onnx"
STEPS = ("doctor", "pytest", "engines")
TRT_PRECISIONS = (Precision.FP32, Precision.FP16, Precision.INT8)
BENCH_BATCHES = (1, 64, 256)


def main(argv: list[str] | None = None) -> int:
    """Run the steps, write the JSON report, print where it is; 0 when all passed."""
    args = _parse(argv)
    skip = {s for s in args.skip.split(",") if s}
    report: dict = {"machine": describe_machine(), "steps": {}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hcd-gpu-check-") as tmp:
        for step, run in (("doctor", run_doctor), ("pytest", run_gpu_tests),
                          ("engines", lambda: engine_figures(Path(tmp), args.seconds))):
            report["steps"][step] = {"skipped": "--skip"} if step in skip else _timed(run)
            _write(args.out, report)
    report["failed_steps"] = [s for s, r in report["steps"].items() if not r.get("passed", True)]
    report["seconds"] = round(time.perf_counter() - started, 1)
    _write(args.out, report)
    print(f"wrote {args.out}; failed steps: {', '.join(report['failed_steps']) or 'none'}")
    return 1 if report["failed_steps"] else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "gpu_check.json")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per batch size")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {', '.join(STEPS)}")
    return parser.parse_args(argv)


def _timed(run) -> dict:
    started = time.perf_counter()
    try:
        result = run()
    except Exception as exc:  # noqa: BLE001 - the report keeps the error and goes on
        result = {"passed": False, "error": f"{type(exc).__name__}: {exc}"}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _write(out: Path, report: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")


def run_doctor() -> dict:
    """`hcd-edge doctor --json` in a subprocess: its report and whether it exited 0."""
    done = subprocess.run([sys.executable, "-m", "hcd_edge", "doctor", "--json"],
                          capture_output=True, text=True, timeout=600, check=False)
    try:
        doctor = json.loads(done.stdout)
    except json.JSONDecodeError:
        doctor = {"stdout": done.stdout[-4000:], "stderr": done.stderr[-4000:]}
    return {"passed": done.returncode == 0, "exit_code": done.returncode, "report": doctor}


def run_gpu_tests() -> dict:
    """`pytest -m gpu` in a subprocess: exit code and pytest's summary lines (skip reasons)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rs",
                           "-p", "no:cacheprovider"], capture_output=True, text=True, timeout=900,
                          check=False)
    lines = done.stdout.strip().splitlines()
    summary = [line for line in lines if line.startswith(("SKIPPED", "FAILED", "ERROR"))]
    return {"passed": done.returncode in (0, 5), "exit_code": done.returncode,
            "summary": summary + lines[-1:], "tail": "\n".join(lines[-40:])}


def engine_figures(work: Path, seconds: float) -> dict:
    """TensorRT FP32/FP16/INT8 engines of the starter: build, AUC, parity, bench; ORT FP32 beside."""
    from hcd_edge.backends.tensorrt import probe as tensorrt_missing_reason

    calib, val, source = _patches(work)
    rows = {"onnxruntime-fp32": _engine_row(work, "onnxruntime", Precision.FP32, calib, val, seconds)}
    reason = tensorrt_missing_reason()
    if reason is not None:
        return {"passed": False, "patches": source, "rows": rows,
                "tensorrt": f"not usable here: {reason}"}
    for precision in TRT_PRECISIONS:
        rows[f"tensorrt-{precision.value}"] = _engine_row(work, "tensorrt", precision, calib, val,
                                                          seconds)
    return {"passed": all(r.get("passed") for r in rows.values()), "patches": source, "rows": rows}


def _patches(work: Path) -> tuple[Path, Path, str]:
    """(calibration folder, validation folder, description): the starter's split of the real
    patches, or generated patches without labels' meaning when those are absent."""
    real = real_patches()
    if real is None:
        from hcd_edge.synthetic import write_synthetic_set

        calib = write_synthetic_set(work / "generated-calib", n=256, seed=0).root
        val = write_synthetic_set(work / "generated-val", n=256, seed=1).root
        return calib, val, "generated patches (no real data here: AUC is meaningless)"
    from benchmarks.splits import starter_split
    from hcd_edge.model_info import read_model_info

    folders = starter_split(real, work, read_model_info(STARTER).provenance)
    return folders.train, folders.val, f"real Kaggle patches beside {real} (AUC on {folders.about})"


def _engine_row(work: Path, backend: str, precision: Precision, calib: Path, val: Path,
                seconds: float) -> dict:
    """Build one engine (gated), then its AUC on `val`, its parity report and bench records."""
    from hcd_edge.bench import BenchConfig, bench_target, resolve_target
    from hcd_edge.builders import BuildRequest, build_engine
    from hcd_edge.score.sources import open_patch_set

    started = time.perf_counter()
    try:
        built = build_engine(BuildRequest(
            onnx=STARTER, precision=precision, backend=backend, val=val,
            calib=calib if precision is Precision.INT8 else None,
            out=work / "engines" / f"{backend}-{precision.value}", force=True))
    except Exception as exc:  # noqa: BLE001 - recorded, the other engines still run
        return {"passed": False, "step": "build", "error": f"{type(exc).__name__}: {exc}"}
    build_s = time.perf_counter() - started
    patch_set = open_patch_set(val)
    config = BenchConfig(batches=BENCH_BATCHES, seconds=seconds, warmup=0.5)
    records = bench_target(resolve_target(built.engine_dir, None), patch_set.paths[:1024], config,
                           val=patch_set)
    manifest = built.manifest
    return {"passed": bool((manifest.parity or {}).get("passed", False)),
            "build_seconds": round(build_s, 1), "auc": records[0].auc if records else None,
            "parity": manifest.parity, "build_options": manifest.build_options,
            "device": manifest.device, "bench": [r.to_dict() for r in records]}


if __name__ == "__main__":
    sys.exit(main())
