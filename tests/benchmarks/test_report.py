"""benchmarks/report.py: tables with ratios measured in the same run, plots, the machine; splits."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from benchmarks import report
from benchmarks.splits import link_folder
from hcd_edge.score.sources import open_patch_set, patch_ref


def _record(model, runtime, precision, batch, throughput, auc=None):
    ms = batch / throughput * 1e3
    return {"model": model, "runtime": runtime, "precision": precision, "batch": batch,
            "throughput": throughput, "latency_ms": {"mean": ms, "p50": ms, "p90": ms, "p99": ms},
            "samples_ms": [ms * 0.9, ms, ms * 1.1], "auc": auc}


@pytest.fixture
def report_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PLOTS_DIR", tmp_path / "results" / "plots")
    monkeypatch.setattr(report, "REPORT", tmp_path / "REPORT.md")
    return tmp_path


def test_report_gives_ratios_to_torch_and_ort_fp32_of_the_same_model_and_batch(report_paths):
    records = [_record("cnn", "torch-eager", "fp32", 64, 40.0),
               _record("cnn", "onnxruntime", "fp32", 64, 160.0),
               _record("cnn", "onnxruntime", "int8", 64, 400.0, auc=0.91),
               _record("cnn", "onnxruntime", "int8", 1, 100.0)]
    doc = {"benchmark": "inference", "command": "python -m benchmarks.inference", "data": "x",
           "records": records, "skipped": ["cnn: TensorRT: no GPU"],
           "machine": {"cpu": {"brand": "TestCPU", "cores": 2, "features": ["avx2"]}, "gpu": None}}
    path = report.write_report({"inference": doc}, report_paths / "REPORT.md")
    text = path.read_text()
    int8_row = next(line for line in text.splitlines() if "| int8 | 64 |" in line)
    assert "| 0.9100 |" in int8_row and "| 10.00x | 2.50x |" in int8_row
    lone = next(line for line in text.splitlines() if "| int8 | 1 |" in line)
    assert lone.endswith("| - | - |")  # no baseline measured at batch 1: no invented ratio
    assert "TestCPU" in text and "skipped: cnn: TensorRT: no GPU" in text
    assert (report.PLOTS_DIR / "inference_throughput.png").stat().st_size > 1000
    assert (report.PLOTS_DIR / "inference_latency_b64.png").stat().st_size > 1000


def test_report_renders_an_unknown_benchmark_from_its_table(report_paths):
    doc = {"benchmark": "other", "table": {"columns": ["a", "b"], "rows": [[1, 2]]}, "machine": {}}
    text = report.write_report({"other": doc}, report_paths / "REPORT.md").read_text()
    assert "| a | b |" in text and "| 1 | 2 |" in text


def test_link_folder_is_a_kaggle_layout_of_the_chosen_patches(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    refs = []
    for i in range(6):
        (src / f"p{i}.tif").write_bytes(b"II*\x00")
        refs.append(patch_ref(src / f"p{i}.tif"))
    labels = np.array([0, 1, 0, 1, 1, 0], np.int8)
    out = link_folder(tuple(refs), labels, np.array([1, 2, 5]), tmp_path / "val")
    chosen = open_patch_set(out)
    assert [r.id for r in chosen.refs] == ["p1", "p2", "p5"]
    assert chosen.labels.tolist() == [1, 0, 0]
    assert (out / "train" / "p2.tif").resolve() == (src / "p2.tif").resolve()
    with open(out / "train_labels.csv", newline="") as fh:
        assert next(csv.reader(fh)) == ["id", "label"]


def _null_engine_result(threads: dict | None) -> dict:
    kind = {"score_per_s": 40000.0, "marginal_per_s": 42000.0, "marginal_vs_decoder": 0.8,
            "core_us_per_patch": 45.0, "microseconds_per_patch": {"list": 1.5, "decode": 40.0}}
    if threads is not None:
        kind["thread_core_us_per_patch"] = threads
    return {"about": "null", "patches": 300000, "score_one_seconds": 0.01, "decoder_per_s": 52500.0,
            "decoder_core_us_per_patch": 36.0, "list": dict(kind), "folder": dict(kind),
            "projection": {"h100_server": {"host_cores": 32, "core_slowdown": 1.2, "host_per_s": 590000,
                                           "engine_per_s": 150000, "sustained_per_s": 150000,
                                           "limit": "engine"}}}


def test_null_engine_section_shows_core_microseconds_by_thread_when_measured():
    text = report.null_section(_null_engine_result({"decode": 35.5, "log writer": 2.9, "main": 4.1}))
    assert "| input | decode | log writer | main |" in text
    assert "| folder | 35.50 | 2.90 | 4.10 |" in text
    older = report.null_section(_null_engine_result(None))  # results from before the breakdown
    assert "by thread" not in older and "| folder | 1.50 | 40.00 |" in older


def test_null_engine_section_has_a_row_per_input_and_batch():
    result = _null_engine_result({"decode": 35.5, "main": 4.1})
    result["folder"]["batch"] = 64
    result["folder, batch 256"] = {**result["folder"], "batch": 256, "marginal_vs_decoder": 0.9,
                                   "thread_core_us_per_patch": {"decode": 31.0, "main": 2.5}}
    result["rows"] = ["list", "folder", "folder, batch 256"]
    result["projection_from"] = "folder, batch 256"
    text = report.null_section(result)
    assert "batch 64 unless the row says otherwise" in text
    assert "| folder, batch 256 | 40,000 | 42,000 | 52,500 | 0.90 |" in text
    assert "| folder, batch 256 | 31.00 | 2.50 |" in text
    assert "from the folder, batch 256 row" in text


def test_null_engine_section_shows_each_repeats_paired_ratio_when_measured():
    result = _null_engine_result(None)
    for kind in ("list", "folder"):
        result[kind] = {**result[kind], "paired_vs_decoder": [0.83, 0.91, 0.86], "paired_median": 0.86}
    text = report.null_section(result)
    assert "| per repeat (median) |" in text and "| 0.80 | 0.83, 0.91, 0.86 (0.86) |" in text
    assert "per repeat each score run beside the decoder run just before it" in text
    older = report.null_section(_null_engine_result(None))  # results from before the pairing
    assert "per repeat" not in older and "| 0.80 | 45.00 |" in older
