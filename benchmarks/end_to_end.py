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
than decoding; "tiny" (the tiny test CNN, FP32); and "null": the null engine
(benchmarks/null_engine.py, an executor whose inference costs nothing, as it nearly does on a
GPU), over --null-n patches (default 300,000 symlinks to the real ones), which measures the host
side alone: listing, decoding, slots, rows, the partial log and the output file. For it:

  decoder         decode_batch over all files with --threads, chunks of 256 (the best of 64/256)
  score 1         the whole score() call on one patch (what a run costs beyond its patches)
  score list      the whole score() call on a list file of the --null-n paths
  score folder    the whole score() call on the folder of the --null-n links
                  (both at each of --null-batches: 64, the CPU default, and 256, a GPU engine's
                  batch and the decoder's chunk; what a batch costs in Python is paid per batch)
  marginal rate   (N - 1) / (wall - wall of score 1): the target is >= 0.8 of the decoder's;
                  given as the ratio of the bests and as the median of each repeat's ratio to
                  the decoder run just before it (steadier on a host whose load comes and goes)
  core us/patch   CPU seconds (all threads) per patch, of the decoder and of score: where the
                  cores go, less sensitive to a busy machine than wall rates
  stages          the summary's microseconds per patch of each stage (list, decode, inference,
                  write = partial log, render = output file, wait), and a projection on paper
                  of the patches/s an Orin and an H100 host would sustain (assumptions printed)

Then `hcd-edge score` subprocesses: start-up (one patch, the null folder's ORT model, best of 5,
hcd_edge byte-compiled as a wheel install leaves it, beside a bare `import numpy, onnxruntime`;
target <= 0.3 s) and peak RSS with the null engine on --n and --null-n patches (target ratio
<= 1.5).

score is reported twice for model/tiny: "wall" around the whole library call (listing and
sorting the inputs, opening the engine, scoring, writing the CSV) and "pipeline" (its summary:
from the first decode to the CSV renamed into place).

Targets (issue 16): null: marginal score rate >= 0.8 of the decoder's at the same threads;
model: score >= 0.95 of inference-only; start-up <= 0.3 s; peak RSS at --null-n <= 1.5 x at --n.

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
from benchmarks.thread_cpu import ThreadCpu
from hcd_edge.__main__ import FULL_EXIT_ENV
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
    p.add_argument("--null-n", type=int, default=300000,
                   help="patches per run of the null engine (symlinks to the real ones)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--null-batches", default="64,256",
                   help="comma list of the null engine's score batches (patches per batch)")
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
        null_files = None
        for name, (engine, about) in engines.items():
            if name == "null":
                null_files = linked(files, args.null_n, work / "null-files")
                warm(null_files)
                report["engines"][name] = {"about": about, "patches": len(null_files),
                                           **measure_null(engine, null_files, args, work / name)}
                continue
            warm(files)
            report["engines"][name] = {"about": about, "patches": len(files),
                                       **measure(engine, files, args, work / name)}
        null = engines.get("null") or null_engine(work)
        report["startup"] = measure_startup(null[0], files[0], args, work)
        if not args.skip_memory:
            many = null_files or linked(files, args.null_n, work / "null-files")
            report["memory"] = measure_memory(null[0], many, args, work)
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
        from hcd_edge.synthetic import write_synthetic_set

        folder = write_synthetic_set(work / "generated", n=args.n, seed=0).root
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
    return (build_engine(request).engine_dir,
            "null executor (inference costs nothing); folder: a near-free fp32 onnxruntime model")


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


