"""Scoring generated slides end to end through the library call."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import tifffile

from hcd_edge.errors import SlideUnavailable
from hcd_edge.score.run import ScoreRequest, score
from hcd_edge.slide import scan
from hcd_edge.slide.run import SlideRequest, score_slides
from tests.slide.slides import mosaic, tissue_patches, write_flat, write_pyramid

FILES = ("patches.csv", "probability.npy", "tissue.png", "heatmap.png", "tumour.geojson",
         "summary.json")


def run(tmp_path, engine_dir, *slides, out="out", **options):
    request = SlideRequest(inputs=tuple(slides), out=tmp_path / out, engine=engine_dir, **options)
    return score_slides(request)


def read_patches_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_slide_gets_every_output_with_exact_coordinates(tmp_path, engine_dir, tissue_slide):
    path, _ = tissue_slide
    result = run(tmp_path, engine_dir, path)
    assert result.failed == 0
    folder = tmp_path / "out" / "tissue"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["mpp"] == pytest.approx(0.972) and summary["mpp_source"] == "slide"
    assert (summary["level"], summary["resampled"]) == (0, False)
    assert summary["dimensions"] == [1536, 1024]
    assert summary["engine"]["backend"] == "onnxruntime"
    assert summary["batch"] == 16  # no --batch: the engine's optimal batch (built as 1:16:256)
    rows = read_patches_csv(folder / "patches.csv")
    assert len(rows) == summary["patches_scored"] > 0
    probability = np.load(folder / "probability.npy")
    assert probability.dtype == np.float32
    assert probability.shape == ((1024 - 96) // 32 + 1, (1536 - 96) // 32 + 1)
    assert np.isfinite(probability).sum() == len(rows)
    for row in rows:
        x, y, size = int(row["x"]), int(row["y"]), int(row["size"])
        assert size == 96 and x % 32 == 0 and y % 32 == 0
        assert float(row["probability"]) == pytest.approx(probability[y // 32, x // 32], abs=1e-6)
        assert row["label"] == str(int(float(row["probability"]) >= 0.2))
        # the centre cell lies on tissue: [256, 640) x [320, 896)
        assert 256 <= y + 32 < 640 and 320 <= x + 32 < 896


def test_background_is_never_scored_and_every_tissue_cell_is(tmp_path, engine_dir, tissue_slide):
    path, _ = tissue_slide
    run(tmp_path, engine_dir, path)
    probability = np.load(tmp_path / "out" / "tissue" / "probability.npy")
    for r in range(probability.shape[0]):
        for c in range(probability.shape[1]):
            top, left = r * 32 + 32, c * 32 + 32
            on_tissue = 256 <= top < 640 and 320 <= left < 896
            assert np.isfinite(probability[r, c]) == on_tissue, (r, c)


def test_slide_patches_score_as_the_same_patch_files(tmp_path, engine_dir):
    patches = tissue_patches(12, seed=8)
    assert_slide_matches_files(tmp_path, engine_dir, patches)


def assert_slide_matches_files(tmp_path, engine_dir, patches, cols=4, tolerance=1e-4):
    """Mosaic the patches on a 0.972 um slide, score it and the patch files, compare per patch."""
    image, places = mosaic(patches, cols=cols)
    slide = write_pyramid(tmp_path / "mosaic.tif", image, mpp=0.972)
    folder = tmp_path / "files"
    folder.mkdir()
    for k, patch in enumerate(patches):
        tifffile.imwrite(folder / f"m{k:04d}.tif", patch, photometric="rgb")
    result = run(tmp_path, engine_dir, slide, batch=16)
    assert result.failed == 0
    probability = np.load(tmp_path / "out" / "mosaic" / "probability.npy")
    score(ScoreRequest(inputs=(folder,), out=tmp_path / "files.csv", engine=engine_dir, batch=16))
    with open(tmp_path / "files.csv", newline="") as fh:
        from_files = {row["id"]: float(row["probability"]) for row in csv.DictReader(fh)}
    compared = 0
    for k, (x, y) in enumerate(places):
        on_slide = probability[y // 32, x // 32]
        if math.isnan(on_slide):  # a patch whose centre is glass is not scored on the slide
            continue
        assert abs(on_slide - from_files[f"m{k:04d}"]) <= tolerance, k
        compared += 1
    assert compared >= 0.8 * len(patches)
    return compared


def test_a_slide_without_mpp_is_refused_with_advice_and_mpp_overrides(tmp_path, engine_dir):
    image = mosaic(tissue_patches(4), cols=2)[0]
    slide = write_flat(tmp_path / "nompp.tif", image, mpp=None)
    refused = run(tmp_path, engine_dir, slide, out="a")
    assert refused.failed == 1 and "--mpp" in refused.outcomes[0].message
    scored = run(tmp_path, engine_dir, slide, out="b", mpp=0.972)
    assert scored.failed == 0
    summary = scored.outcomes[0].summary
    assert summary["mpp_source"] == "--mpp" and summary["reader"] == "tifffile"


def test_mpp_picks_the_level_and_coordinates_stay_in_level0_pixels(tmp_path, engine_dir):
    image = mosaic(tissue_patches(4), cols=2, gap=192, margin=192)[0]
    slide = write_pyramid(tmp_path / "x20.tif", image, mpp=0.486)  # level 1 is 0.972 um
    result = run(tmp_path, engine_dir, slide)
    summary = result.outcomes[0].summary
    assert (summary["level"], summary["resampled"]) == (1, False)
    assert summary["grid"]["patch_level0"] == 192.0
    rows = read_patches_csv(tmp_path / "out" / "x20" / "patches.csv")
    assert rows and all(int(r["x"]) % 64 == 0 and r["size"] == "192" for r in rows)


def test_a_slide_between_levels_is_area_averaged(tmp_path, engine_dir):
    image = mosaic(tissue_patches(4), cols=2)[0]
    slide = write_pyramid(tmp_path / "odd.tif", image, mpp=0.6, levels=1)
    summary = run(tmp_path, engine_dir, slide).outcomes[0].summary
    assert summary["resampled"] and summary["resample_factor"] == pytest.approx(0.972 / 0.6)
    assert summary["mpp_used"] == pytest.approx(0.972)
    assert summary["patches_scored"] > 0


def test_bad_slides_get_error_rows_and_the_run_goes_on(tmp_path, engine_dir, tissue_slide):
    good, _ = tissue_slide
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.svs").write_text("not a slide")
    (bad / "empty.tif").write_bytes(b"")
    truncated = write_pyramid(bad / "cut.tif", mosaic(tissue_patches(4), cols=2)[0], mpp=0.972)
    truncated.write_bytes(truncated.read_bytes()[:3000])
    twin = bad / "sub"
    twin.mkdir()
    (twin / "tissue.tif").write_bytes(good.read_bytes())
    inputs = (bad / "notes.svs", bad / "empty.tif", truncated, bad / "absent.ndpi", good,
              twin / "tissue.tif")
    result = run(tmp_path, engine_dir, *inputs)
    statuses = [(o.name, o.ok) for o in result.outcomes]
    assert statuses == [("notes", False), ("empty", False), ("cut", False), ("absent", False),
                        ("tissue", True), ("tissue", False)]
    assert "duplicate name" in result.outcomes[-1].message
    with open(result.table, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["status"] for r in table] == ["error"] * 4 + ["ok", "error"]
    assert all(r["message"] for r in table if r["status"] == "error")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["slides.csv", "tissue"]


def test_resume_skips_finished_slides_and_retries_failed_ones(tmp_path, engine_dir, tissue_slide,
                                                               monkeypatch):
    good, _ = tissue_slide
    missing = tmp_path / "later.tif"
    first = run(tmp_path, engine_dir, good, missing)
    assert [o.ok for o in first.outcomes] == [True, False]
    summary = tmp_path / "out" / "tissue" / "summary.json"
    stamp = summary.stat().st_mtime_ns
    write_pyramid(missing, mosaic(tissue_patches(4), cols=2)[0], mpp=0.972)
    scanned = []
    real_scan = scan.scan_slide

    def counting(path, *args, **kwargs):
        scanned.append(path.name)
        return real_scan(path, *args, **kwargs)

    monkeypatch.setattr("hcd_edge.slide.run.scan_slide", counting)
    second = run(tmp_path, engine_dir, good, missing, resume=True)
    assert scanned == ["later.tif"]
    assert [o.ok for o in second.outcomes] == [True, True] and second.outcomes[0].resumed
    assert summary.stat().st_mtime_ns == stamp


def test_reads_are_bounded_blocks_and_glass_is_not_read(tmp_path, engine_dir, tissue_slide,
                                                        monkeypatch):
    path, _ = tissue_slide
    reads = []
    real_open = scan.open_slide

    def recording(p):
        reader = real_open(p)
        real_read = reader.read

        def read(level, x, y, width, height):
            reads.append((level, x, y, width, height))
            return real_read(level, x, y, width, height)

        reader.read = read
        return reader

    monkeypatch.setattr(scan, "open_slide", recording)
    monkeypatch.setattr("hcd_edge.slide.tissue.THUMB_BLOCK", 64)
    result = run(tmp_path, engine_dir, path, block_patches=4)
    grid_reads = [r for r in reads if r[0] == 0 and r[3] >= 96]
    side = (4 - 1) * 32 + 96
    assert len(grid_reads) >= 9
    assert all(w <= side and h <= side for *_, w, h in grid_reads)
    assert all(w * h <= 512 * 512 for *_, w, h in reads)  # thumbnail reads are bounded too
    for _, x, y, w, h in grid_reads:  # only blocks holding tissue are read
        assert x + w > 320 and x < 896 and y + h > 256 and y < 640
    assert result.outcomes[0].summary["largest_read_pixels"] <= side * side


def test_missing_slide_extra_is_a_clear_error(tmp_path, engine_dir, tissue_slide, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "openslide", None)
    with pytest.raises(SlideUnavailable, match=r"hcd-edge\[slide\]"):
        run(tmp_path, engine_dir, tissue_slide[0])


def test_runtime_imports_without_the_slide_extra():
    code = ("import sys; sys.modules.update(openslide=None, shapely=None, matplotlib=None);"
            "import hcd_edge.slide.run, hcd_edge.cli.slide, hcd_edge.score.run; print('ok')")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


def test_slide_with_tta_matches_the_files_with_the_same_tta(tmp_path, engine_dir):
    from hcd_edge.score.tta import Tta

    image, places = mosaic(tissue_patches(6, seed=9), cols=3)
    slide = write_pyramid(tmp_path / "t.tif", image, mpp=0.972)
    folder = tmp_path / "files"
    folder.mkdir()
    for k, (x, y) in enumerate(places):
        tifffile.imwrite(folder / f"t{k}.tif", image[y : y + 96, x : x + 96], photometric="rgb")
    run(tmp_path, engine_dir, slide, tta=Tta.DIHEDRAL)
    probability = np.load(tmp_path / "out" / "t" / "probability.npy")
    score(ScoreRequest(inputs=(folder,), out=tmp_path / "f.csv", engine=engine_dir, tta=Tta.DIHEDRAL))
    with open(tmp_path / "f.csv", newline="") as fh:
        from_files = {row["id"]: float(row["probability"]) for row in csv.DictReader(fh)}
    for k, (x, y) in enumerate(places):
        assert abs(probability[y // 32, x // 32] - from_files[f"t{k}"]) <= 1e-4


class RecordingProgress:
    def __init__(self):
        self.events = []

    def start(self, task, total):
        self.events.append(("start", task, total))

    def advance(self, task, steps=1):
        self.events.append(("advance", task, steps))

    def finish(self, task):
        self.events.append(("finish", task))

    def note(self, message):
        self.events.append(("note", message))


def test_progress_per_slide_and_overall(tmp_path, engine_dir, tissue_slide):
    progress = RecordingProgress()
    request = SlideRequest(inputs=(tissue_slide[0], tmp_path / "gone.svs"), out=tmp_path / "o",
                           engine=engine_dir)
    result = score_slides(request, progress)
    scored = result.outcomes[0].summary["patches_scored"]
    events = progress.events
    assert ("start", "slides", 2) in events and ("finish", "slides") in events
    assert ("start", "tissue.tif", scored) in events
    assert sum(e[2] for e in events if e[:2] == ("advance", "tissue.tif")) == scored
    assert sum(e[2] for e in events if e[:2] == ("advance", "slides")) == 2
    assert any(e[0] == "note" and "gone.svs" in e[1] for e in events)


def test_ctrl_c_keeps_finished_slides_and_leaves_no_partial_folder(tmp_path, engine_dir,
                                                                   tissue_slide, monkeypatch):
    from hcd_edge.slide.run import SlidesInterrupted

    second = write_pyramid(tmp_path / "second.tif", mosaic(tissue_patches(4), cols=2)[0], mpp=0.972)
    real_scan = scan.scan_slide

    def interrupted(path, folder, *args, **kwargs):
        if path == second:
            staging = scan.staging_folder(folder)
            staging.mkdir(parents=True)
            raise KeyboardInterrupt
        return real_scan(path, folder, *args, **kwargs)

    monkeypatch.setattr("hcd_edge.slide.run.scan_slide", interrupted)
    with pytest.raises(SlidesInterrupted) as stop:
        run(tmp_path, engine_dir, tissue_slide[0], second)
    assert (stop.value.done, stop.value.total) == (1, 2)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["slides.csv", "tissue"]
    with open(out / "slides.csv", newline="") as fh:
        assert [r["name"] for r in csv.DictReader(fh)] == ["tissue"]


def test_several_reader_threads_give_the_same_map(tmp_path, engine_dir, tissue_slide, monkeypatch):
    from hcd_edge.slide import feed

    one = run(tmp_path, engine_dir, tissue_slide[0], out="one", block_patches=4)
    monkeypatch.setattr(feed, "default_threads", lambda: 8)
    many = run(tmp_path, engine_dir, tissue_slide[0], out="many", block_patches=4)
    assert feed.read_threads(scan.open_slide(tissue_slide[0])) == 4
    a = np.load(tmp_path / "one" / "tissue" / "probability.npy")
    b = np.load(tmp_path / "many" / "tissue" / "probability.npy")
    np.testing.assert_array_equal(a, b)
    assert one.outcomes[0].summary["blocks_read"] == many.outcomes[0].summary["blocks_read"] > 4


def test_without_engine_the_starter_engine_is_built_and_cached(tmp_path, tissue_slide):
    from tests.tiny_models import write_tiny_cnn

    model = write_tiny_cnn(tmp_path / "starter.onnx", threshold=0.3)
    request = SlideRequest(inputs=(tissue_slide[0],), out=tmp_path / "out", starter_model=model)
    result = score_slides(request)
    assert result.failed == 0
    assert result.engine.name == "fp32" and str(tmp_path / "cache") in str(result.engine)
    assert result.outcomes[0].summary["threshold"] == 0.3
    again = score_slides(SlideRequest(inputs=(tissue_slide[0],), out=tmp_path / "o2",
                                      starter_model=model))
    assert again.engine == result.engine
