"""Several --data folders trained together, the untouched holdout, the split lists, label smoothing."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from hcd_edge.errors import DataError
from hcd_edge.synthetic import write_synthetic_set
from hcd_edge.train import train
from hcd_edge.train.data import data_folders, load_dataset
from hcd_edge.train.prepare import prepare_data
from hcd_edge.train.split import holdout_indices
from tests.train.conftest import tiny_config


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    """Two disjoint generated Kaggle folders: 80 patches (seed 11) and 70 patches (seed 12)."""
    root = tmp_path_factory.mktemp("two")
    write_synthetic_set(root / "a", 80, seed=11)
    write_synthetic_set(root / "b", 70, seed=12)
    return root / "a", root / "b"


def _ids(folder):
    with open(folder / "train_labels.csv", encoding="utf-8") as fh:
        return {row["id"]: int(row["label"]) for row in csv.DictReader(fh)}


def _read_list(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_two_folders_load_one_after_the_other_with_their_labels(two_sets):
    a, b = two_sets
    data = load_dataset((a, b))
    assert len(data.patches) == 150 and data.folders == ((a, 80), (b, 70))
    by_folder = {**{i: (y, a) for i, y in _ids(a).items()}, **{i: (y, b) for i, y in _ids(b).items()}}
    for row, pid in enumerate(data.patches.ids):
        assert data.patches.labels[row] == by_folder[pid][0]
    assert {data.patches.ids[i] for i in data.folder_rows(b)} == set(_ids(b))
    assert [f["n"] for f in data.provenance["folders"]] == [80, 70]


def test_a_list_file_names_the_same_folders(two_sets, tmp_path):
    a, b = two_sets
    listing = tmp_path / "sets.txt"
    listing.write_text(f"# both sets\n{a}\n\n{b}\n", encoding="utf-8")
    assert data_folders(listing) == (a, b)
    assert load_dataset(listing).patches.ids == load_dataset((a, b)).patches.ids


def test_an_id_in_two_folders_is_refused_naming_both(two_sets, tmp_path):
    a, _ = two_sets
    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    with pytest.raises(DataError, match=r"80 patch ids of .*copy are also in .*a \(e\.g\."):
        load_dataset((a, copy))


@pytest.mark.parametrize("case", ["twice", "missing", "empty list", "not a folder of the data"])
def test_bad_data_lists_are_refused(two_sets, tmp_path, case):
    a, b = two_sets
    if case == "twice":
        call, message = lambda: data_folders((a, a)), "given twice"
    elif case == "missing":
        call, message = lambda: load_dataset((a, tmp_path / "gone")), "gone does not exist"
    elif case == "empty list":
        (tmp_path / "l.txt").write_text("# nothing\n", encoding="utf-8")
        call, message = lambda: data_folders(tmp_path / "l.txt"), "names no folders"
    else:
        call, message = lambda: load_dataset((a,)).folder_rows(b), "is not one of the --data folders"
    with pytest.raises(DataError, match=message):
        call()


def test_holdout_is_stratified_seeded_and_drawn_from_its_pool():
    labels = np.array([1, 0] * 50, np.int8)
    pool = np.arange(40, 100)
    held = holdout_indices(labels, pool, 20, seed=0)
    assert len(held) == 20 and set(held) <= set(pool) and labels[held].sum() == 10
    assert np.array_equal(held, holdout_indices(labels, pool, 20, seed=0))
    assert not np.array_equal(held, holdout_indices(labels, pool, 20, seed=1))
    with pytest.raises(DataError, match="holdout of 59 patches"):
        holdout_indices(labels, pool, 59, seed=0)


def test_holdout_from_one_folder_is_apart_from_train_and_select(two_sets, tmp_path):
    a, b = two_sets
    data = prepare_data(tiny_config((a, b), tmp_path / "run", holdout=30, holdout_from=b, val_fraction=0.25))
    held, train_ids, select = set(data.holdout.ids), set(data.train.ids), set(data.val.ids)
    assert len(held) == 30 and held <= set(_ids(b))
    assert not held & train_ids and not held & select and not train_ids & select
    assert len(held | train_ids | select) == 150 and len(select) == 30
    assert data.provenance["split"]["n_holdout"] == 30 and data.provenance["split"]["holdout_from"] == str(b)
    without = prepare_data(tiny_config((a, b), tmp_path / "run"))
    assert without.holdout is None and without.fingerprint != data.fingerprint


def test_holdout_from_needs_a_holdout(two_sets, tmp_path):
    with pytest.raises(DataError, match="--holdout-from needs --holdout N"):
        tiny_config(two_sets, tmp_path / "run", holdout_from=two_sets[1])


@pytest.fixture(scope="module")
def holdout_run(two_sets, tmp_path_factory):
    a, b = two_sets
    out = tmp_path_factory.mktemp("runs") / "held"
    return train(tiny_config((a, b), out, epochs=2, holdout=30, holdout_from=b, val_fraction=0.25, tta=True))


def test_run_scores_the_holdout_at_the_select_threshold(holdout_run):
    final = json.loads((holdout_run.out / "metrics.json").read_text())["final"]
    held = final["holdout"]
    assert held["n"] == 30 and held["threshold"] == final["threshold"] and final["n"] == 30
    assert 0.0 <= held["auc"] <= 1.0 and 0.0 <= held["auc_tta"] <= 1.0
    c = held["confusion"]
    assert c["tn"] + c["fp"] + c["fn"] + c["tp"] == 30


def test_split_lists_are_written_and_partition_the_data(holdout_run, two_sets):
    a, b = two_sets
    lists = {name: _read_list(holdout_run.out / "split" / f"{name}.csv") for name in ("train", "select", "holdout")}
    assert [len(v) for v in lists.values()] == [90, 30, 30]
    every = [r["id"] for rows in lists.values() for r in rows]
    assert len(set(every)) == 150
    truth = {**{i: (y, str(a)) for i, y in _ids(a).items()}, **{i: (y, str(b)) for i, y in _ids(b).items()}}
    for rows in lists.values():
        assert all(truth[r["id"]] == (int(r["label"]), r["folder"]) for r in rows)
    assert {r["folder"] for r in lists["holdout"]} == {str(b)}


def test_label_smoothing_keeps_the_loss_above_the_targets_entropy(synthetic_96, tmp_path):
    smoothing = 0.2  # targets 0.1 / 0.9: cross-entropy can never go below their entropy
    result = train(tiny_config(synthetic_96, tmp_path / "ls", epochs=3, label_smoothing=smoothing))
    floor = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))
    assert all(r.train_loss >= floor - 1e-6 for r in result.history)
    plain = train(tiny_config(synthetic_96, tmp_path / "plain", epochs=3))
    assert plain.history[0].train_loss != result.history[0].train_loss
