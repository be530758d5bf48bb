"""The bench table: 80 columns at most, names wrapped whole, a ratio against the first engine."""

from __future__ import annotations

import io

from rich.console import Console

from hcd_edge.bench import BenchRecord
from hcd_edge.cli.bench_report import (
    TABLE_WIDTH,
    auc_lines,
    records_table,
    throughput_ratios,
    wrap_name,
)


def record(engine, batch, throughput, precision="fp32", auc=0.93):
    return BenchRecord(engine=engine, backend="onnxruntime", precision=precision, batch=batch,
                       throughput=throughput, latency_ms={"mean": 1.0, "p50": 1.0, "p90": 2.0, "p99": 3.0},
                       stages_ms={"decode": 1.0}, auc=auc, engine_size_mb=1.5, iterations=10, n=1000,
                       auc_source="kaggle layout /data (train_labels.csv)", threads=2, device="cpu")


RECORDS = [record("hcdnet-fp32-onnxruntime", 1, 1000.0), record("hcdnet-fp32-onnxruntime", 64, 4000.0),
           record("hcdnet-int8-onnxruntime-with-a-long-name", 1, 1500.0, "int8", 0.92),
           record("hcdnet-int8-onnxruntime-with-a-long-name", 64, 10000.0, "int8", 0.92)]


def rendered(records) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=TABLE_WIDTH, color_system=None).print(records_table(records))
    return buffer.getvalue()


def test_table_fits_80_columns_without_truncation():
    text = rendered(RECORDS)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "…" not in text
    for header in ("engine", "batch", "AUC", "p50 ms", "p99 ms", "patches/s", "x first"):
        assert header in text
    assert "hcdnet-int8-" in text and "onnxruntime-" in text  # broken after a hyphen, not mid-word


def test_ratio_is_against_the_first_engine_at_the_same_batch():
    assert throughput_ratios(RECORDS) == [1.0, 1.0, 1.5, 2.5]
    assert throughput_ratios([*RECORDS, record("other", 8, 10.0)])[-1] is None
    text = rendered(RECORDS)
    assert "1.50" in text and "2.50" in text


def test_auc_lines_name_count_and_source_once_per_engine():
    assert auc_lines(RECORDS) == [
        "hcdnet-fp32-onnxruntime: AUC 0.9300 on 1,000 patches of kaggle layout /data (train_labels.csv)",
        ("hcdnet-int8-onnxruntime-with-a-long-name: AUC 0.9200 on 1,000 patches of kaggle layout "
        "/data (train_labels.csv)"),
    ]
    assert auc_lines([record("x", 1, 1.0, auc=None)]) == []


def test_wrap_name_breaks_after_separators_and_splits_long_words():
    assert wrap_name("short", 16) == "short"
    assert wrap_name("hcdnet-int8-onnxruntime", 16) == "hcdnet-int8-\nonnxruntime"
    assert all(len(line) <= 5 for line in wrap_name("abcdefghijkl", 5).splitlines())
