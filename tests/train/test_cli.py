"""`hcd-edge train` and `hcd-edge export`: end to end on generated patches, errors and exit codes."""

from __future__ import annotations

import re
import sys

import pytest
from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.model_info import read_model_info


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("command, options", [
    ("train", ("--data", "--model", "--epochs", "--out", "--resume", "--weights", "--balance")),
    ("export", ("-o", "--opset", "--force")),
])
def test_help_lists_the_options(command, options):
    result = _run(command, "--help")
    assert result.exit_code == 0 and all(o in result.output for o in options)


def test_train_then_export_end_to_end(synthetic_96, tmp_path):
    result = _run("train", "--data", synthetic_96, "--out", tmp_path / "run", "--epochs", 1,
                  "--widths", "8,16,32,64", "--batch-size", 32, "--threads", 2, "--data-name", "generated")
    assert result.exit_code == 0, result.output
    assert re.search(r"validation AUC \d\.\d{4} on \d+ patches of the run's validation split", result.output)
    run_dir = tmp_path / "run"
    assert f"next: hcd-edge export {run_dir / 'best.pt'} -o {run_dir / 'model.onnx'}" in result.output
    result = _run("export", tmp_path / "run" / "best.pt", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.output
    assert re.search(r"validation AUC \d\.\d{4} on \d+ patches", result.output)
    assert "parity: max |delta logit|" in result.output
    assert read_model_info(tmp_path / "m.onnx").provenance["data_name"] == "generated"
    again = _run("export", tmp_path / "run" / "best.pt", "-o", tmp_path / "m.onnx")
    assert again.exit_code == 1 and "--force" in again.output


@pytest.mark.parametrize("extra, message", [
    (("--model", "cnn", "--weights", "w.pth"), "--weights is for --model resnet50 only"),
    (("--resume",), "last.pt does not exist"),
])
def test_train_configuration_errors_exit_1(synthetic_96, tmp_path, extra, message):
    result = _run("train", "--data", synthetic_96, "--out", tmp_path / "run", *extra)
    assert result.exit_code == 1 and message in result.output


def test_train_bad_option_values_are_usage_errors(synthetic_96, tmp_path):
    for bad in (("--model", "vgg"), ("--epochs", 0), ("--widths", "8,x")):
        assert _run("train", "--data", synthetic_96, "--out", tmp_path / "r", *bad).exit_code == 2


def test_missing_data_exits_1_naming_it(tmp_path):
    result = _run("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "run")
    assert result.exit_code == 1 and "nowhere does not exist" in result.output


def test_export_of_a_missing_checkpoint_exits_1(tmp_path):
    result = _run("export", tmp_path / "best.pt", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_without_torch_training_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    for name in [m for m in sys.modules if m.startswith("hcd_edge.train")]:
        monkeypatch.delitem(sys.modules, name)
    result = _run("train", "--data", tmp_path, "--out", tmp_path / "run")
    assert result.exit_code == 1 and "pip install 'hcd-edge[train]'" in result.output
    result = _run("export", tmp_path / "best.pt", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 1 and "pip install 'hcd-edge[train]'" in result.output


def test_help_of_every_command_needs_no_torch():
    import subprocess

    code = ("import sys; from click.testing import CliRunner; from hcd_edge.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); "
            "[CliRunner().invoke(main, [c, '--help']) for c in ('synth', 'train', 'export')]; "
            "print(r.exit_code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False"]


def test_train_on_two_folders_with_a_holdout(tmp_path):
    from hcd_edge.synthetic import write_synthetic_set

    write_synthetic_set(tmp_path / "a", 60, seed=21)
    write_synthetic_set(tmp_path / "b", 60, seed=22)
    result = _run("train", "--data", tmp_path / "a", "--data", tmp_path / "b", "--holdout", 20,
                  "--holdout-from", tmp_path / "b", "--out", tmp_path / "run", "--epochs", 1,
                  "--widths", "8,16,32,64", "--batch-size", 32, "--threads", 2, "--hed", 0.05,
                  "--label-smoothing", 0.1)
    assert result.exit_code == 0, result.output
    assert "holdout AUC" in result.output and "over 20 untouched patches" in result.output
    assert (tmp_path / "run" / "split" / "holdout.csv").read_text().count("\n") == 21


def test_same_patches_in_two_folders_exit_1(synthetic_96, tmp_path):
    import shutil

    shutil.copytree(synthetic_96, tmp_path / "copy")
    result = _run("train", "--data", synthetic_96, "--data", tmp_path / "copy", "--out", tmp_path / "run")
    assert result.exit_code == 1 and "are also in" in result.output
