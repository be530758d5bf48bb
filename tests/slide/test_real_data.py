"""Real tissue: a mosaic of real Kaggle patches, and the real slide excerpt in ../shared/data."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hcd_edge.decode import read_patch
from hcd_edge.slide.run import SlideRequest, score_slides
from tests.realdata import SHARED_DATA, real_patch_dir
from tests.slide.test_run import assert_slide_matches_files

pytestmark = pytest.mark.real_data

N_MOSAIC = 48
SLIDE_EXCERPT = SHARED_DATA / "cmu-1-small-region.svs"  # CMU-1 excerpt, 0.499 um/px (20x)


def test_real_patches_on_a_slide_score_as_their_files(tmp_path, engine_dir):
    train = real_patch_dir() / "train"
    files = sorted(train.glob("*.tif"))[:N_MOSAIC]
    patches = np.stack([read_patch(path) for path in files])
    compared = assert_slide_matches_files(tmp_path, engine_dir, patches, cols=8)
    assert compared >= 0.8 * N_MOSAIC


def test_the_real_slide_excerpt_scores_end_to_end(tmp_path, engine_dir):
    if not SLIDE_EXCERPT.is_file():
        pytest.skip(f"the slide excerpt {SLIDE_EXCERPT} is absent")
    result = score_slides(SlideRequest(inputs=(SLIDE_EXCERPT,), out=tmp_path / "out",
                                       engine=engine_dir))
    assert result.failed == 0
    folder = tmp_path / "out" / "cmu-1-small-region"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["mpp"] == pytest.approx(0.499) and summary["resampled"]
    assert summary["mpp_used"] == pytest.approx(0.972)
    assert 0.1 < summary["tissue"]["fraction"] < 0.9  # a tissue fragment on glass
    assert summary["patches_scored"] > 300
    step = 32 * 0.972 / 0.499
    with open(folder / "patches.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["patches_scored"]
    for row in rows[:50]:
        for axis in ("x", "y"):
            k = float(row[axis]) / step
            assert abs(k - round(k)) < 1e-3
        assert float(row["size"]) == pytest.approx(96 * 0.972 / 0.499, abs=0.01)
    assert (folder / "heatmap.png").stat().st_size > 10_000


def test_the_real_excerpt_is_decoded_directly_with_openslides_exact_pixels():
    if not SLIDE_EXCERPT.is_file():
        pytest.skip(f"the slide excerpt {SLIDE_EXCERPT} is absent")
    import openslide

    from hcd_edge.slide.reader import OpenSlideReader, open_slide

    reader = open_slide(SLIDE_EXCERPT)
    reference = OpenSlideReader(SLIDE_EXCERPT, openslide.OpenSlide(str(SLIDE_EXCERPT)), direct=False)
    try:
        assert reader.decoder == "tifffile"
        width, height = reader.levels[0].width, reader.levels[0].height
        np.testing.assert_array_equal(reader.read(0, -3, -5, width + 9, height + 7),
                                      reference.read(0, -3, -5, width + 9, height + 7))
    finally:
        reader.close()
        reference.close()
