#!/usr/bin/env python
"""End to end: `hcd-edge score` beside inference alone, a naive loop and the decoder alone.

Measured side by side in one run, on the same engine folders and the same files (page cache
warm), best of --repeats:

  inference-only  the engine on one pre-decoded batch, submit + collect in a loop
  score           hcd_edge.score.run.score() over all files: decode ring, engine, rows, CSV file
  naive           tifffile.imread + numpy normalize + session.run, one batch after another
  decoder         decode_batch over all files with all threads, no engine

for the engines of --engines: "model" (the starter model when it exists, else an untrained
HcdNet exported with torch: same speed as a trained one), INT8 unless --precision fp32, slower
than decoding; "null" (centre 8x8 mean -> linear: near-free, so much faster than decoding that
score measures the pipeline's own overhead); "tiny" (the tiny test CNN, FP32). Then the peak
RSS of an `hcd-edge score` subprocess on --n and 10 x --n patches (distinct symlinks).

score is reported twice: "wall" around the whole library call (listing and sorting the inputs,
opening the engine, scoring, writing the CSV) and "pipeline" (its summary: from the first
decode to the CSV renamed into place).

Targets (issue 5): model: score >= 90% of inference-only; null: score >= 80% of the decoder's
files/s; peak RSS flat from --n to 10 x --n patches.

    .venv/bin/python benchmarks/end_to_end.py [--model M.onnx] [--patches DIR] [--n 3000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import write_results
from hcd_edge.backends.engine_folder import open_executor
from hcd_edge.decode import decode_batch, native_available
from hcd_edge.score.sources import open_patch_set

SHARED_DATA = ROOT.parent / "shared" / "data"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, help="ONNX with hcd-edge metadata [starter.onnx, else untrained HcdNet]")
    p.add_argument("--precision", choices=["int8", "fp32"], default="int8")
    p.add_argument("--patches", type=Path, help="patch folder [the real 5k set, else generated]")
    p.add_argument("--n", type=int, default=3000, help="patches per run (memory: also 10x)")
    p.add_argument("--null-n", type=int, default=30000,
                   help="patches per run of the null engine (decode-bound runs are short: more files "
                        "amortize thread start, first touch of slot memory and the output fsync)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="[all cores]")
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds of inference-only")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--engines", default="model,null", help="comma list of model, null, tiny")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--json", type=Path, default=ROOT / "bench-out" / "end_to_end.json")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="hcd-e2e-") as tmp:
        work = Path(tmp)
        source, files = source_files(args, work)
        warm(files)
        makers = {"model": lambda: model_engine(args, work, source), "null": lambda: null_engine(work),
                  "tiny": lambda: tiny_engine(work)}
        engines = {name: makers[name]() for name in args.engines.split(",")}
        report = {"system": system_info(args), "patches": {"source": source, "n": len(files)},
                  "engines": {}}
        for name, (engine, about) in engines.items():
            subset = linked(files, args.null_n, work / "null-files") if name == "null" else files
            warm(subset)
            report["engines"][name] = {"about": about, "patches": len(subset),
                                       **measure(engine, subset, args, work / name)}
        if not args.skip_memory:
            memory_engine = engines.get("null") or null_engine(work)
            report["memory"] = measure_memory(memory_engine[0], files, args, work)
    print_report(report)
    command = " ".join(["python -m benchmarks.end_to_end", *sys.argv[1:]])
    print(f"\nwrote {write_results('end_to_end', {'command': command, **report}, args.json)}")


# -- inputs ----------------------------------------------------------------------------------

def source_files(args, work: Path) -> tuple[str, list[Path]]:
    """(description, --n distinct patch paths): given folder, real patches, or generated ones."""
    folder = args.patches
    if folder is None and (SHARED_DATA / "unpack.sh").is_file():
        out = subprocess.run(["bash", str(SHARED_DATA / "unpack.sh")], capture_output=True,
                             text=True, check=True)
        folder = Path(out.stdout.strip())
    if folder is None:
        from hcd_edge.synthetic import write_kaggle_layout

        folder = write_kaggle_layout(work / "generated", n=args.n, seed=0)
    paths = open_patch_set(folder, recursive=True).paths
    return f"{folder} ({len(paths)} files)", linked(paths, args.n, work / f"files-{args.n}")


def linked(paths: list[Path], n: int, folder: Path) -> list[Path]:
    """n distinct patch names in folder, symlinked to paths in turn (ids stay unique)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        link = folder / f"e2e{i:07d}.tif"
        link.symlink_to(paths[i % len(paths)].resolve())
        out.append(link)
    return out


