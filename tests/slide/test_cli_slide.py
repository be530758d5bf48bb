"""`hcd-edge slide` on the command line: help, exit codes, the table."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from hcd_edge.cli import main
from tests.slide.slides import mosaic, tissue_patches, write_pyramid


def test_help_lists_the_options():
    result = CliRunner().invoke(main, ["slide", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--engine", "--mpp", "--stride", "--threshold", "--batch", "--threads",
                   "--tta", "--tissue", "--min-tissue", "--recursive", "--resume"):
        assert option in result.output


def test_exit_0_when_all_slides_score_and_3_when_one_fails(tmp_path, engine_dir):
    slides = tmp_path / "slides"
    slides.mkdir()
    write_pyramid(slides / "a.tif", mosaic(tissue_patches(4), cols=2)[0], mpp=0.972)
    runner = CliRunner()
    ok = runner.invoke(main, ["slide", str(slides), "--out", str(tmp_path / "o1"),
                              "--engine", str(engine_dir), "--tta", "flip"])
    assert ok.exit_code == 0, ok.output
    (slides / "broken.svs").write_bytes(b"\x00" * 100)
    partial = runner.invoke(main, ["slide", str(slides), "--out", str(tmp_path / "o2"),
                                   "--engine", str(engine_dir)])
    assert partial.exit_code == 3, partial.output
    with open(tmp_path / "o2" / "slides.csv", newline="") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert rows["a"]["status"] == "ok" and int(rows["a"]["patches"]) > 0
    assert rows["broken"]["status"] == "error" and "broken.svs" in rows["broken"]["message"]


def test_no_slides_is_a_configuration_error(tmp_path, engine_dir):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["slide", str(tmp_path / "empty"), "--out",
                                       str(tmp_path / "o"), "--engine", str(engine_dir)])
    assert result.exit_code == 1 and "no slides" in result.output


def test_out_must_not_be_a_file(tmp_path, engine_dir):
    (tmp_path / "file").write_text("x")
    slide = write_pyramid(tmp_path / "a.tif", mosaic(tissue_patches(4), cols=2)[0], mpp=0.972)
    result = CliRunner().invoke(main, ["slide", str(slide), "--out", str(tmp_path / "file"),
                                       "--engine", str(engine_dir)])
    assert result.exit_code != 0
