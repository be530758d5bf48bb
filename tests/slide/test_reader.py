"""Opening slides: OpenSlide for pyramidal TIFFs, tifffile for strip TIFFs, errors for the rest."""

from __future__ import annotations

import numpy as np
import pytest

from hcd_edge.errors import SlideError
from hcd_edge.slide.reader import OpenSlideReader, flatten_alpha, mpp_from_tiff_tags, open_slide
from hcd_edge.slide.tiff_reader import TiffSlideReader
from tests.slide.slides import write_flat, write_pyramid

REGIONS = [(0, 0, 500, 300), (37, 11, 90, 60), (450, 250, 100, 100), (-10, -5, 30, 20)]


@pytest.fixture
def image():
    return np.random.default_rng(1).integers(0, 256, (300, 500, 3), dtype=np.uint8)


def _expected(image, x, y, w, h):
    want = np.full((h, w, 3), 255, np.uint8)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, image.shape[1]), min(y + h, image.shape[0])
    want[y0 - y : y1 - y, x0 - x : x1 - x] = image[y0:y1, x0:x1]
    return want


def test_pyramid_opens_in_openslide_with_levels_mpp_and_exact_pixels(tmp_path, image):
    reader = open_slide(write_pyramid(tmp_path / "p.tif", image, mpp=0.5))
    try:
        assert isinstance(reader, OpenSlideReader)
        assert [(lv.width, lv.height, lv.downsample) for lv in reader.levels] == [
            (500, 300, 1.0), (250, 150, 2.0)]
        assert reader.mpp == pytest.approx(0.5)
        for region in REGIONS:
            np.testing.assert_array_equal(reader.read(0, *region), _expected(image, *region))
    finally:
        reader.close()


def test_strip_tiff_falls_back_to_tifffile_with_the_same_pixels(tmp_path, image):
    reader = open_slide(write_flat(tmp_path / "flat.tif", image, mpp=0.25, rows_per_strip=16))
    try:
        assert isinstance(reader, TiffSlideReader)
        assert reader.mpp == pytest.approx(0.25)
        assert len(reader.levels) == 1
        for region in REGIONS:
            np.testing.assert_array_equal(reader.read(0, *region), _expected(image, *region))
    finally:
        reader.close()


def test_slide_without_resolution_has_no_mpp(tmp_path, image):
    reader = open_slide(write_flat(tmp_path / "flat.tif", image, mpp=None))
    try:
        assert reader.mpp is None
    finally:
        reader.close()


@pytest.mark.parametrize("name, content", [("notes.svs", b"not a slide at all"),
                                           ("empty.tif", b""), ("text.tif", b"II*\x00garbage")])
def test_unreadable_files_raise_slide_error_naming_them(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SlideError, match=name):
        open_slide(path)


def test_truncated_strip_tiff_raises_slide_error_on_read(tmp_path, image):
    path = write_flat(tmp_path / "cut.tif", image, mpp=0.5, rows_per_strip=16)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SlideError, match="cut.tif"):
        reader = open_slide(path)
        try:
            reader.read(0, 0, 0, 500, 300)
        finally:
            reader.close()


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(SlideError, match="not a file"):
        open_slide(tmp_path / "absent.svs")
    with pytest.raises(SlideError, match="not a file"):
        open_slide(tmp_path)


def test_transparent_pixels_become_white_and_opaque_ones_stay():
    from PIL import Image

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    rgba[0, 1] = (10, 20, 30, 0)
    rgba[1, 0] = (0, 0, 0, 128)
    rgba[1, 1] = (200, 100, 50, 255)
    out = np.asarray(flatten_alpha(Image.fromarray(rgba, mode="RGBA")))
    assert out[0, 0].tolist() == [10, 20, 30]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() in ([127, 127, 127], [126, 126, 126])
    assert out[1, 1].tolist() == [200, 100, 50]
    opaque = rgba.copy()
    opaque[..., 3] = 255
    np.testing.assert_array_equal(np.asarray(flatten_alpha(Image.fromarray(opaque, mode="RGBA"))),
                                  opaque[..., :3])


