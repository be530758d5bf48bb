"""`hcd-edge evaluate`: same AUC as score's output, labelled inputs, JSON, plots, overlap warnings."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from hcd_edge.cli import main
from hcd_edge.manifest import read_manifest, write_manifest

JSON_KEYS = {"n", "auc", "accuracy", "sensitivity", "specificity", "threshold", "confusion",
             "brier", "calibration", "source", "engine"}


def run(args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def score_csv(path: Path) -> dict[str, tuple[float, int]]:
    with open(path, newline="") as fh:
        return {r["id"]: (float(r["probability"]), int(r["label"])) for r in csv.DictReader(fh)}


def test_auc_and_confusion_match_score_output(labelled, engine, tmp_path):
    scored = run(["score", labelled.root / "train", "--engine", engine, "--out", tmp_path / "s.csv"])
    assert scored.exit_code == 0, scored.output + scored.stderr
    rows = score_csv(tmp_path / "s.csv")
    ids = sorted(rows)
    truth = np.array([labelled.labels[i] for i in ids])
    probs = np.array([rows[i][0] for i in ids])
    predicted = np.array([rows[i][1] for i in ids])

    result = run(["evaluate", labelled.root, "--engine", engine, "--json", tmp_path / "m.json"])
    assert result.exit_code == 0, result.output + result.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    assert JSON_KEYS <= set(m)
    assert m["n"] == len(ids) == 120
    assert abs(m["auc"] - roc_auc_score(truth, probs)) < 1e-9
    assert 0.6 < m["auc"] < 1.0  # 10% of the labels are flipped
    assert m["confusion"] == {
        "tn": int(np.sum((predicted == 0) & (truth == 0))), "fp": int(np.sum((predicted == 1) & (truth == 0))),
        "fn": int(np.sum((predicted == 0) & (truth == 1))), "tp": int(np.sum((predicted == 1) & (truth == 1))),
    }
    assert m["threshold"] == pytest.approx(labelled.threshold)
    assert f"AUC {m['auc']:.4f} on 120 patches of kaggle layout" in result.stdout


def test_threshold_option_moves_the_confusion(labelled, engine, tmp_path):
    run(["evaluate", labelled.root, "--engine", engine, "--threshold", "0", "--json", tmp_path / "m.json"])
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["threshold"] == 0.0
    assert m["confusion"]["tn"] == m["confusion"]["fn"] == 0
    assert m["sensitivity"] == 1.0 and m["specificity"] == 0.0


def test_class_folders_label_csv_and_several_sources_agree(labelled, engine, tmp_path):
    """The same patches as class folders 0/ 1/, and as an `id,label` CSV, give the same metrics."""
    classes = tmp_path / "classes"
    for pid, label in labelled.labels.items():
        (classes / str(label)).mkdir(parents=True, exist_ok=True)
        shutil.copy(labelled.root / "train" / f"{pid}.tif", classes / str(label) / f"{pid}.tif")
    reference = _metrics(run, [labelled.root], engine, tmp_path / "a.json")
    assert _metrics(run, [classes], engine, tmp_path / "b.json")["auc"] == reference["auc"]
    csv_file = labelled.root / "train_labels.csv"
    assert _metrics(run, [csv_file], engine, tmp_path / "c.json")["auc"] == reference["auc"]
    both = _metrics(run, [classes / "0", classes / "1"], engine, tmp_path / "d.json", expect=1)
    assert "no labels" in both["error"]


def _metrics(run, data, engine, json_path, expect=0):
    result = run(["evaluate", *data, "--engine", engine, "--json", json_path])
    assert result.exit_code == expect, result.output + result.stderr
    return json.loads(json_path.read_text()) if expect == 0 else {"error": result.stderr}


def test_unlabelled_folder_is_refused_with_the_accepted_forms(engine, tmp_path):
    from tests.score.helpers import write_patch_folder

    write_patch_folder(tmp_path / "plain", 4)
    result = run(["evaluate", tmp_path / "plain", "--engine", engine])
    assert result.exit_code == 1
    assert "has no labels" in result.stderr and "id,label" in result.stderr


def test_plots_are_written(labelled, engine, tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    result = run(["evaluate", labelled.root, "--engine", engine, "--plots", tmp_path / "plots"])
    assert result.exit_code == 0, result.stderr
    for name in ("roc.png", "reliability.png", "errors.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG"


def test_overlap_with_the_recorded_training_split_is_warned(labelled, engine, tmp_path):
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "split").mkdir(parents=True)
    ids = sorted(labelled.labels)
    _write_ids(run_dir / "split" / "train.csv", ids[:30], labelled.root)
    _write_ids(run_dir / "split" / "select.csv", ids[30:37], labelled.root)
    trained = Path(shutil.copytree(engine, tmp_path / "trained"))
    manifest = read_manifest(trained)
    manifest.model = {"provenance": {"run": str(run_dir)}}
    write_manifest(trained, manifest)

    result = run(["evaluate", labelled.root, "--engine", trained, "--json", tmp_path / "m.json"])
    assert result.exit_code == 0, result.stderr
    assert "warning: 30 of 120 evaluated patches are in the model's train split" in result.stderr
    assert "warning: 7 of 120 evaluated patches are in the model's select split" in result.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    assert [(o["split"], o["count"]) for o in m["training_overlap"]] == [("train", 30), ("select", 7)]
    clean = run(["evaluate", labelled.root, "--engine", engine])
    assert "warning" not in clean.stderr


def _write_ids(path: Path, ids, folder: Path) -> None:
    lines = ["id,label,folder"] + [f"{i},0,{folder}" for i in ids]
    path.write_text("\n".join(lines) + "\n")


def test_unreadable_patch_is_counted_and_exits_3(labelled, engine, tmp_path):
    data = Path(shutil.copytree(labelled.root, tmp_path / "data"))
    first = min(labelled.labels)
    (data / "train" / f"{first}.tif").write_bytes(b"not a tiff")
    result = run(["evaluate", data, "--engine", engine, "--json", tmp_path / "m.json"])
    assert result.exit_code == 3
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["n"] == 119 and m["failed"] == 1
    assert "1 patches could not be scored" in result.stderr


def test_plots_without_matplotlib_say_how_to_install_it(labelled, engine, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run(["evaluate", labelled.root, "--engine", engine, "--plots", tmp_path / "plots"])
    assert result.exit_code == 1
    assert "--plots needs matplotlib" in result.stderr and "pip install" in result.stderr


def test_the_same_files_given_twice_are_evaluated_once(labelled, engine, tmp_path):
    linked = tmp_path / "linked"
    (linked / "train").mkdir(parents=True)
    for pid in labelled.labels:
        (linked / "train" / f"{pid}.tif").symlink_to(labelled.root / "train" / f"{pid}.tif")
    (linked / "train_labels.csv").write_text((labelled.root / "train_labels.csv").read_text())
    result = run(["evaluate", labelled.root, linked, "--engine", engine, "--json", tmp_path / "m.json"])
    assert result.exit_code == 0, result.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["n"] == 120 and m["failed"] == 0
