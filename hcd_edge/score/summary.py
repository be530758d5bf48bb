"""The summary of a scoring run: the JSON record (--summary FILE) and its short human form."""

from __future__ import annotations

import json
from pathlib import Path

from hcd_edge.atomic import write_text_atomic
from hcd_edge.manifest import Manifest
from hcd_edge.score.pipeline import BatchPipeline
from hcd_edge.score.rows import Counts

STAGES = ("list", "decode", "copy", "inference", "write", "render", "wait")


def run_summary(*, request, engine_dir: Path, manifest: Manifest, default_engine: bool,
                backend: str, pipeline: BatchPipeline, counts: Counts, resumed: int,
                outputs: list[Path], wall: float, setup: float, threshold: float,
                threads: int, workers: list[dict] | None = None) -> dict:
    """The JSON-ready summary: counts, engine, settings, wall seconds, patches/s, stage seconds."""
    scored_now = counts.total - resumed
    rate = round(scored_now / wall, 2) if wall > 0 and scored_now > 0 and counts.scored > 0 else None
    stats = pipeline.decode_stats
    summary = {
        "counts": {"total": counts.total, "scored": counts.scored, "failed": counts.failed,
                   "positive": counts.positive, "resumed": resumed},
        "engine": str(engine_dir),
        "engine_name": manifest.name,
        "default_engine": default_engine,
        "backend": backend,
        "precision": manifest.precision.value,
        "batch": pipeline.config.batch,
        "engine_batch_rows": pipeline.rows,
        "slots": pipeline.config.ring,
        "threads": threads,
        "tta": request.tta.value,
        "threshold": threshold,
        "wall_seconds": round(wall, 4),
        "patches_per_second": rate,  # None when the run scored nothing
        "setup_seconds": round(setup, 4),
        "stages": pipeline.times.to_dict(),
        "microseconds_per_patch": per_patch(pipeline.times.to_dict(), wall, scored_now),
        "decoder": {"native": stats.native, "fallback": stats.fallback, "failed": stats.failed},
        "format": request.fmt.value,
        "outputs": [str(p) for p in outputs],
    }
    if workers is not None:  # a Ray run: each worker's host, patches, seconds and rate
        summary["workers"] = workers
    return summary


def per_patch(stages: dict, wall: float, patches: int) -> dict | None:
    """Microseconds per patch of each stage and of the wall time (stages overlap; decode is
    summed over its threads); None when the run handled no patch."""
    if patches <= 0:
        return None
    return {k: round(v / patches * 1e6, 3) for k, v in {**stages, "wall": wall}.items()}


def write_summary(path: Path, summary: dict) -> None:
    """Write the summary JSON atomically."""
    write_text_atomic(Path(path), json.dumps(summary, indent=2, sort_keys=True) + "\n")


def summary_text(summary: dict) -> str:
    """A few lines for stderr: counts, rate, stages, where the outputs are."""
    c, s = summary["counts"], summary["stages"]
    rate = summary["patches_per_second"]
    lines = [
        f"scored {c['scored']} of {c['total']} patches ({c['failed']} failed, {c['positive']} "
        f"labelled positive at threshold {summary['threshold']:.4g})"
        + (f"; {c['resumed']} taken from the interrupted run" if c["resumed"] else ""),
        f"{summary['backend']} {summary['precision']} engine {summary['engine_name']}, batch "
        f"{summary['batch']}, tta {summary['tta']}: {summary['wall_seconds']:.2f} s"
        + (f", {rate:,.0f} patches/s" if rate else ""),
        "stage seconds: " + ", ".join(f"{k} {s[k]:.2f}" for k in STAGES if k in s),
        "wrote " + ", ".join(summary["outputs"]),
    ]
    lines[3:3] = [_worker_line(w) for w in summary.get("workers", [])]
    return "\n".join(lines)


def _worker_line(worker: dict) -> str:
    if "worker" not in worker:
        return f"Ray worker excluded at start: {worker['excluded']}"
    rate = worker["patches_per_second"]
    line = (f"Ray worker {worker['worker']} on {worker.get('host', '?')}: {worker['patches']} "
            f"patches in {worker['seconds']:.2f} s" + (f", {rate:,.0f} patches/s" if rate else ""))
    return line + (f" (excluded: {worker['excluded']})" if worker["excluded"] else "")