def warm(files: list[Path]) -> None:
    for path in files:
        path.read_bytes()


def write_list(files: list[Path], path: Path) -> Path:
    path.write_text("\n".join(str(f) for f in files) + "\n")
    return path


# -- engines ---------------------------------------------------------------------------------

def model_engine(args, work: Path, source: str) -> tuple[Path, str]:
    from hcd_edge.builders import BuildRequest, build_engine
    from hcd_edge.score.default_engine import packaged_starter
    from hcd_edge.spec import Precision

    model, about = args.model, str(args.model)
    if model is None and packaged_starter().is_file():
        model, about = packaged_starter(), "starter model"
    if model is None:
        model, about = export_untrained_hcdnet(work / "hcdnet.onnx"), "untrained HcdNet (speed only)"
    calib = Path(source.split(" (")[0])
    request = BuildRequest(onnx=model, precision=Precision(args.precision), out=work / "model-engine",
                           backend="onnxruntime", calib=calib, calib_n=256, val_n=256, gate=False,
                           threads=args.threads)
    result = build_engine(request)
    return result.engine_dir, f"{about}, {args.precision} onnxruntime"


def export_untrained_hcdnet(path: Path) -> Path:
    import onnx
    import torch

    from hcd_edge.model_info import ModelInfo, write_props
    from hcd_edge.spec import IMAGENET_SPEC
    from hcd_edge.train.models import ModelConfig, build_model

    model = build_model(ModelConfig()).eval()
    torch.onnx.export(model, (torch.zeros(2, 3, 96, 96),), str(path), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logit"],
                      dynamic_axes={"input": {0: "N"}, "logit": {0: "N"}})
    proto = onnx.load(str(path))
    write_props(proto, ModelInfo(spec=IMAGENET_SPEC, architecture="hcdnet-untrained").to_props())
    onnx.save(proto, str(path))
    return path


def tiny_engine(work: Path) -> tuple[Path, str]:
    from tests.score.helpers import make_tiny_engine

    return make_tiny_engine(work / "tiny-engine"), "tiny test CNN, fp32 onnxruntime"


