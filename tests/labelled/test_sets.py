"""open_labelled: Kaggle folders, class folders, id,label / path,label / id,label,folder CSVs."""

from __future__ import annotations

import shutil

import pytest

from hcd_edge.errors import DataError
from hcd_edge.labelled.sets import open_labelled, open_labelled_sets


def as_dict(patches):
    return {r.id: int(y) for r, y in zip(patches.refs, patches.labels)}


def test_kaggle_labels_csv_is_the_same_set_as_its_folder(labelled):
    folder = open_labelled(labelled.root)
    listed = open_labelled(labelled.root / "train_labels.csv")
    assert [r.path for r in listed.refs] == [r.path for r in folder.refs]
    assert as_dict(listed) == labelled.labels
    assert "label list" in listed.source


def test_path_label_and_id_label_folder_lists(labelled, tmp_path):
    ids = sorted(labelled.labels)[:5]
    (tmp_path / "p.csv").write_text(
        "path,label\n" + "".join(f"{labelled.root}/train/{i}.tif,{labelled.labels[i]}\n" for i in ids))
    (tmp_path / "f.csv").write_text(
        "id,label,folder\n" + "".join(f"{i},{labelled.labels[i]},{labelled.root}\n" for i in ids))
    for name in ("p.csv", "f.csv"):
        patches = open_labelled(tmp_path / name)
        assert as_dict(patches) == {i: labelled.labels[i] for i in ids}
        assert all(r.path.exists() for r in patches.refs)


def test_id_label_folder_list_finds_class_folders(labelled, tmp_path):
    pid = min(labelled.labels)
    label = labelled.labels[pid]
    (tmp_path / "classes" / str(label)).mkdir(parents=True)
    shutil.copy(labelled.root / "train" / f"{pid}.tif", tmp_path / "classes" / str(label))
    (tmp_path / "l.csv").write_text(f"id,label,folder\n{pid},{label},{tmp_path / 'classes'}\n")
    assert open_labelled(tmp_path / "l.csv").refs[0].path == tmp_path / "classes" / str(label) / f"{pid}.tif"


@pytest.mark.parametrize("body, message", [
    ("id,label\nabc,2\n", "label must be 0 or 1"),
    ("id,label\nnothere,1\n", "lists 1 patches that do not exist"),
])
def test_bad_label_lists_name_the_problem(tmp_path, body, message):
    (tmp_path / "l.csv").write_text(body)
    with pytest.raises(DataError, match=message):
        open_labelled(tmp_path / "l.csv")


def test_plain_path_list_is_unlabelled_and_several_sources_merge(labelled, tmp_path):
    ids = sorted(labelled.labels)
    (tmp_path / "plain.csv").write_text("path\n" + f"{labelled.root}/train/{ids[0]}.tif\n")
    assert open_labelled(tmp_path / "plain.csv").labels is None
    (tmp_path / "a.csv").write_text(f"id,label\n{ids[0]},{labelled.labels[ids[0]]}\n")
    shutil.copytree(labelled.root / "train", tmp_path / "train")
    (tmp_path / "b.csv").write_text(
        "id,label\n" + "".join(f"{i},{labelled.labels[i]}\n" for i in ids[:3]))
    merged = open_labelled_sets([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert len(merged) == 3 and as_dict(merged) == {i: labelled.labels[i] for i in ids[:3]}
    assert open_labelled_sets([tmp_path / "a.csv", tmp_path / "plain.csv"]).labels is None
