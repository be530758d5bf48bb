"""The generated whole-slide TIFF (demo, docs) and `hcd-edge synth --slide`."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.slide.reader import OpenSlideReader, open_slide
from hcd_edge.slide.synthetic import GLASS, synthetic_slide_image, write_synthetic_slide


def test_the_section_is_patches_on_glass_with_a_tumour_region():
    image, tumour = synthetic_slide_image(rows=6, cols=9, seed=2)
    assert image.shape == (6 * 96 + 192, 9 * 96 + 192, 3)
    assert (image[:96] == GLASS).all() and (image[:, -96:] == GLASS).all()
    assert 0 < tumour < 6 * 9
    again, _ = synthetic_slide_image(rows=6, cols=9, seed=2)
    np.testing.assert_array_equal(image, again)


def test_the_tiff_is_an_openslide_pyramid_with_its_mpp(tmp_path):
    written = write_synthetic_slide(tmp_path / "s.tif", rows=4, cols=6)
    reader = open_slide(written.path)
    try:
        assert isinstance(reader, OpenSlideReader)
        assert reader.mpp == pytest.approx(0.972)
        assert [lv.downsample for lv in reader.levels] == [1.0, 2.0, 4.0]
        assert (reader.levels[0].width, reader.levels[0].height) == (written.width, written.height)
    finally:
        reader.close()


def test_synth_slide_command_writes_once_unless_forced(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["synth", str(tmp_path), "--slide", "-n", "40"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "synthetic-slide.tif").is_file() and "not tissue" in first.output
    again = runner.invoke(main, ["synth", str(tmp_path), "--slide", "-n", "40"])
    assert again.exit_code == 1 and "--force" in again.output
    assert runner.invoke(main, ["synth", str(tmp_path), "--slide", "-n", "40", "--force"]).exit_code == 0
