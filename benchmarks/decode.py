"""Patch files -> normalized tensors: the native decoder against its peers, side by side.

    python -m benchmarks.decode [--quick] [--files N] [--repeats R] [--json FILE]
    python -m benchmarks.decode --from-memory [--quick]   # normalize_patches: native vs numpy

Files: the real Kaggle patches when ../shared/data is present, else generated patches written in
the Kaggle layout. The page cache is warmed first; every method then runs once per round, the
rounds interleaved so that noise from a shared machine falls on all methods alike, and each
method's median files/s over the rounds is reported: wall clock, and per CPU-second of this
process (all its threads), which other processes on a busy machine disturb much less. The load
average before and after is recorded beside the numbers.

Methods:
  read floor (C)     open + fstat + read + close of each file in C (hcd_edge._tiffdec.read_batch,
                     the same reader the decoder uses), no parsing: the cost of getting the bytes
  read floor (py)    the same in a tight Python loop (open(path, 'rb').read())
  native             hcd_edge.decode.decode_batch, 1 thread and all threads, float32 / float16 /
                     uint8 output, in batches of --batch into one reused buffer
  tifffile+numpy     tifffile.imread + the numpy normalization, 1 thread
  pillow+numpy       PIL.Image.open + numpy, 1 thread
  opencv+numpy       cv2.imread (BGR -> RGB) + numpy, 1 thread

--from-memory times hcd_edge.decode.normalize_patches on uint8 patches already in memory (what
`hcd-edge slide` does with tiles cut from a region): the native extension (1 thread and all
threads, contiguous patches and views cut from a region array) against its numpy fallback (the
road taken when the extension is absent), side by side, in patches/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.machine import RESULTS_DIR, describe_machine, real_patches
from hcd_edge.decode import decode_batch, default_threads, native_available, normalize_patches

MEAN, STD = (0.70, 0.54, 0.69), (0.23, 0.27, 0.21)  # a PCam-like normalization
DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}


@dataclass
class Method:
    """One way of turning files into batch rows; run(paths) decodes them all once."""

    name: str
    threads: int
    output: str
    run: Callable[[list[Path]], None]
    subset: bool = False  # slow peers time a subset of the files


@dataclass
class Result:
    name: str
    threads: int
    output: str
    files: int
    files_per_s: float  # wall clock
    files_per_cpu_s: float  # per CPU-second of this process, all threads together
    rounds: list[float]


def batch_rows(n: int, output: str) -> np.ndarray:
    shape = (n, 96, 96, 3) if output == "uint8" else (n, 3, 96, 96)
    return np.zeros(shape, dtype=DTYPES[output])


def numpy_normalize(pixels: np.ndarray, row: np.ndarray) -> None:
    """What a Python pipeline does after decoding: planar float32 (pixel/255 - mean)/std."""
    scaled = pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    mean = np.asarray(MEAN, np.float32).reshape(3, 1, 1)
    row[...] = (scaled - mean) / np.asarray(STD, np.float32).reshape(3, 1, 1)


def per_file(reader: Callable[[Path], np.ndarray], batch: int) -> Callable[[list[Path]], None]:
    out = batch_rows(batch, "float32")

    def run(paths: list[Path]) -> None:
        for i, path in enumerate(paths):
            numpy_normalize(reader(path), out[i % batch])

    return run


def native_method(output: str, threads: int, batch: int) -> Callable[[list[Path]], None]:
    out = batch_rows(batch, output)

    def run(paths: list[Path]) -> None:
        for start in range(0, len(paths), batch):
            chunk = paths[start : start + batch]
            statuses = decode_batch(chunk, out[: len(chunk)], mean=MEAN, std=STD, threads=threads)
            if statuses.any():
                raise RuntimeError(f"decode failed for {int(np.count_nonzero(statuses))} files")

    return run


def read_floor_c(threads: int, batch: int) -> Callable[[list[Path]], None]:
    from hcd_edge import _tiffdec

    def run(paths: list[Path]) -> None:
        for start in range(0, len(paths), batch):
            if _tiffdec.read_batch(paths[start : start + batch], threads).any():
                raise RuntimeError("a file could not be read")

    return run


def read_floor_python(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as fh:
            fh.read()


def peer_readers() -> dict[str, Callable[[Path], np.ndarray]]:
    """tifffile, Pillow and OpenCV readers that are installed."""
    import tifffile

    readers: dict[str, Callable[[Path], np.ndarray]] = {"tifffile+numpy": tifffile.imread}
    try:
        from PIL import Image

        readers["pillow+numpy"] = lambda p: np.asarray(Image.open(p))
    except ImportError:
        pass
    try:
        import cv2

        def opencv(path: Path) -> np.ndarray:
            bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if bgr is None:
                raise RuntimeError(f"OpenCV cannot read {path}")
            return bgr[..., ::-1]

        readers["opencv+numpy"] = opencv
    except ImportError:
        pass
    return readers


def build_methods(batch: int, all_threads: int) -> list[Method]:
    methods = [Method("read floor (py)", 1, "bytes", read_floor_python)]
    if native_available():
        for threads in sorted({1, all_threads}):
            methods.append(Method("read floor (C)", threads, "bytes", read_floor_c(threads, batch)))
            for output in DTYPES:
                methods.append(Method("native", threads, output, native_method(output, threads, batch)))
    for name, reader in peer_readers().items():
        methods.append(Method(name, 1, "float32", per_file(reader, batch), subset=True))
    return methods


def measure(methods: list[Method], files: list[Path], subset: list[Path], rounds: int) -> list[Result]:
    """files/s of each method per round, rounds interleaved; median over rounds."""
    for method in methods:  # warm-up: page cache, lazy imports, first-touch of buffers
        method.run(subset[:64])
    wall: dict[int, list[float]] = {i: [] for i in range(len(methods))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(methods))}
    for _ in range(rounds):
        for i, method in enumerate(methods):
            chosen = subset if method.subset else files
            started, cpu_started = time.perf_counter(), time.process_time()
            method.run(chosen)
            wall[i].append(len(chosen) / (time.perf_counter() - started))
            cpu[i].append(len(chosen) / max(time.process_time() - cpu_started, 1e-9))
    return [Result(m.name, m.threads, m.output, len(subset if m.subset else files),
                   statistics.median(wall[i]), statistics.median(cpu[i]), [round(t) for t in wall[i]])
            for i, m in enumerate(methods)]


def find(results: list[Result], name: str, threads: int, output: str | None = None,
         cpu: bool = False) -> float | None:
    for r in results:
        if r.name == name and r.threads == threads and (output is None or r.output == output):
            return r.files_per_cpu_s if cpu else r.files_per_s
    return None


def table(results: list[Result]) -> dict:
    """Rows with ratios to tifffile+numpy and to the C read floor of the same thread count."""
    tiff = find(results, "tifffile+numpy", 1)
    rows = []
    for r in results:
        floor = find(results, "read floor (C)", r.threads) or find(results, "read floor (py)", 1)
        rows.append([r.name, r.threads, r.output, f"{r.files_per_s:,.0f}",
                     f"{r.files_per_s / tiff:.1f}x" if tiff else "-",
                     f"{r.files_per_s / floor:.2f}" if floor else "-", f"{r.files_per_cpu_s:,.0f}"])
    return {"columns": ["method", "threads", "output", "files/s", "vs tifffile+numpy",
                        "vs read floor (C, same threads)", "files/CPU-s"], "rows": rows}


def targets(results: list[Result], all_threads: int) -> list[dict]:
    """The issue's targets, each with the measured value and whether it was met."""
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    out = []
    for name, value, base, want in [
        ("1 thread float32 / tifffile+numpy", ("native", 1, "float32"), ("tifffile+numpy", 1), 25.0),
        ("1 thread float32 / read floor", ("native", 1, "float32"), ("read floor (C)", 1), 0.5),
        ("1 thread uint8 / read floor", ("native", 1, "uint8"), ("read floor (C)", 1), 0.75),
    ]:
        wall = ratio(find(results, *value), find(results, *base))
        cpu = ratio(find(results, *value, cpu=True), find(results, *base, cpu=True))
        out.append({"target": name, "want": want, "measured": wall, "measured_cpu": cpu,
                    "met": wall is not None and wall >= want})
    if all_threads >= 2:  # scaling is a wall-clock matter only
        wall = ratio(find(results, "native", all_threads, "float32"), find(results, "native", 1, "float32"))
        out.append({"target": f"{all_threads} threads float32 / 1 thread", "want": 1.8,
                    "measured": wall, "measured_cpu": None, "met": wall is not None and wall >= 1.8})
    return out


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def generated_files(folder: Path, n: int) -> list[Path]:
    """n generated patches written by tifffile in the Kaggle layout."""
    import tifffile

    from hcd_edge.synthetic import generate_patches

    patches = generate_patches(n, seed=7)
    paths = []
    for pid, pixels in zip(patches.ids, patches.pixels):
        path = folder / f"{pid}.tif"
        tifffile.imwrite(path, pixels)
        paths.append(path)
    return paths


