"""hcd_edge.synthetic: the centre rule, outer-ring negatives, determinism, Kaggle-identical files."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import tifffile

from hcd_edge.decode import decode_batch, read_patch
from hcd_edge.errors import DataError
from hcd_edge.score.sources import open_patch_set
from hcd_edge.synthetic import (
    CENTRE,
    PatchKind,
    SynthConfig,
    generate_patches,
    kaggle_tiff_bytes,
    write_synthetic_set,
)
from tests.realdata import real_patch_dir


@pytest.fixture(scope="module")
def batch():
    return generate_patches(300, seed=11, keep_masks=True)


def test_label_is_one_exactly_when_the_centre_holds_tumour(batch):
    in_centre = batch.masks[:, CENTRE, CENTRE].any(axis=(1, 2))
    assert np.array_equal(batch.labels == 1, in_centre)
    assert np.array_equal(batch.labels == 1, batch.kinds == PatchKind.CENTRE)


def test_ring_only_negatives_hold_tumour_outside_the_centre_only(batch):
    ring = batch.kinds == PatchKind.RING_ONLY
    assert ring.sum() >= 20
    assert batch.masks[ring].any(axis=(1, 2)).all()
    assert not batch.masks[ring][:, CENTRE, CENTRE].any()
    assert (batch.labels[ring] == 0).all()


def test_all_kinds_are_drawn_at_about_the_configured_rates(batch):
    counts = np.bincount(batch.kinds, minlength=3) / len(batch)
    assert 0.3 < counts[PatchKind.CENTRE] < 0.5
    assert 0.1 < counts[PatchKind.RING_ONLY] < 0.3
    assert counts[PatchKind.NORMAL] > 0.3


def test_tumour_is_darker_and_more_purple_than_normal_tissue(batch):
    tumour = batch.pixels[batch.masks].astype(float)
    normal_patches = batch.kinds == PatchKind.NORMAL
    normal = batch.pixels[normal_patches].reshape(-1, 3).astype(float)
    assert tumour.mean() < normal.mean() - 15  # denser, hyperchromatic nuclei absorb more light
    r, g, b = normal.mean(axis=0)
    assert g < r and g < b  # H&E: green is absorbed most (pink/purple)


def test_patch_does_not_depend_on_how_many_are_generated(batch):
    part = generate_patches(5, seed=11, start=100)
    assert np.array_equal(part.pixels, batch.pixels[100:105])
    assert part.ids == batch.ids[100:105]


def test_seeds_are_reproducible_and_distinct():
    a, b, c = (generate_patches(4, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.pixels, b.pixels) and a.ids == b.ids
    assert not np.array_equal(a.pixels, c.pixels) and not set(a.ids) & set(c.ids)


def test_ids_look_like_kaggle_ids(batch):
    assert all(re.fullmatch(r"[0-9a-f]{40}", i) for i in batch.ids)
    assert len(set(batch.ids)) == len(batch)


def test_bad_arguments_raise_data_errors():
    with pytest.raises(DataError, match=">= 0"):
        generate_patches(-1)
    with pytest.raises(DataError, match="ring_fraction"):
        SynthConfig(ring_fraction=1.5)
    with pytest.raises(DataError, match=r"\(96, 96, 3\) uint8"):
        kaggle_tiff_bytes(np.zeros((96, 96), np.uint8))


def test_tiff_has_the_kaggle_layout_and_round_trips(tmp_path, batch):
    path = tmp_path / "p.tif"
    path.write_bytes(kaggle_tiff_bytes(batch.pixels[0]))
    assert path.stat().st_size == 27_935
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        assert page.dataoffsets == (287,) and page.databytecounts == (27_648,)
        assert len(page.tags) == 15 and page.photometric.name == "RGB"
        assert np.array_equal(page.asarray(), batch.pixels[0])
    assert np.array_equal(read_patch(path), batch.pixels[0])


@pytest.mark.real_data
def test_tiff_is_byte_identical_to_real_kaggle_files():
    train = real_patch_dir() / "train"
    for path in sorted(train.glob("*.tif"))[:50]:
        real = path.read_bytes()
        datetime = real[267:286].decode("ascii")
        assert kaggle_tiff_bytes(tifffile.imread(path), datetime) == real, path


def test_written_set_opens_as_a_kaggle_layout_with_its_labels(tmp_path):
    seen = []
    result = write_synthetic_set(tmp_path / "set", 40, seed=3, chunk=16, progress=seen.append)
    assert seen == [16, 16, 8] and result.n == 40
    patches = open_patch_set(tmp_path / "set")
    expected = generate_patches(40, seed=3)
    by_id = dict(zip(expected.ids, expected.labels.tolist()))
    assert [by_id[r.id] for r in patches.refs] == patches.labels.tolist()
    assert result.positives == int(expected.labels.sum())
    out = np.zeros((40, 96, 96, 3), np.uint8)
    assert not decode_batch(patches.paths, out).any()
    info = json.loads((tmp_path / "set" / "synthetic.json").read_text())
    assert info["seed"] == 3 and "not medical" in info["note"]


def test_non_empty_folder_is_refused_and_kept_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="--force"):
        write_synthetic_set(tmp_path, 4, seed=0)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    write_synthetic_set(tmp_path, 4, seed=0, force=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    with open(tmp_path / "train_labels.csv", newline="") as fh:
        assert len(list(csv.reader(fh))) == 5


def test_a_file_as_output_folder_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        write_synthetic_set(target, 4, force=True)
