"""decode_batch over files: threads, buffers written in place, file errors, counters, fallback."""

from __future__ import annotations

import os

import numpy as np
import pytest

from hcd_edge.decode import DecodeStats, DecodeStatus, decode_batch, read_patch
from hcd_edge.decode.status import NEEDS_FALLBACK
from hcd_edge.errors import DecodeError
from tests.decode.conftest import require_native
from tests.decode.corpus import write_cases
from tests.decode.test_normalize import numpy_reference
from tests.decode.tiffbytes import kaggle_tiff, patch_pixels

MEAN, STD = (0.70, 0.54, 0.69), (0.23, 0.27, 0.21)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, valid_cases, fallback_cases, malformed):
    """Files of every kind, interleaved: (paths, expected statuses, is-fallback flags)."""
    folder = tmp_path_factory.mktemp("mixed")
    cases = valid_cases + fallback_cases + malformed[::3]
    order = np.random.default_rng(0).permutation(len(cases))
    cases = [cases[i] for i in order]
    fallback_names = {c.name for c in fallback_cases}
    expected = np.array([int(c.expected) for c in cases], dtype=np.int32)
    is_fallback = np.array([c.name in fallback_names for c in cases])
    return write_cases(folder, cases), expected, is_fallback


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8])
def test_one_and_many_threads_give_identical_rows_and_statuses(mixed, dtype):
    require_native()
    paths, expected, _ = mixed
    shape = (len(paths), 96, 96, 3) if dtype == np.uint8 else (len(paths), 3, 96, 96)
    outs, statuses = [], []
    for threads in (1, 2, 5):
        out = np.full(shape, 3, dtype=dtype)
        statuses.append(decode_batch(paths, out, mean=MEAN, std=STD, threads=threads))
        outs.append(out)
    for st, out in zip(statuses[1:], outs[1:]):
        np.testing.assert_array_equal(st, statuses[0])
        np.testing.assert_array_equal(out.view(np.uint8), outs[0].view(np.uint8))
    np.testing.assert_array_equal(statuses[0], expected)


def test_batch_statuses_and_counters_name_each_road(mixed, road):
    paths, expected, is_fallback = mixed
    stats = DecodeStats()
    out = np.empty((len(paths), 96, 96, 3), dtype=np.uint8)
    statuses = decode_batch(paths, out, threads=2, stats=stats)
    if road == "native":
        np.testing.assert_array_equal(statuses, expected)
        assert stats.fallback == is_fallback.sum()
        assert stats.native == np.count_nonzero(expected == 0) - is_fallback.sum()
    else:  # tifffile decodes everything, after the native parser's rules: the same statuses
        np.testing.assert_array_equal(statuses, expected)
        assert stats.native == 0
        assert stats.fallback == np.count_nonzero(statuses == 0)
    assert stats.failed == np.count_nonzero(statuses)
    assert NEEDS_FALLBACK not in statuses
    assert not out[statuses != 0].any(), "failed rows are zeroed"


def test_batch_rows_equal_the_numpy_reference_of_tifffile_pixels(mixed, road):
    from hcd_edge.decode.reference import pixels_from_bytes

    paths = mixed[0]
    out = np.empty((len(paths), 3, 96, 96), dtype=np.float32)
    statuses = decode_batch(paths, out, mean=MEAN, std=STD, threads=2)
    for i in np.flatnonzero(statuses == 0):
        _, pixels = pixels_from_bytes(paths[i].read_bytes())
        np.testing.assert_array_equal(out[i], numpy_reference(pixels, MEAN, STD), err_msg=str(paths[i]))


def test_decode_writes_straight_into_a_view_of_a_larger_buffer(tmp_path, road):
    paths = [tmp_path / f"{i}.tif" for i in range(4)]
    for i, p in enumerate(paths):
        p.write_bytes(kaggle_tiff(patch_pixels(i)))
    for dtype in (np.float32, np.float16):
        big = np.full((10, 3, 96, 96), 9, dtype=dtype)
        view = big[3:7]
        address = view.__array_interface__["data"][0]
        assert decode_batch(paths, view, mean=MEAN, std=STD, threads=2).tolist() == [0] * 4
        assert view.__array_interface__["data"][0] == address
        assert (big[:3] == 9).all() and (big[7:] == 9).all(), "rows outside the view untouched"
        for i in range(4):
            expected = numpy_reference(patch_pixels(i), MEAN, STD).astype(dtype)
            np.testing.assert_array_equal(big[3 + i], expected)


def test_out_with_more_rows_than_paths_keeps_the_extra_rows(tmp_path, road):
    path = tmp_path / "a.tif"
    path.write_bytes(kaggle_tiff())
    out = np.full((3, 96, 96, 3), 5, dtype=np.uint8)
    assert decode_batch([path], out).tolist() == [0]
    assert (out[1:] == 5).all()


