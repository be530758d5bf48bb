"""`hcd-edge synth`: writes the Kaggle layout, refuses a non-empty folder, reports what it wrote."""

from __future__ import annotations

from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.score.sources import open_patch_set


def _synth(*args):
    return CliRunner().invoke(main, ["synth", *map(str, args)])


def test_help_lists_the_options():
    result = _synth("--help")
    assert result.exit_code == 0
    assert all(opt in result.output for opt in ("-n", "--seed", "--force"))


def test_writes_a_labelled_set_and_says_it_is_synthetic(tmp_path):
    result = _synth(tmp_path / "out", "-n", 12, "--seed", 4)
    assert result.exit_code == 0, result.output
    assert "wrote 12 generated patches" in result.output and "synthetic" in result.output
    assert len(open_patch_set(tmp_path / "out")) == 12


def test_non_empty_folder_exits_1_naming_force(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    result = _synth(tmp_path, "-n", 2)
    assert result.exit_code == 1 and "--force" in result.output


def test_zero_patches_is_a_usage_error(tmp_path):
    assert _synth(tmp_path / "out", "-n", 0).exit_code == 2