def measure_null(engine: Path, files: list[Path], args, work: Path) -> dict:
    """The host side alone, side by side and interleaved: decoder, score of 1, of a list, of a folder.

    Each (input, batch) pair is a row of the result, keyed "list" / "folder" at the first of
    --null-batches and "list, batch B" / "folder, batch B" at the others (their order: "rows").
    """
    from benchmarks.null_engine import null_engine_for

    work.mkdir(exist_ok=True)
    listing = write_list(files, work / "list.txt")
    sources = {"list": listing, "folder": files[0].parent}
    batches = [int(b) for b in args.null_batches.split(",")]
    rows = [(_null_row(kind, batch, batches[0]), kind, batch) for batch in batches for kind in sources]
    runs: dict[str, list] = {k: [] for k in ("decoder", "score_one", *(name for name, _, _ in rows))}
    with null_engine_for(engine):
        for _ in range(args.repeats):
            runs["decoder"].append(max((timed_decode(files, args, chunk) for chunk in (64, 256)),
                                       key=lambda r: r["rate"]))
            runs["score_one"].append(timed_score(engine, files[0], args, work))
            for name, kind, batch in rows:
                runs[name].append(timed_score(engine, sources[kind], args, work, batch=batch))
    n, one = len(files), min(r["wall"] for r in runs["score_one"])
    decoder = max(runs["decoder"], key=lambda r: r["rate"])
    result: dict = {"decoder_per_s": round(decoder["rate"], 1),
                    "decoder_core_us_per_patch": round(min(r["core_us"] for r in runs["decoder"]), 3),
                    "score_one_seconds": round(one, 4), "rows": [name for name, _, _ in rows],
                    "all_runs": runs}
    for name, _, batch in rows:
        best = min(runs[name], key=lambda r: r["wall"])
        marginal = (n - 1) / max(best["wall"] - one, 1e-9)
        paired = paired_ratios(runs[name], runs["decoder"], n, one)
        result[name] = {
            "batch": batch, "wall_seconds": round(best["wall"], 3), "score_per_s": round(n / best["wall"], 1),
            "marginal_per_s": round(marginal, 1),
            "marginal_vs_decoder": round(marginal / decoder["rate"], 3),
            "paired_vs_decoder": paired, "paired_median": float(np.median(paired)),
            "core_us_per_patch": round(min(r["core_us"] for r in runs[name]), 3),
            "thread_core_us_per_patch": best["thread_core_us"],  # of the best run, by thread role
            "microseconds_per_patch": best["summary"]["microseconds_per_patch"],
        }
    result["projection_from"] = _null_row("folder", max(batches), batches[0])
    result["projection"] = projection(result[result["projection_from"]]["core_us_per_patch"], args)
    return result


def paired_ratios(score_runs: list[dict], decoder_runs: list[dict], n: int, one: float) -> list[float]:
    """Each repeat's marginal score rate over the rate of the decoder run just before it.

    A host whose load comes and goes moves both runs of a repeat alike, where the ratio of the
    two bests can pair a quiet moment of one with a busy moment of the other.
    """
    return [round((n - 1) / max(r["wall"] - one, 1e-9) / d["rate"], 3)
            for r, d in zip(score_runs, decoder_runs, strict=True)]


def _null_row(kind: str, batch: int, first: int) -> str:
    """A null result row's name: the input kind, with its batch unless it is the first batch."""
    return kind if batch == first else f"{kind}, batch {batch}"


def timed_decode(files: list[Path], args, chunk: int) -> dict:
    out = np.empty((chunk, 3, 96, 96), np.float32)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(files), chunk):
        part = files[i : i + chunk]
        decode_batch(part, out[: len(part)], mean=(0.5,) * 3, std=(0.25,) * 3, threads=args.threads)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rate": round(len(files) / wall, 1), "chunk": chunk,
            "core_us": round(cpu / len(files) * 1e6, 3)}


def timed_score(engine: Path, source: Path, args, work: Path, batch: int | None = None) -> dict:
    from hcd_edge.score.run import ScoreRequest, score

    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadCpu() as threads:
        result = score(ScoreRequest(inputs=(source,), out=work / "score.csv", engine=engine,
                                    batch=batch or args.batch, threads=args.threads))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.counts.failed:
        raise SystemExit(f"{result.counts.failed} benchmark patches failed to score")
    n = result.counts.total
    return {"wall": round(wall, 4), "core_us": round(cpu / n * 1e6, 3),
            "thread_core_us": {role: round(s / n * 1e6, 3) for role, s in sorted(threads.by_role().items())},
            "summary": {k: result.summary.get(k) for k in ("stages", "microseconds_per_patch",
                                                           "wall_seconds")}}


