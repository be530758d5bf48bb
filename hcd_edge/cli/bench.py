"""`hcd-edge bench`: latency and throughput of engines per batch size."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors
from hcd_edge.cli.options import FiniteFloatRange, IntListType, threads_option

GENERATED_PATCHES = 512  # timing patches written when neither --val nor --patches is given


@click.command(short_help="Latency, throughput and AUC of engines per batch size.")
@click.argument("engines", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--batch", "batches", type=IntListType(), default="1,8,64,256", show_default=True,
              help="Batch sizes to measure.")
@click.option("--seconds", type=FiniteFloatRange(min=0.0, min_open=True), default=5.0,
              show_default=True, help="Timed seconds per engine and batch size (finite, > 0).")
@click.option("--warmup", type=FiniteFloatRange(min=0.0), default=1.0, show_default=True,
              help="Untimed warm-up seconds per engine and batch size.")
@click.option("--val", type=click.Path(exists=True, path_type=Path), default=None,
              help="Labelled patches (Kaggle layout or class folders) for AUC; also timed.")
@click.option("--patches", type=click.Path(exists=True, path_type=Path), default=None,
              help="Patches to time with when --val is not given. Default: generated patches.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the records as a JSON list to this file.")
@threads_option
def bench(engines, batches, seconds, warmup, val, patches, json_path, threads):
    """Measure ENGINES (engine folders or .onnx files): latency p50/p90/p99, patches/s, stages, AUC."""
    from hcd_edge.atomic import write_text_atomic
    from hcd_edge.bench import BenchConfig, bench_target, resolve_target
    from hcd_edge.cli.bench_report import print_records, progress_line

    config = BenchConfig(batches=batches, seconds=seconds, warmup=warmup, threads=threads,
                         decode_threads=threads)
    if json_path is not None:
        with library_errors():
            _check_json_target(json_path, engines, val, patches)
    with library_errors(), tempfile.TemporaryDirectory(prefix="hcd-edge-bench-") as tmp:
        val_set, paths = _inputs(val, patches, Path(tmp))
        targets = [resolve_target(e, threads) for e in engines]
        if val_set is not None:
            _warn_training_overlap(engines, val_set)
        records = []
        for target in targets:
            records += bench_target(target, paths, config, val_set, on_record=progress_line)
    print_records(records)
    if json_path is not None:
        write_text_atomic(json_path, json.dumps([r.to_dict() for r in records], indent=2) + "\n")
        click.echo(f"wrote {json_path}", err=True)


def _check_json_target(json_path: Path, engines, val: Path | None, patches: Path | None) -> None:
    """--json must be writable and none of the files the benchmark reads (checked before timing)."""
    from hcd_edge.score.output import check_output_path
    from hcd_edge.score.targets import check_not_inputs

    check_output_path(json_path)
    read = [p for p in (*engines, val, patches) if p is not None]
    read += [f for p in read if p.is_dir() for f in p.iterdir()]
    check_not_inputs([("--json", json_path)], read)


def _warn_training_overlap(engines, val_set) -> None:
    """A warning per engine whose model's recorded training split holds --val patches."""
    from hcd_edge.labelled.overlap import recorded_provenance, training_overlap

    for engine in engines:
        provenance, model_file = recorded_provenance(engine)
        for overlap in training_overlap(val_set.refs, provenance, model_file):
            click.echo(f"{engine}: " + overlap.warning("--val"), err=True)


def _inputs(val: Path | None, patches: Path | None, tmp: Path):
    from hcd_edge.labelled.sets import open_labelled
    from hcd_edge.score.sources import open_patch_set

    if val is not None:
        val_set = open_labelled(val)
        return val_set, val_set.paths
    if patches is not None:
        return None, open_patch_set(patches, recursive=True).paths
    from hcd_edge.synthetic import write_synthetic_set

    result = write_synthetic_set(tmp / "patches", n=GENERATED_PATCHES, seed=0)
    click.echo(f"timing with {GENERATED_PATCHES} generated patches (give --val or --patches for "
               "real ones)", err=True)
    return None, open_patch_set(result.root).paths