def null_engine(work: Path) -> tuple[Path, str]:
    """An FP32 ORT engine folder of a near-free model: mean of the centre 8x8 -> linear."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from hcd_edge.builders import BuildRequest, build_engine
    from hcd_edge.model_info import ModelInfo, write_props
    from hcd_edge.spec import Precision
    from tests.tiny_models import TINY_SPEC

    inits = [numpy_helper.from_array(np.array(v, np.int64), n)
             for n, v in (("starts", [44, 44]), ("ends", [52, 52]), ("axes", [2, 3]))]
    inits += [numpy_helper.from_array(np.array([[0.5, -0.3, 0.2]], np.float32), "w"),
              numpy_helper.from_array(np.array([0.1], np.float32), "b")]
    nodes = [helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["centre"]),
             helper.make_node("GlobalAveragePool", ["centre"], ["mean"]),
             helper.make_node("Flatten", ["mean"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w", "b"], ["logit"], transB=1)]
    graph = helper.make_graph(
        nodes, "null", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 96, 96])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    write_props(model, ModelInfo(spec=TINY_SPEC, architecture="null-benchmark").to_props())
    onnx.save(model, str(work / "null.onnx"))
    request = BuildRequest(onnx=work / "null.onnx", precision=Precision.FP32, out=work / "null-engine",
                           backend="onnxruntime", gate=False)
    return build_engine(request).engine_dir, "centre-mean near-free model, fp32 onnxruntime"


# -- measurements ----------------------------------------------------------------------------

def measure(engine: Path, files: list[Path], args, work: Path) -> dict:
    """Best-of-repeats rates of the four ways, interleaved so background load hits all alike."""
    work.mkdir(exist_ok=True)
    listing = write_list(files, work / "list.txt")
    runs: dict[str, list[float]] = {k: [] for k in ("inference_only", "score_wall", "score_pipeline",
                                                    "naive", "decoder")}
    stages = None
    for _ in range(args.repeats):
        runs["inference_only"].append(inference_only(engine, files, args))
        wall, pipeline, stages_now = score_rate(engine, listing, args, work)
        runs["score_wall"].append(wall)
        runs["score_pipeline"].append(pipeline)
        stages = stages_now if wall >= max(runs["score_wall"]) else stages
        runs["naive"].append(naive_rate(engine, files, args))
        runs["decoder"].append(decoder_rate(files, args))
    best = {k: max(v) for k, v in runs.items()}
    ratio = {f"{s}_vs_{o}": round(best[f"score_{s}"] / best[o], 3)
             for s in ("wall", "pipeline") for o in ("inference_only", "naive", "decoder")}
    return {
        "patches_per_s": {k: round(v, 1) for k, v in best.items()},
        "all_runs": {k: [round(x, 1) for x in v] for k, v in runs.items()},
        "ratios": ratio,
        "score_stage_seconds": stages,
    }


def inference_only(engine: Path, files: list[Path], args) -> float:
    with open_executor(engine, threads=args.threads) as ex:
        slot = ex.make_slot(0, args.batch)
        try:
            spec = ex.spec
            decode_batch(files[: args.batch], slot.host, mean=spec.mean, std=spec.std)
            timed_loop(ex, slot, args.batch, 1.0)  # warm-up
            batches, seconds = timed_loop(ex, slot, args.batch, args.seconds)
        finally:
            ex.release_slot(slot)
    return batches * args.batch / seconds


def timed_loop(ex, slot, batch: int, seconds: float) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or count < 3:
        ex.submit(slot, batch)
        ex.collect(slot)
        count += 1
    return count, elapsed


def score_rate(engine: Path, listing: Path, args, work: Path) -> tuple[float, float, dict]:
    from hcd_edge.score.run import ScoreRequest, score

    out = work / "score.csv"
    start = time.perf_counter()
    result = score(ScoreRequest(inputs=(listing,), out=out, engine=engine, batch=args.batch,
                                threads=args.threads))
    wall = time.perf_counter() - start  # includes listing the inputs and opening the engine
    if result.counts.failed:
        raise SystemExit(f"{result.counts.failed} benchmark patches failed to score")
    summary = result.summary
    stages = {**summary["stages"], "pipeline": summary["wall_seconds"], "wall": round(wall, 3)}
    return result.counts.total / wall, summary["patches_per_second"], stages


def naive_rate(engine: Path, files: list[Path], args) -> float:
    import onnxruntime as ort
    import tifffile

    from hcd_edge.manifest import read_manifest

    manifest = read_manifest(engine)
    spec = manifest.preprocess
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads or (os.cpu_count() or 1)
    session = ort.InferenceSession(str(engine / manifest.engine_file), options,
                                   providers=["CPUExecutionProvider"])
    mean = np.array(spec.mean, np.float32).reshape(1, 1, 1, 3)
    std = np.array(spec.std, np.float32).reshape(1, 1, 1, 3)
    start = time.perf_counter()
    for i in range(0, len(files), args.batch):
        pixels = np.stack([tifffile.imread(p) for p in files[i : i + args.batch]])
        x = ((pixels.astype(np.float32) / 255.0 - mean) / std).transpose(0, 3, 1, 2)
        session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})
    return len(files) / (time.perf_counter() - start)


def decoder_rate(files: list[Path], args, chunk: int = 256) -> float:
    out = np.empty((chunk, 3, 96, 96), np.float32)
    start = time.perf_counter()
    for i in range(0, len(files), chunk):
        part = files[i : i + chunk]
        decode_batch(part, out[: len(part)], mean=(0.5,) * 3, std=(0.25,) * 3, threads=args.threads)
    return len(files) / (time.perf_counter() - start)


def measure_memory(engine: Path, files: list[Path], args, work: Path) -> dict:
    """Peak RSS (MiB) of `hcd-edge score` subprocesses on n and 10 x n distinct patch paths."""
    many = linked(files, 10 * len(files), work / "memory-files")
    warm(many[: len(files)])
    result = {}
    for label, subset in ((str(len(files)), many[: len(files)]), (str(len(many)), many)):
        listing = write_list(subset, work / f"memory-{label}.txt")
        result[label] = peak_rss_mib(engine, listing, args, work / f"memory-{label}.csv")
    sizes = list(result)
    result["ratio"] = round(result[sizes[1]]["peak_rss_mib"] / result[sizes[0]]["peak_rss_mib"], 3)
    return result


# The child reports its own VmHWM at exit: ru_maxrss from wait4 would include the RSS this
# (torch-laden) parent had when it forked, which Linux carries across exec.
_RSS_CHILD = """
import atexit, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(sys.argv[1], "w").write(line.split()[1])
atexit.register(report)
from hcd_edge.cli import main
main(["score", *sys.argv[2:]])
"""


def peak_rss_mib(engine: Path, listing: Path, args, out: Path) -> dict:
    hwm = out.with_suffix(".hwm")
    command = [sys.executable, "-c", _RSS_CHILD, str(hwm), str(listing), "--engine", str(engine),
               "--out", str(out), "--batch", str(args.batch)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"hcd-edge score {listing} failed: {done.stderr.decode()}")
    return {"peak_rss_mib": round(int(hwm.read_text()) / 1024, 1), "wall_seconds": round(wall, 2)}


# -- report ----------------------------------------------------------------------------------

def system_info(args) -> dict:
    import onnxruntime

    from hcd_edge.device_info import describe_cpu

    cpu = describe_cpu()
    return {"cpu": cpu["brand"], "cores": cpu["cores"], "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "native_decoder": native_available(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "batch": args.batch, "threads": args.threads or cpu["cores"], "repeats": args.repeats}


def print_report(report: dict) -> None:
    s = report["system"]
    print(f"{s['cpu']}, {s['cores']} cores, load {s['load_average_at_start']}, native decoder "
          f"{s['native_decoder']}, batch {s['batch']}, threads {s['threads']}, best of {s['repeats']}")
    print(f"patches: {report['patches']['n']} from {report['patches']['source']}\n")
    head = ("engine", "infer-only/s", "score wall/s", "score pipeline/s", "naive/s", "decoder/s",
            "score/infer", "score/naive", "score/decoder")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in report["engines"].items():
        rates, q = r["patches_per_s"], r["ratios"]
        cells = [f"{name} ({r['about']})",
                 *(f"{rates[k]:,.0f}" for k in ("inference_only", "score_wall", "score_pipeline",
                                                 "naive", "decoder")),
                 *(f"{q['wall_vs_' + o]:.2f} ({q['pipeline_vs_' + o]:.2f})"
                   for o in ("inference_only", "naive", "decoder"))]
        print("| " + " | ".join(cells) + " |")
    print("ratios: wall (pipeline)")
    memory = report.get("memory")
    if memory:
        sizes = [k for k in memory if k != "ratio"]
        parts = [f"{k} patches {memory[k]['peak_rss_mib']} MiB ({memory[k]['wall_seconds']} s)" for k in sizes]
        print(f"\npeak RSS of hcd-edge score (null engine): {'; '.join(parts)}; ratio {memory['ratio']}")


if __name__ == "__main__":
    main()