# On paper: the host cores of each device and how much slower one of its cores is than one here
# at this work (file reads through the page cache, integer pixel work, Python glue). Assumptions,
# not measurements: an Orin AGX has 12 Cortex-A78AE cores at 2.2 GHz (~2.5x slower per core than
# a Zen 5 EPYC core at this kind of work); an H100 server's host has, say, 2 x 56 Xeon Sapphire
# Rapids cores (~1.2x slower per core), of which we give scoring 32. Inference anchors (issue 16):
# ResNet50-class INT8 at tens of thousands/s on an Orin, far above 100,000/s on an H100.
DEVICES = {
    "jetson_orin_agx": {"host_cores": 12, "core_slowdown": 2.5, "engine_per_s": 30_000},
    "h100_server": {"host_cores": 32, "core_slowdown": 1.2, "engine_per_s": 150_000},
}


def projection(core_us_per_patch: float, args) -> dict:
    """Patches/s each device would sustain: host rate (cores / core-us per patch), engine capped."""
    out = {}
    for name, d in DEVICES.items():
        host = d["host_cores"] * 1e6 / (core_us_per_patch * d["core_slowdown"])
        out[name] = {**d, "host_per_s": round(host), "sustained_per_s": round(min(host, d["engine_per_s"])),
                     "limit": "host" if host < d["engine_per_s"] else "engine"}
    return out


# What `hcd-edge score PATCH --engine E` imports (an ONNX Runtime engine folder), in one process.
RUN_IMPORTS = "import numpy, onnxruntime, hcd_edge.cli, hcd_edge.score.run, hcd_edge.backends.onnxruntime.executor"


def measure_startup(engine: Path, patch: Path, args, work: Path, repeats: int = 5) -> dict:
    """Best wall seconds of `hcd-edge score PATCH --engine E` in a fresh process (warm caches),
    beside the bare `import numpy, onnxruntime` that any run pays (the machine's own floor) and
    a process that imports all the run imports and does nothing: the start-up split into the
    floor, hcd-edge's own imports (click, the score stack) and the run itself with the exit.

    hcd_edge is byte-compiled first, as a wheel install leaves it (an editable install under
    PYTHONDONTWRITEBYTECODE=1 would otherwise compile ~40 modules in every run, ~0.07 s here).
    """
    import compileall

    compileall.compile_dir(str(ROOT / "hcd_edge"), quiet=1)
    command = [sys.executable, "-m", "hcd_edge", "score", str(patch), "--engine", str(engine),
               "--out", str(work / "one.csv")]
    if args.threads:
        command += ["--threads", str(args.threads)]
    floor = [sys.executable, "-c", "import numpy, onnxruntime"]
    imports = [sys.executable, "-c", RUN_IMPORTS]
    full_exit = {**os.environ, FULL_EXIT_ENV: "1"}  # the same run through the interpreter's teardown
    times, floors, stacks, fulls = [], [], [], []
    for _ in range(repeats):
        floors.append(_timed_process(floor))
        stacks.append(_timed_process(imports, "the run's imports"))
        times.append(_timed_process(command, f"hcd-edge score {patch}"))
        fulls.append(_timed_process(command, f"hcd-edge score {patch} ({FULL_EXIT_ENV}=1)", full_exit))
    best, base, stack = min(times), min(floors), min(stacks)
    return {"best_seconds": round(best, 3), "all_seconds": [round(t, 3) for t in times],
            "import_numpy_onnxruntime_seconds": round(base, 3),
            "beyond_imports_seconds": round(best - base, 3),
            "hcd_edge_imports_seconds": round(stack - base, 3),
            "run_and_exit_seconds": round(best - stack, 3),
            "full_exit_best_seconds": round(min(fulls), 3),
            "quick_exit_saves_seconds": round(min(fulls) - best, 3)}


