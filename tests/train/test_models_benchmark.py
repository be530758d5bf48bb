"""benchmarks/models.py: compares trained runs side by side and writes its JSON."""

from __future__ import annotations

import json

from benchmarks.models import main


def test_comparison_times_each_run_and_writes_json(trained_run, tmp_path, capsys):
    out = tmp_path / "models.json"
    assert main([str(trained_run.out), str(trained_run.out), "--rounds", "1", "--batches", "2",
                 "--batch", "8", "--threads", "1", "--train-steps", "1", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["run"] for r in doc["runs"]] == [trained_run.out.name] * 2
    assert all(r["patches_per_s"] > 0 and r["timed_batches"] == 2 and r["train_patches_per_s"] > 0
               for r in doc["runs"])
    assert doc["runs"][0]["val_auc"] == trained_run.metrics["auc"]
    assert "FP32 patches/s" in capsys.readouterr().out