def print_report(doc: dict) -> None:
    cols, rows = doc["table"]["columns"], doc["table"]["rows"]
    widths = [max(len(str(x)) for x in [c] + [row[i] for row in rows]) for i, c in enumerate(cols)]
    print(f"\n{doc['data']}; median of {doc['rounds']} interleaved rounds; load average "
          f"{doc['load_before']} before, {doc['load_after']} after, {doc['cpus']} CPUs\n")
    for line in [cols] + rows:
        print("  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(line, widths))))
    print()
    for t in doc["targets"]:
        cpu = f" (per CPU-second: {t['measured_cpu']})" if t["measured_cpu"] else ""
        print(f"  target {t['target']} >= {t['want']}: measured {t['measured']}{cpu} "
              f"-> {'met' if t['met'] else 'NOT met'}")


@contextmanager
def numpy_road():
    """hcd_edge.decode as when the extension is absent (its numpy fallback)."""
    from hcd_edge import decode

    saved, decode._native = decode._native, None
    try:
        yield
    finally:
        decode._native = saved


def memory_method(patches, output: str, threads: int, batch: int, native: bool):
    """normalize_patches over all patches in chunks of `batch` rows into one reused buffer."""
    out = batch_rows(batch, output)

    def run(_: list[Path]) -> None:
        with nullcontext() if native else numpy_road():
            for start in range(0, len(patches), batch):
                normalize_patches(patches[start : start + batch], out, mean=MEAN, std=STD,
                                  threads=threads)

    return run


def memory_patches(n: int) -> tuple[np.ndarray, list[np.ndarray], str]:
    """n patches as one (n, 96, 96, 3) array, and n 96x96 views on a 32-pixel grid of a region."""
    root = real_patches()
    if root is not None:
        files = sorted((root / "train").glob("*.tif"))[:n]
        patches = batch_rows(len(files), "uint8")
        decode_batch(files, patches, threads=default_threads())
        data = f"{len(files)} real Kaggle patches decoded into memory"
    else:
        from hcd_edge.synthetic import generate_patches

        patches = np.ascontiguousarray(generate_patches(n, seed=7).pixels)
        data = f"{n} generated patches in memory (../shared/data absent)"
    side = 32 * (int(np.sqrt(len(patches))) + 2) + 64
    region = np.resize(patches, (side, side, 3))  # a region array as a slide reader returns
    grid = [(y, x) for y in range(0, side - 95, 32) for x in range(0, side - 95, 32)]
    views = [region[y : y + 96, x : x + 96] for y, x in grid[: len(patches)]]
    return patches, views, data


def memory_main(args: argparse.Namespace) -> int:
    rounds = args.rounds or (3 if args.quick else 7)
    all_threads = args.threads or default_threads()
    patches, views, data = memory_patches(args.files or (1000 if args.quick else 5000))
    methods = []
    for output in DTYPES:
        methods.append(Method("numpy fallback", 1, output,
                              memory_method(patches, output, 1, args.batch, native=False)))
        if native_available():
            for threads in sorted({1, all_threads}):
                methods.append(Method("native", threads, output,
                                      memory_method(patches, output, threads, args.batch, True)))
    if native_available():
        for threads in sorted({1, all_threads}):
            methods.append(Method("native, region views", threads, "float32",
                                  memory_method(views, "float32", threads, args.batch, True)))
    methods.append(Method("numpy fallback, region views", 1, "float32",
                          memory_method(views, "float32", 1, args.batch, native=False)))
    load_before = load_average()
    results = measure(methods, [Path("-")] * len(patches), [Path("-")] * len(patches), rounds)
    load_after = load_average()
    rows = []
    for r in results:
        base = find(results, "numpy fallback" + (", region views" if "views" in r.name else ""),
                    1, r.output)
        rows.append([r.name, r.threads, r.output, f"{r.files_per_s:,.0f}",
                     f"{r.files_per_s / base:.1f}x" if base else "-", f"{r.files_per_cpu_s:,.0f}"])
    doc = {"benchmark": "decode-from-memory",
           "command": "python -m benchmarks.decode " + " ".join(sys.argv[1:]),
           "machine": describe_machine(), "data": data, "rounds": rounds, "batch": args.batch,
           "native": native_available(), "cpus": default_threads(), "load_before": load_before,
           "load_after": load_after,
           "table": {"columns": ["method", "threads", "output", "patches/s",
                                 "vs numpy fallback (same output)", "patches/CPU-s"], "rows": rows},
           "targets": [], "results": [asdict(r) for r in results]}
    print_report(doc)
    path = args.json.with_name("decode_memory.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and rounds")
    parser.add_argument("--files", type=int, default=None, help="files to time (default: all / 2000)")
    parser.add_argument("--peer-files", type=int, default=1000, help="files the slow peers time")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7)")
    parser.add_argument("--batch", type=int, default=64,
                        help="rows per decode_batch call (hcd-edge score's default batch)")
    parser.add_argument("--threads", type=int, default=None, help="'all threads' (default: cores)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "decode.json")
    parser.add_argument("--from-memory", action="store_true",
                        help="time normalize_patches (in-memory patches), native vs numpy; "
                             "writes decode_memory.json beside --json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_memory:
        return memory_main(args)
    rounds = args.rounds or (3 if args.quick else 7)
    all_threads = args.threads or default_threads()
    with tempfile.TemporaryDirectory(prefix="hcd-decode-bench-") as tmp:
        root = real_patches()
        if root is not None:
            files = sorted((root / "train").glob("*.tif"))
            data = f"{len(files)} real Kaggle patches ({root})"
        else:
            files = generated_files(Path(tmp), args.files or 2000)
            data = f"{len(files)} generated patches in the Kaggle layout (../shared/data absent)"
        if args.quick:
            files = files[:1000]
        files = files[: args.files] if args.files else files
        subset = files[: min(len(files), 300 if args.quick else args.peer_files)]
        read_floor_python(files)  # warm the page cache
        load_before = load_average()
        results = measure(build_methods(args.batch, all_threads), files, subset, rounds)
        load_after = load_average()
    doc = {"benchmark": "decode", "command": "python -m benchmarks.decode " + " ".join(argv or sys.argv[1:]),
           "machine": describe_machine(), "data": data, "rounds": rounds, "batch": args.batch,
           "native": native_available(), "cpus": default_threads(), "load_before": load_before,
           "load_after": load_after, "table": table(results),
           "targets": targets(results, all_threads), "results": [asdict(r) for r in results]}
    print_report(doc)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