def _timed_process(command: list[str], what: str = "", env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{what or command} failed: {done.stderr.decode()}")
    return seconds


def measure_memory(engine: Path, many: list[Path], args, work: Path) -> dict:
    """Peak RSS (MiB) of `hcd-edge score` subprocesses (null engine) on --n and all of `many`."""
    result = {}
    for label, subset in ((str(args.n), many[: args.n]), (str(len(many)), many)):
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
sys.path.insert(0, sys.argv[2])
from benchmarks.null_engine import null_engine_for
from hcd_edge.cli import main
with null_engine_for(sys.argv[3]):
    main(["score", *sys.argv[4:]])
"""


def peak_rss_mib(engine: Path, listing: Path, args, out: Path) -> dict:
    hwm = out.with_suffix(".hwm")
    command = [sys.executable, "-c", _RSS_CHILD, str(hwm), str(ROOT), str(engine), str(listing),
               "--engine", str(engine), "--out", str(out), "--batch", str(args.batch)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 3):
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
        if name == "null":
            continue
        rates, q = r["patches_per_s"], r["ratios"]
        cells = [f"{name} ({r['about']})",
                 *(f"{rates[k]:,.0f}" for k in ("inference_only", "score_wall", "score_pipeline",
                                                 "naive", "decoder")),
                 *(f"{q['wall_vs_' + o]:.2f} ({q['pipeline_vs_' + o]:.2f})"
                   for o in ("inference_only", "naive", "decoder"))]
        print("| " + " | ".join(cells) + " |")
    print("ratios: wall (pipeline)")
    if "null" in report["engines"]:
        print_null(report["engines"]["null"])
    if "startup" in report:
        up = report["startup"]
        print(f"\nstart-up: hcd-edge score of one patch, best {up['best_seconds']} s; "
              f"import numpy, onnxruntime alone {up['import_numpy_onnxruntime_seconds']} s; "
              f"beyond them {up['beyond_imports_seconds']} s"
              + (f" (hcd-edge's own imports {up['hcd_edge_imports_seconds']} s, the run and the exit "
                 f"{up['run_and_exit_seconds']} s)" if "run_and_exit_seconds" in up else "")
              + (f"; with the interpreter's full teardown ({FULL_EXIT_ENV}=1) "
                 f"{up['full_exit_best_seconds']} s, so the quick exit saves "
                 f"{up['quick_exit_saves_seconds']} s" if "full_exit_best_seconds" in up else ""))
    memory = report.get("memory")
    if memory:
        sizes = [k for k in memory if k != "ratio"]
        parts = [f"{k} patches {memory[k]['peak_rss_mib']} MiB ({memory[k]['wall_seconds']} s)" for k in sizes]
        print(f"\npeak RSS of hcd-edge score (null engine): {'; '.join(parts)}; ratio {memory['ratio']}")


def print_null(r: dict) -> None:
    print(f"\nnull engine, {r.get('patches', '')} patches: decoder "
          f"{r['decoder_per_s']:,.0f}/s ({r['decoder_core_us_per_patch']} core-us/patch); score of "
          f"one patch {r['score_one_seconds']} s")
    for kind in r.get("rows", ("list", "folder")):
        k = r[kind]
        paired = (f" (per repeat, beside its decoder run: {', '.join(f'{x:.2f}' for x in k['paired_vs_decoder'])};"
                  f" median {k['paired_median']:.2f})" if "paired_vs_decoder" in k else "")
        print(f"  score {kind}: {k['score_per_s']:,.0f}/s whole call, marginal {k['marginal_per_s']:,.0f}/s "
              f"= {k['marginal_vs_decoder']:.2f} of the decoder{paired}; {k['core_us_per_patch']} core-us/patch")
        print("    us/patch: " + ", ".join(f"{s} {v}" for s, v in k["microseconds_per_patch"].items()))
        if k.get("thread_core_us_per_patch"):
            print("    core-us/patch by thread: "
                  + ", ".join(f"{t} {v}" for t, v in k["thread_core_us_per_patch"].items()))
    for name, p in r["projection"].items():
        print(f"  projection {name} (from {r.get('projection_from', 'folder')}): host "
              f"{p['host_per_s']:,}/s, engine {p['engine_per_s']:,}/s "
              f"-> {p['sustained_per_s']:,}/s ({p['limit']}-bound)")


if __name__ == "__main__":
    main()
