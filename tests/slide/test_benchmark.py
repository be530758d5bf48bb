"""benchmarks/slide.py compares the very patches the slide scored (here on a resampled slide)."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks import slide as bench
from tests.slide.slides import mosaic, tissue_patches, write_pyramid


def test_benchmark_scores_the_slide_patches_as_files_with_equal_probabilities(tmp_path, engine_dir):
    image = mosaic(tissue_patches(6, seed=11), cols=3)[0]
    slide = write_pyramid(tmp_path / "b.tif", image, mpp=0.6, levels=1)  # resampled by 1.62
    args = SimpleNamespace(batch=16, threads=None, repeats=1)
    result = bench.measure(slide, engine_dir, args, tmp_path / "work")
    assert result["resampled"] and result["patches"] > 0
    assert result["max_abs_probability_difference"] <= 1e-4
    assert result["slide_grid_patches_per_second"] > 0 and result["score_patches_per_second"] > 0
    table = bench.table({"slides": {str(slide): result}})
    assert table["rows"][0][0] == "b.tif" and len(table["rows"][0]) == len(table["columns"])


def test_default_slides_include_a_generated_20x_slide_read_at_half_resolution(tmp_path):
    from hcd_edge.slide.reader import open_slide
    from hcd_edge.spec import PCAM_MPP

    slides = bench.default_slides(SimpleNamespace(generated="3x4"), tmp_path)
    assert slides[-1].name == "generated-20x.tif"
    reader = open_slide(slides[-1])
    try:
        assert reader.mpp == PCAM_MPP / 2 or abs(reader.mpp - PCAM_MPP / 2) < 1e-6
    finally:
        reader.close()
