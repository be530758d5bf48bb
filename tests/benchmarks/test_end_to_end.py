"""benchmarks/end_to_end.py: the start-up split (import floor, hcd-edge's own imports, the run
with the exit) and how REPORT.md states it; generated patches without real data; paired ratios."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import end_to_end, report
from benchmarks.end_to_end import paired_ratios
from tests.score.helpers import make_tiny_engine, write_patch_folder


def test_startup_parts_add_up_to_what_lies_beyond_the_import_floor(tmp_path):
    engine = make_tiny_engine(tmp_path / "tiny")
    patch = write_patch_folder(tmp_path / "patches", 1)[0]
    up = end_to_end.measure_startup(engine, patch, argparse.Namespace(threads=1), tmp_path, repeats=1)
    assert (tmp_path / "one.csv").read_text().count("\n") == 2  # header and the patch's row
    assert len(up["all_seconds"]) == 1 and up["best_seconds"] == up["all_seconds"][0]
    assert up["beyond_imports_seconds"] == pytest.approx(
        up["best_seconds"] - up["import_numpy_onnxruntime_seconds"], abs=0.0015)
    assert up["beyond_imports_seconds"] == pytest.approx(
        up["hcd_edge_imports_seconds"] + up["run_and_exit_seconds"], abs=0.0015)
    assert up["quick_exit_saves_seconds"] == pytest.approx(
        up["full_exit_best_seconds"] - up["best_seconds"], abs=0.0015)


def test_report_states_the_startup_split_and_reads_older_results():
    split = {"all_seconds": [0.5, 0.42], "best_seconds": 0.42, "import_numpy_onnxruntime_seconds": 0.22,
             "beyond_imports_seconds": 0.2, "hcd_edge_imports_seconds": 0.07, "run_and_exit_seconds": 0.13}
    assert report.startup_line(split) == (
        "Start-up: `hcd-edge score` of one patch with an engine given, best of 2: 0.42 s = 0.22 s "
        "`import numpy, onnxruntime` + 0.07 s hcd-edge's own imports (click, the score stack) + "
        "0.13 s the run and the exit.")
    quick = {**split, "full_exit_best_seconds": 0.47, "quick_exit_saves_seconds": 0.05}
    assert report.startup_line(quick).endswith(
        "0.13 s the run and the exit; the same run through the interpreter's full teardown "
        "(HCD_EDGE_FULL_EXIT=1): 0.47 s, so the quick exit saves 0.05 s.")
    older = {"all_seconds": [0.5], "best_seconds": 0.5}
    assert report.startup_line(older).endswith("best of 1: 0.5 s.")


def test_without_real_data_the_benchmark_generates_its_patches(tmp_path, monkeypatch):
    monkeypatch.setattr(end_to_end, "SHARED_DATA", tmp_path / "no-shared-data")
    about, files = end_to_end.source_files(argparse.Namespace(patches=None, n=12), tmp_path)
    assert "generated" in about and len(files) == 12 and all(f.is_file() for f in files)


def test_paired_ratios_put_each_score_run_beside_its_own_decoder_run():
    decoder = [{"rate": 100.0}, {"rate": 50.0}]  # the second repeat ran on a busy host
    score = [{"wall": 1.01}, {"wall": 2.01}]  # 101 patches, one patch takes 0.01 s
    assert paired_ratios(score, decoder, n=101, one=0.01) == [1.0, 1.0]
    with pytest.raises(ValueError):
        paired_ratios(score, decoder[:1], n=101, one=0.01)
