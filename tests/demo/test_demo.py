"""The end-to-end demo: every step runs, every output it names exists, and it says the patches are generated."""

from __future__ import annotations

import csv
import json

from hcd_edge import demo
from tests.tiny_models import write_tiny_cnn


def test_demo_runs_every_step_and_names_its_outputs(tmp_path, capfd):
    model = write_tiny_cnn(tmp_path / "tiny.onnx")
    out = tmp_path / "demo-out"
    assert demo.main(["--out", str(out), "-n", "240", "--bench-seconds", "0.2", "--model", str(model)]) == 0
    printed = capfd.readouterr().out
    for title, args in demo.steps(demo.DemoPlan(out, 240, 1, 0.2), model):
        assert f"$ hcd-edge {args[0]}" in printed, title
    with open(out / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 240 and all(r["status"] == "0" for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["scored"] == 240 and summary["precision"] == "int8"
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["n"] == 48 and "label list" in evaluation["source"]  # the 20% held out
    bench = json.loads((out / "bench.json").read_text())
    assert {(r["precision"], r["batch"]) for r in bench} == {("fp32", 1), ("fp32", 64), ("int8", 1), ("int8", 64)}
    assert "GENERATED" in printed and "not diagnosis" in printed
    assert str(out / "scores.csv") in printed
    with open(out / "watch" / "results.csv", newline="") as fh:
        watched = list(csv.DictReader(fh))
    assert len(watched) == demo.WATCH_PATCHES and all(r["status"] == "0" for r in watched)
    assert all(r["path"].startswith(str(out / "incoming")) and r["scored_at"] for r in watched)
    slide = out / "slides" / "synthetic-slide"
    assert (slide / "heatmap.png").stat().st_size > 0
    regions = json.loads((slide / "tumour.geojson").read_text())
    assert regions["type"] == "FeatureCollection"
    with open(out / "slides" / "slides.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["status"] == "ok" and int(row["patches"]) > 0


def test_demo_refuses_a_missing_model(tmp_path):
    try:
        demo.main(["--out", str(tmp_path / "o"), "--model", str(tmp_path / "none.onnx")])
    except SystemExit as exc:
        assert "missing" in str(exc)
    else:
        raise AssertionError("a missing model must stop the demo")
