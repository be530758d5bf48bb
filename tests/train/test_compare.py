"""A run's split lists as linked folders, and ONNX models scored side by side on them."""

from __future__ import annotations

import json

import pytest

from hcd_edge.errors import DataError
from hcd_edge.train import export_checkpoint
from hcd_edge.train.compare import compare_models, main
from hcd_edge.train.data import load_patch_folder
from hcd_edge.train.split_links import link_split_folder, read_split_list


@pytest.fixture(scope="module")
def select_folder(trained_run, tmp_path_factory):
    """The tiny run's select split (its validation patches) linked as a Kaggle folder."""
    return link_split_folder(trained_run.out / "split" / "select.csv", tmp_path_factory.mktemp("sel") / "select")


def test_linked_folder_holds_exactly_the_listed_patches(trained_run, select_folder):
    listed = read_split_list(trained_run.out / "split" / "select.csv")
    patches = load_patch_folder(select_folder)
    assert sorted(zip(patches.ids, patches.labels.tolist())) == sorted((i, y) for i, y, _ in listed)
    assert all((select_folder / "train" / f"{i}.tif").is_symlink() for i, _, _ in listed)


def test_linking_refuses_missing_patches_and_a_used_folder(trained_run, select_folder, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,label,folder\nnot-there,1,{tmp_path}\n", encoding="utf-8")
    with pytest.raises(DataError, match="not-there.tif .* does not exist"):
        link_split_folder(bad, tmp_path / "out")
    with pytest.raises(DataError, match="is not empty"):
        link_split_folder(trained_run.out / "split" / "select.csv", select_folder)


def test_onnx_scores_match_the_runs_own_validation_metrics(trained_run, select_folder, tmp_path):
    model = export_checkpoint(trained_run.best, tmp_path / "m.onnx").path
    record, = compare_models([model], load_patch_folder(select_folder), threads=2)
    final = trained_run.metrics
    assert record["n"] == final["n"] and record["threshold"] == pytest.approx(final["threshold"])
    assert record["auc"] == pytest.approx(final["auc"], abs=2e-3)
    assert record["auc_tta"] == pytest.approx(final["auc_tta"], abs=2e-3)
    assert record["accuracy"] == pytest.approx(final["accuracy"], abs=0.02)


def test_command_line_writes_one_record_per_model(trained_run, select_folder, tmp_path, capsys):
    model = export_checkpoint(trained_run.best, tmp_path / "m.onnx").path
    out = tmp_path / "cmp.json"
    assert main([str(model), str(model), "--val", str(select_folder), "--json", str(out), "--threads", "2"]) == 0
    records = json.loads(out.read_text())["models"]
    assert len(records) == 2 and records[0]["auc"] == records[1]["auc"]
    low, high = records[0]["auc_ci95"]
    assert low <= records[0]["auc"] <= high and "auc_minus_first" not in records[0]
    # the same model twice: no difference in any resample, so never ahead of the first
    assert records[1]["auc_minus_first"] == 0 and records[1]["auc_minus_first_ci95"] == [0.0, 0.0]
    assert records[1]["ahead_of_first"] == 0.0
    printed = capsys.readouterr().out
    assert "AUC TTA" in printed and "95% CI" in printed and "+0.0000 (+0.0000 to +0.0000, 0%)" in printed
    assert main([str(model), "--val", str(tmp_path / "nowhere")]) == 1
