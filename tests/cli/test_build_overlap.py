"""build-engine warns, naming the count, when its parity patches are in the model's training split."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from hcd_edge.builders.patches import plan_patches
from hcd_edge.cli import main
from tests.builders.patchgen import write_patch_fixture


def test_build_warns_about_parity_patches_from_the_training_split(tmp_path, monkeypatch):
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    data = write_patch_fixture(tmp_path / "data", n=64)
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "split").mkdir(parents=True)
    model = shutil.copy(data.model, run_dir / "model.onnx")  # found by its neighbour split/
    trained = sorted(data.labels)[:20]
    (run_dir / "split" / "train.csv").write_text(
        "id,label,folder\n" + "".join(f"{i},{data.labels[i]},{data.root}\n" for i in trained))
    args = ["build-engine", str(model), "--precision", "fp32", "--backend", "onnxruntime",
            "--val", str(data.root), "--val-n", "40"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "e1")])
    assert result.exit_code == 0, result.stderr
    assert "patches are in the model's train split" in result.stderr
    val_ids = {r.id for r in plan_patches(None, data.root, 512, 40).val_refs}
    expected = len(val_ids & set(trained))
    assert expected > 0
    assert f"warning: {expected} of 40 parity (--val) patches" in result.stderr

    (run_dir / "split" / "train.csv").write_text("id,label,folder\n")
    clean = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "e2")])
    assert clean.exit_code == 0 and "warning" not in clean.stderr
