"""A 150,000 x 100,000 slide (a stand-in reader: no such file is written) is scored in bounded reads."""

from __future__ import annotations

import numpy as np

from hcd_edge.slide import scan
from hcd_edge.slide.reader import SlideLevel
from hcd_edge.slide.run import SlideRequest, score_slides
from hcd_edge.slide.synthetic import GLASS
from tests.slide.slides import tissue_patches

WIDTH, HEIGHT, MPP = 150_000, 100_000, 0.25  # a 40x scan of a 37.5 x 25 mm section
TISSUE = (60_000, 40_000, 61_600, 41_200)  # level-0 box holding tissue: x0, y0, x1, y1


class HugeSlide:
    """Glass everywhere but TISSUE, painted from generated patches; records every read."""

    vendor = "stand-in"
    mpp = MPP

    def __init__(self, path):
        self.path = path
        self.levels = tuple(SlideLevel(WIDTH // d, HEIGHT // d, float(d)) for d in (1, 4, 16, 64))
        self.reads: list[tuple[int, int, int]] = []
        self._texture = np.concatenate(list(tissue_patches(16, seed=5)), axis=1)  # 96 x 1536

    def read(self, level, x, y, width, height):
        self.reads.append((level, width, height))
        out = np.empty((height, width, 3), np.uint8)
        out[:] = GLASS
        d = self.levels[level].downsample
        x0, y0 = max(x, int(TISSUE[0] / d)), max(y, int(TISSUE[1] / d))
        x1, y1 = min(x + width, int(TISSUE[2] / d)), min(y + height, int(TISSUE[3] / d))
        if x1 > x0 and y1 > y0:
            rows = np.arange(y0, y1) % 96
            cols = np.arange(x0, x1) % self._texture.shape[1]
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._texture[np.ix_(rows, cols)]
        return out

    def close(self):
        pass


def test_a_150000_by_100000_slide_is_read_in_bounded_blocks(tmp_path, engine_dir, monkeypatch):
    slides: list[HugeSlide] = []

    def opener(path):
        slides.append(HugeSlide(path))
        return slides[-1]

    monkeypatch.setattr(scan, "open_slide", opener)
    (tmp_path / "huge.svs").write_bytes(b"stand-in")
    result = score_slides(SlideRequest(inputs=(tmp_path / "huge.svs",), out=tmp_path / "out",
                                       engine=engine_dir, batch=64))
    assert result.failed == 0, result.outcomes[0].message
    summary = result.outcomes[0].summary
    reads = slides[0].reads
    assert summary["level"] == 1 and summary["resampled"]  # 1.0 um, the level nearest 0.972
    assert max(w * h for _, w, h in reads) <= 4096 * 4096  # no read beyond 48 MB of RGB
    full_resolution = sum(w * h for level, w, h in reads if level <= 1)
    assert full_resolution < 0.01 * (WIDTH // 4) * (HEIGHT // 4)  # only the tissue is read closely
    tissue_cells = (TISSUE[2] - TISSUE[0]) * (TISSUE[3] - TISSUE[1]) / (32 * 3.888) ** 2
    assert 0.5 * tissue_cells < summary["patches_scored"] < 1.5 * tissue_cells
    probability = np.load(tmp_path / "out" / "huge" / "probability.npy")
    assert probability.shape == (summary["grid"]["rows"], summary["grid"]["cols"])
    assert probability.shape[1] > 1000 and probability.nbytes < 8_000_000
