"""Data layouts (Kaggle, class folders, PCam HDF5) and clear errors for bad inputs."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from hcd_edge.errors import DataError
from hcd_edge.synthetic import generate_patches, kaggle_tiff_bytes, write_synthetic_set
from hcd_edge.train.data import load_dataset, load_patch_folder, read_pcam


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory):
    root = tmp_path_factory.mktemp("kaggle") / "data"
    write_synthetic_set(root, 24, seed=5)
    return root


def test_kaggle_layout_loads_pixels_and_labels_by_id(kaggle):
    data = load_dataset(kaggle)
    expected = generate_patches(24, seed=5)
    row = {pid: i for i, pid in enumerate(expected.ids)}
    order = [row[pid] for pid in data.patches.ids]
    assert np.array_equal(data.patches.pixels, expected.pixels[order])
    assert np.array_equal(data.patches.labels, expected.labels[order])
    assert data.val is None and data.provenance["generated"]["seed"] == 5


def test_class_folders_load_with_their_labels(tmp_path):
    batch = generate_patches(10, seed=6)
    for pid, img, label in zip(batch.ids, batch.pixels, batch.labels):
        folder = tmp_path / str(label)
        folder.mkdir(exist_ok=True)
        (folder / f"{pid}.tif").write_bytes(kaggle_tiff_bytes(img))
    (tmp_path / "0").mkdir(exist_ok=True)
    (tmp_path / "1").mkdir(exist_ok=True)
    data = load_patch_folder(tmp_path)
    by_id = dict(zip(batch.ids, batch.labels.tolist()))
    assert [by_id[i] for i in data.ids] == data.labels.tolist()


def test_limit_keeps_the_first_patches(kaggle):
    assert len(load_dataset(kaggle, limit=7).patches) == 7


def _write_pcam(folder, split, pixels, labels):
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"camelyonpatch_level_2_split_{split}_x.h5", "w") as fh:
        fh.create_dataset("x", data=pixels)
    with h5py.File(folder / f"camelyonpatch_level_2_split_{split}_y.h5", "w") as fh:
        fh.create_dataset("y", data=np.asarray(labels, np.uint8).reshape(-1, 1, 1, 1))


def test_pcam_folder_uses_its_own_valid_split(tmp_path):
    train, valid = generate_patches(12, seed=7), generate_patches(6, seed=8)
    _write_pcam(tmp_path, "train", train.pixels, train.labels)
    _write_pcam(tmp_path, "valid", valid.pixels, valid.labels)
    data = load_dataset(tmp_path)
    assert np.array_equal(data.patches.pixels, train.pixels)
    assert np.array_equal(data.val.labels, valid.labels)
    assert data.provenance["val"] == "PCam valid split"


def test_one_pcam_file_loads_that_split(tmp_path):
    test = generate_patches(8, seed=9)
    _write_pcam(tmp_path, "test", test.pixels, test.labels)
    data = load_dataset(tmp_path / "camelyonpatch_level_2_split_test_x.h5", limit=5)
    assert np.array_equal(data.patches.labels, test.labels[:5]) and data.val is None


def test_pcam_label_other_than_0_or_1_names_file_and_index(tmp_path):
    batch = generate_patches(4, seed=1)
    _write_pcam(tmp_path, "train", batch.pixels, [0, 1, 2, 0])
    with pytest.raises(DataError, match=r"split_train_y\.h5: label 2 at index 2"):
        load_dataset(tmp_path)


def test_pcam_wrong_shapes_and_missing_files_are_named(tmp_path):
    _write_pcam(tmp_path / "a", "train", np.zeros((3, 32, 32, 3), np.uint8), [0, 1, 0])
    with pytest.raises(DataError, match=r"split_train_x\.h5: dataset 'x' must be \(N, 96, 96, 3\)"):
        load_dataset(tmp_path / "a")
    _write_pcam(tmp_path / "b", "train", np.zeros((3, 96, 96, 3), np.uint8), [0, 1])
    with pytest.raises(DataError, match="one label per patch"):
        load_dataset(tmp_path / "b")
    (tmp_path / "b" / "camelyonpatch_level_2_split_train_y.h5").unlink()
    with pytest.raises(DataError, match=r"split_train_y\.h5 is missing"):
        load_dataset(tmp_path / "b")


def test_pcam_file_without_its_dataset_is_named(tmp_path):
    x = tmp_path / "camelyonpatch_level_2_split_valid_x.h5"
    with h5py.File(x, "w") as fh:
        fh.create_dataset("images", data=np.zeros((1, 96, 96, 3), np.uint8))
    with h5py.File(tmp_path / "camelyonpatch_level_2_split_valid_y.h5", "w") as fh:
        fh.create_dataset("y", data=np.zeros((1, 1, 1, 1), np.uint8))
    with pytest.raises(DataError, match="has no dataset 'x'"):
        read_pcam(x, tmp_path / "camelyonpatch_level_2_split_valid_y.h5")


def test_missing_data_and_unlabelled_folders_are_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.tif").write_bytes(kaggle_tiff_bytes(generate_patches(1).pixels[0]))
    with pytest.raises(DataError, match="has no labels"):
        load_dataset(tmp_path / "plain")


@pytest.mark.parametrize("row, message", [
    ("abc,2", r"train_labels\.csv:3: label must be 0 or 1, got '2'"),
    ("abc", r"train_labels\.csv:3: expected 'id,label'"),
])
def test_bad_csv_rows_name_the_file_and_line(kaggle, tmp_path, row, message):
    root = shutil.copytree(kaggle, tmp_path / "copy")
    lines = (root / "train_labels.csv").read_text().splitlines()
    lines.insert(2, row)
    (root / "train_labels.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message):
        load_dataset(root)


def test_labelled_patch_that_is_missing_is_named(kaggle, tmp_path):
    root = shutil.copytree(kaggle, tmp_path / "copy")
    victim = sorted((root / "train").iterdir())[3]
    victim.unlink()
    with pytest.raises(DataError, match=f"lists 1 patches that do not exist, e.g. .*{victim.name}"):
        load_dataset(root)


def test_undecodable_patch_is_named_with_the_reason(kaggle, tmp_path):
    root = shutil.copytree(kaggle, tmp_path / "copy")
    victim = sorted((root / "train").iterdir())[5]
    victim.write_bytes(b"not a tiff at all")
    with pytest.raises(DataError, match=f"1 of 24 patches .*{victim.name}: not a TIFF"):
        load_dataset(root)
