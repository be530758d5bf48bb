"""Slides dropped into a watch go through `hcd-edge slide`'s code: outputs in DIR/<slide>/, one row."""

from __future__ import annotations

import json
import sys

import pytest

from hcd_edge.watch import WatchRequest, watch
from hcd_edge.watch.selection import SLIDE_PATTERNS, Selection
from hcd_edge.watch.slides import SlideStatus
from tests.watch.helpers import drop, read_rows

# pyramidal TIFFs are told from patch TIFFs by pattern: here, anything in a slides/ folder
SELECTION = Selection(slide_patterns=(*SLIDE_PATTERNS, "*/slides/*.tiff"))


def request(incoming, out, engine, **kwargs) -> WatchRequest:
    return WatchRequest(incoming=incoming, out=out, engine=engine, settle=0.1, once=True, threads=1,
                        selection=SELECTION, **kwargs)


@pytest.fixture
def pyramid(tmp_path):
    pytest.importorskip("openslide", reason="the slide extra (openslide-python, openslide-bin) "
                                            "is not installed")
    from tests.slide.slides import blank, tissue_patches, write_pyramid

    image = blank(512, 640)
    for k, patch in enumerate(tissue_patches(12)):
        y, x = 128 + (k // 4) * 96, 128 + (k % 4) * 96
        image[y : y + 96, x : x + 96] = patch
    folder = tmp_path / "in" / "slides"
    folder.mkdir(parents=True)
    return write_pyramid(folder / "case1.tiff", image, mpp=0.972)


def test_a_pyramidal_tiff_is_scored_as_a_slide_beside_patches(tmp_path, engine_dir, payloads, pyramid):
    incoming, out = tmp_path / "in", tmp_path / "out"
    (patch,) = drop(incoming, ["p.tif"], payloads)
    report = watch(request(incoming, out, engine_dir))
    assert (report.scored, report.errors) == (2, 0)
    rows = {r["path"]: r for r in read_rows(out)}
    assert rows[str(patch)]["status"] == "0"
    slide = rows[str(pyramid)]
    assert slide["id"] == "case1" and slide["status"] == "0"
    summary = json.loads((out / "case1" / "summary.json").read_text())
    assert float(slide["probability"]) == pytest.approx(summary["max_probability"], abs=1e-6)
    assert slide["label"] == str(int(summary["max_probability"] >= 0.2))
    assert (out / "case1" / "heatmap.png").is_file() and (out / "case1" / "tumour.geojson").is_file()
    assert str(out / "case1") in slide["message"]
    assert watch(request(incoming, out, engine_dir)).skipped == 2  # not rescored


def test_a_broken_slide_gets_an_error_row_and_the_watch_goes_on(tmp_path, engine_dir, payloads):
    pytest.importorskip("openslide", reason="the slide extra is not installed")
    incoming, out = tmp_path / "in", tmp_path / "out"
    drop(incoming, ["p.tif"], payloads)
    (incoming / "bad.svs").write_bytes(b"II*\x00 truncated slide")
    report = watch(request(incoming, out, engine_dir))
    rows = {r["id"]: r for r in read_rows(out)}
    assert (report.scored, report.errors) == (1, 1)
    assert rows["bad"]["status"] == str(int(SlideStatus.FAILED)) and "bad.svs" in rows["bad"]["message"]
    assert not (out / "bad").exists() and not (out / "bad.partial").exists()


def test_without_the_slide_extra_a_slide_gets_an_error_row_not_a_crash(tmp_path, engine_dir, payloads,
                                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "openslide", None)  # as if the slide extra were missing
    incoming, out = tmp_path / "in", tmp_path / "out"
    drop(incoming, ["p.tif"], payloads)
    (incoming / "case1.svs").write_bytes(b"II*\x00 not really a slide")
    report = watch(request(incoming, out, engine_dir))
    rows = {r["id"]: r for r in read_rows(out)}
    assert (report.scored, report.errors) == (1, 1)
    assert rows["case1"]["status"] == str(int(SlideStatus.UNAVAILABLE))
    assert "slide support not installed/available" in rows["case1"]["message"]
    assert "hcd-edge[slide]" in rows["case1"]["message"]