@pytest.mark.parametrize("resolution, unit, description, mpp", [
    ((20000, 1), 3, "", 0.5),  # pixels per centimetre
    ((101600, 1), 2, "", 0.25),  # pixels per inch
    ((1, 1), 1, "", None),  # no unit: unknown
    ((20000, 1), 3, "Aperio Image|AppMag = 20|MPP = 0.4990", 0.499),  # SVS description wins
    ((0, 1), 3, "", None),
    ((1, 1), 3, "", None),  # 10,000 um per pixel: implausible
])
def test_mpp_from_tiff_tags(resolution, unit, description, mpp):
    got = mpp_from_tiff_tags(resolution, unit, description)
    assert got == (pytest.approx(mpp) if mpp is not None else None)


def test_grey_and_16_bit_tiffs_are_refused_naming_the_layout(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "grey.tif", np.zeros((200, 300), np.uint8))
    tifffile.imwrite(tmp_path / "deep.tif", np.zeros((200, 300, 3), np.uint16), photometric="rgb")
    for name in ("grey.tif", "deep.tif"):
        with pytest.raises(SlideError, match="8-bit RGB"):
            open_slide(tmp_path / name)


# -- direct tiles: tifffile decodes the tiles of slides OpenSlide opens ------------------------

def _openslide_only(path):
    import openslide

    return OpenSlideReader(path, openslide.OpenSlide(str(path)), direct=False)


@pytest.mark.parametrize("compression", ["jpeg", "zlib", None])
def test_tiled_tiffs_are_decoded_directly_with_openslides_exact_pixels(tmp_path, image, compression):
    path = write_pyramid(tmp_path / "p.tif", image, mpp=0.5, levels=3, compression=compression)
    reader, reference = open_slide(path), _openslide_only(path)
    try:
        assert isinstance(reader, OpenSlideReader) and reader.decoder == "tifffile"
        assert reference.decoder == "openslide"
        for level in range(3):
            for region in REGIONS:
                np.testing.assert_array_equal(reader.read(level, *region), reference.read(level, *region))
    finally:
        reader.close()
        reference.close()


def test_direct_tiles_are_refused_when_a_pixel_differs_from_openslide(tmp_path, image):
    from hcd_edge.slide.tiff_reader import direct_tiles

    path = write_pyramid(tmp_path / "p.tif", image, mpp=0.5)
    reference = _openslide_only(path)
    try:
        def off_by_one(level, x, y, width, height):
            pixels = reference.read(level, x, y, width, height).copy()
            pixels[0, 0, 0] ^= 1
            return pixels

        assert direct_tiles(path, "generic-tiff", reference.levels, reference.read) is not None
        assert direct_tiles(path, "generic-tiff", reference.levels, off_by_one) is None
        assert direct_tiles(path, "hamamatsu", reference.levels, reference.read) is None
    finally:
        reference.close()


def test_direct_tiles_read_from_many_threads_at_once_give_the_same_pixels(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    big = np.random.default_rng(2).integers(0, 256, (1200, 1500, 3), dtype=np.uint8)
    path = write_pyramid(tmp_path / "big.tif", big, mpp=0.5, compression="jpeg")
    reader, reference = open_slide(path), _openslide_only(path)
    regions = [(x, y, 300, 250) for x in range(0, 1500, 170) for y in range(0, 1200, 190)]
    try:
        assert reader.decoder == "tifffile"
        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(lambda r: reader.read(0, *r), regions * 2))
        for region, pixels in zip(regions * 2, got):
            np.testing.assert_array_equal(pixels, reference.read(0, *region))
    finally:
        reader.close()
        reference.close()


def test_an_absent_tile_reads_as_glass(tmp_path, image):
    import tifffile

    from hcd_edge.slide.tiff_reader import TiffSegments

    path = write_pyramid(tmp_path / "p.tif", image, mpp=0.5, levels=1)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        counts = list(tif.pages[0].databytecounts)
        tif.pages[0].tags["TileByteCounts"].overwrite([0] + counts[1:])
    tif = tifffile.TiffFile(path)
    segments = TiffSegments(path, tif, [tif.pages[0]], missing_is_background=True)
    try:
        pixels = segments.read(0, 0, 0, 200, 200)
        assert (pixels[:128, :128] == 255).all()
        np.testing.assert_array_equal(pixels[:128, 128:], image[:128, 128:200])
    finally:
        segments.close()
