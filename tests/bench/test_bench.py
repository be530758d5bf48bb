"""hcd-edge bench: statistics, per-batch records, AUC, the CLI and its JSON."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from hcd_edge.backends.base import sigmoid
from hcd_edge.backends.engine_folder import open_executor
from hcd_edge.bench import (
    BenchConfig,
    batch_paths,
    bench_target,
    latency_summary,
    resolve_target,
    score_patch_set,
)
from hcd_edge.cli import main
from hcd_edge.score.sources import open_patch_set

FAST = BenchConfig(batches=(1, 8), seconds=0.05, warmup=0.01, threads=1, decode_threads=1)


def test_latency_summary_matches_numpy_percentiles_in_ms():
    samples = np.random.default_rng(1).uniform(0.001, 0.01, 1000)
    summary = latency_summary(samples)
    assert np.isclose(summary["mean"], samples.mean() * 1e3)
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        assert np.isclose(summary[key], np.percentile(samples, q) * 1e3)
    assert summary["p50"] <= summary["p90"] <= summary["p99"]


def test_batch_paths_cycles_when_fewer_files_than_batch(tmp_path):
    paths = [tmp_path / f"{i}.tif" for i in range(3)]
    assert batch_paths(paths, 5, 2) == [paths[2], paths[0], paths[1], paths[2], paths[0]]


def test_bench_records_each_batch_with_consistent_throughput(tiny_engine, labelled_patches):
    val = open_patch_set(labelled_patches)
    records = bench_target(resolve_target(tiny_engine, 1), val.paths, FAST, val)
    assert [r.batch for r in records] == [1, 8]
    for r in records:
        assert r.backend == "onnxruntime" and r.precision == "fp32"
        assert r.iterations >= 5
        assert np.isclose(r.throughput, r.batch / (r.latency_ms["mean"] / 1e3))
        assert set(r.stages_ms) == {"decode", "compute"} and r.stages_ms["decode"] > 0
        assert r.latency_ms["p50"] <= r.latency_ms["p99"]


def test_bench_auc_equals_sklearn_on_direct_inference(tiny_engine, labelled_patches):
    val = open_patch_set(labelled_patches)
    (record,) = bench_target(resolve_target(tiny_engine, 1), val.paths,
                             BenchConfig(batches=(8,), seconds=0.01, warmup=0.0), val)
    with open_executor(tiny_engine) as ex:
        from hcd_edge.decode import decode_batch

        x = np.zeros(ex.spec.input_shape(len(val)), np.float32)
        assert not decode_batch(val.paths, x, mean=ex.spec.mean, std=ex.spec.std).any()
        expected = roc_auc_score(val.labels, sigmoid(ex.infer(x)))
        assert np.allclose(score_patch_set(ex, val, 1), sigmoid(ex.infer(x)))
    assert record.auc == expected


def test_bench_skips_batches_over_the_engine_maximum(tiny_engine, labelled_patches):
    paths = open_patch_set(labelled_patches).paths
    config = BenchConfig(batches=(8, 128), seconds=0.01, warmup=0.0)
    records = bench_target(resolve_target(tiny_engine, 1), paths, config)
    assert [r.batch for r in records] == [8]


def test_bench_cli_writes_documented_json_records(tiny_engine, labelled_patches, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, [
        "bench", str(tiny_engine), "--batch", "1,4", "--seconds", "0.05", "--warmup", "0",
        "--val", str(labelled_patches), "--json", str(out), "--threads", "1",
    ])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert [r["batch"] for r in records] == [1, 4]
    for r in records:
        assert {"engine", "backend", "precision", "batch", "throughput", "latency_ms", "stages_ms", "auc"} <= set(r)
        assert set(r["latency_ms"]) == {"mean", "p50", "p90", "p99"}
        assert 0.0 <= r["auc"] <= 1.0
        assert r["n"] == 40 and "kaggle layout" in r["auc_source"]
        assert r["threads"] == 1 and r["device"]
    assert "patches/s" in result.output and tiny_engine.name in result.output
    assert f"AUC {records[0]['auc']:.4f} on 40 patches of kaggle layout" in result.output


def test_bench_accepts_a_bare_onnx_file(tiny_engine, labelled_patches):
    target = resolve_target(tiny_engine / "model.onnx", 1)
    records = bench_target(target, open_patch_set(labelled_patches).paths, FAST)
    assert records[0].engine == "model" and records[0].precision == "fp32"


def test_bench_cli_rejects_a_folder_that_is_not_an_engine(tmp_path):
    result = CliRunner().invoke(main, ["bench", str(tmp_path), "--patches", str(tmp_path)])
    assert result.exit_code == 1
    assert "manifest.json" in result.output


def test_bench_cli_rejects_a_bad_batch_list(tiny_engine):
    result = CliRunner().invoke(main, ["bench", str(tiny_engine), "--batch", "8,x"])
    assert result.exit_code == 2
    assert "comma-separated" in result.output


def test_bench_help_lists_every_option():
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--batch", "--seconds", "--warmup", "--val", "--json", "--patches", "--threads"):
        assert option in result.output


def test_bench_cli_times_generated_patches_without_val_or_patches(tiny_engine, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, [
        "bench", str(tiny_engine), "--batch", "2", "--seconds", "0.05", "--warmup", "0",
        "--json", str(out), "--threads", "1",
    ])
    assert result.exit_code == 0, result.output
    assert "generated patches" in result.output
    (record,) = json.loads(out.read_text())
    assert record["batch"] == 2 and record["auc"] is None and record["throughput"] > 0


def test_bench_val_takes_a_labels_csv(tiny_engine, labelled_patches, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, [
        "bench", str(tiny_engine), "--batch", "1", "--seconds", "0.02", "--warmup", "0",
        "--val", str(labelled_patches / "train_labels.csv"), "--json", str(out), "--threads", "1",
    ])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(out.read_text())
    assert record["n"] == 40 and "label list" in record["auc_source"] and record["auc"] is not None


def test_bench_warns_when_val_patches_trained_the_model(tiny_engine, labelled_patches, tmp_path):
    from hcd_edge.manifest import read_manifest, write_manifest

    run_dir = tmp_path / "runs" / "r"
    (run_dir / "split").mkdir(parents=True)
    (run_dir / "split" / "train.csv").write_text(
        "id,label,folder\n" + "".join(f"p{i:03d},{i % 2},{labelled_patches}\n" for i in range(10)))
    manifest = read_manifest(tiny_engine)
    manifest.model = {"provenance": {"run": str(run_dir)}}
    write_manifest(tiny_engine, manifest)
    result = CliRunner().invoke(main, [
        "bench", str(tiny_engine), "--batch", "1", "--seconds", "0.02", "--warmup", "0",
        "--val", str(labelled_patches), "--threads", "1",
    ])
    assert result.exit_code == 0, result.output
    assert "warning: 10 of 40 --val patches are in the model's train split" in result.stderr