def test_file_level_errors_get_their_status_and_zeroed_rows(tmp_path, road):
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "folder.tif").mkdir()
    big = tmp_path / "big.tif"
    with open(big, "wb") as fh:
        fh.truncate(17 * 1024 * 1024)  # sparse: over the 16 MiB limit without writing it
    os.mkfifo(tmp_path / "fifo.tif")
    os.symlink(tmp_path / "gone.tif", tmp_path / "broken.tif")
    (tmp_path / "plain").write_bytes(b"x")
    names = ["missing.tif", "empty.tif", "folder.tif", "big.tif", "fifo.tif", "broken.tif",
             "plain/child.tif"]
    paths = [tmp_path / n for n in names] + [str(tmp_path / "nul\0.tif")]
    out = np.full((len(paths), 96, 96, 3), 1, dtype=np.uint8)
    statuses = decode_batch(paths, out, threads=2)
    S = DecodeStatus
    assert statuses.tolist() == [S.OPEN_FAILED, S.EMPTY_FILE, S.NOT_A_FILE, S.FILE_TOO_LARGE,
                                 S.NOT_A_FILE, S.OPEN_FAILED, S.OPEN_FAILED, S.OPEN_FAILED]
    assert not out.any()


def test_paths_may_be_str_bytes_or_pathlike(tmp_path, road):
    path = tmp_path / "p.tif"
    path.write_bytes(kaggle_tiff())
    out = np.empty((3, 96, 96, 3), dtype=np.uint8)
    assert decode_batch([str(path), os.fsencode(path), path], out).tolist() == [0, 0, 0]


def test_empty_batch_returns_no_statuses(road):
    out = np.empty((0, 3, 96, 96), dtype=np.float32)
    assert decode_batch([], out).shape == (0,)


def test_read_patch_returns_pixels_or_raises_naming_the_file(tmp_path, road):
    good, bad = tmp_path / "good.tif", tmp_path / "bad.tif"
    good.write_bytes(kaggle_tiff())
    bad.write_bytes(kaggle_tiff()[:1000])
    np.testing.assert_array_equal(read_patch(good), patch_pixels())
    with pytest.raises(DecodeError, match=r"bad\.tif.*truncated"):
        read_patch(bad)


@pytest.mark.parametrize(
    "out",
    [
        np.empty((2, 96, 96, 3), dtype=np.float32),
        np.empty((2, 3, 96, 96), dtype=np.uint8),
        np.empty((2, 3, 96, 96), dtype=np.float64),
        np.empty((2, 3, 96, 96), dtype=np.float32)[:, :, :, ::2],
        np.empty((2, 3, 96, 95), dtype=np.float32),
        np.empty((1, 3, 96, 96), dtype=np.float32),
    ],
    ids=["f32-hwc", "u8-chw", "f64", "strided", "95-wide", "too-few-rows"],
)
def test_bad_out_buffers_are_refused_before_any_decoding(out, tmp_path):
    with pytest.raises(ValueError, match="out"):
        decode_batch([tmp_path / "a.tif", tmp_path / "b.tif"], out)


def test_read_only_out_is_refused(tmp_path):
    out = np.empty((1, 3, 96, 96), dtype=np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        decode_batch([tmp_path / "a.tif"], out)


def test_zero_threads_is_refused(tmp_path):
    with pytest.raises(ValueError, match="threads"):
        decode_batch([tmp_path / "a.tif"], np.empty((1, 96, 96, 3), np.uint8), threads=0)


def test_decode_writes_into_page_aligned_foreign_memory_like_pinned_buffers(tmp_path, road):
    """pycuda's pagelocked_empty is a numpy array over foreign, page-aligned memory: so is this."""
    import mmap

    paths = [tmp_path / f"{i}.tif" for i in range(3)]
    for i, p in enumerate(paths):
        p.write_bytes(kaggle_tiff(patch_pixels(10 + i)))
    rows = 40
    batch = paths * 13 + paths[:1]
    modes = ["api", "stream"] if road == "native" else ["api"]  # + non-temporal stores
    with mmap.mmap(-1, rows * 3 * 96 * 96 * 4) as mem:
        for mode in modes:
            mem[:] = bytes(len(mem))
            out = np.frombuffer(mem, dtype=np.float32).reshape(rows, 3, 96, 96)
            if mode == "api":
                statuses = decode_batch(batch, out, mean=MEAN, std=STD, threads=2)
            else:
                from hcd_edge import _tiffdec

                statuses = _tiffdec.decode_batch(batch, out, MEAN, STD, 2, stream=True)
            assert statuses.tolist() == [0] * rows
            del out  # the mmap cannot close while an array still exports its buffer
            again = np.frombuffer(mem, dtype=np.float32).reshape(rows, 3, 96, 96)  # same bytes
            for i in range(rows):
                np.testing.assert_array_equal(again[i], numpy_reference(patch_pixels(10 + i % 3), MEAN, STD))
            del again
