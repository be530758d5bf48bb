"""`hcd-edge split`: stratified, seeded, disjoint lists that score, evaluate and build accept."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.labelled.sets import open_labelled


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_split_is_stratified_disjoint_and_complete(labelled, tmp_path):
    result = run("split", labelled.root, "--val", "0.25", "--seed", "3", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.stdout + result.stderr
    train, val = read(tmp_path / "s" / "train.csv"), read(tmp_path / "s" / "val.csv")
    assert len(val) == 15 and len(train) == 45
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in val})
    assert {r["id"] for r in train} | {r["id"] for r in val} == set(labelled.labels)
    positives = sum(labelled.labels.values())
    assert abs(sum(int(r["label"]) for r in val) - positives * 0.25) <= 1
    assert all(int(r["label"]) == labelled.labels[r["id"]] for r in train + val)
    assert "val: 15 patches" in result.stdout


def test_same_seed_same_lists_other_seed_other_lists(labelled, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert run("split", labelled.root, "--seed", seed, "--out", tmp_path / name).exit_code == 0
    text = {n: (tmp_path / n / "val.csv").read_text() for n in "abc"}
    assert text["a"] == text["b"] != text["c"]


def test_lists_are_accepted_by_score_and_as_labelled_sets(labelled, tmp_path):
    run("split", labelled.root, "--out", tmp_path / "s")
    val = open_labelled(tmp_path / "s" / "val.csv")
    assert val.labels is not None and len(val) == 12
    assert all(labelled.labels[r.id] == y for r, y in zip(val.refs, val.labels))
    from tests.score.helpers import make_tiny_engine

    engine = make_tiny_engine(tmp_path / "engine")
    scored = run("score", tmp_path / "s" / "train.csv", "--engine", engine, "--out", tmp_path / "o.csv")
    assert scored.exit_code == 0, scored.stderr
    assert len(read(tmp_path / "o.csv")) == 48


def test_existing_lists_are_kept_without_force(labelled, tmp_path):
    assert run("split", labelled.root, "--out", tmp_path / "s").exit_code == 0
    again = run("split", labelled.root, "--seed", "9", "--out", tmp_path / "s")
    assert again.exit_code == 1 and "--force" in again.stderr
    assert run("split", labelled.root, "--seed", "9", "--out", tmp_path / "s", "--force").exit_code == 0


def test_folders_are_kaggle_layouts_of_the_lists(labelled, tmp_path):
    result = run("split", labelled.root, "--out", tmp_path / "s", "--folders")
    assert result.exit_code == 0, result.stderr
    for name in ("train", "val"):
        folder = open_labelled(tmp_path / "s" / name)
        listed = open_labelled(tmp_path / "s" / f"{name}.csv")
        assert "kaggle layout" in folder.source
        assert [r.id for r in folder.refs] == [r.id for r in listed.refs]
        assert list(folder.labels) == list(listed.labels)
        assert all(r.path.is_symlink() and r.path.resolve().exists() for r in folder.refs)


def test_unlabelled_folder_splits_at_random_and_refuses_folders(tmp_path):
    from tests.score.helpers import write_patch_folder

    write_patch_folder(tmp_path / "plain", 10)
    result = run("split", tmp_path / "plain", "--val", "0.3", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    val = read(tmp_path / "s" / "val.csv")
    assert len(val) == 3 and set(val[0]) == {"path", "id"} and "random" in result.stdout
    assert open_labelled(tmp_path / "s" / "val.csv").labels is None
    refused = run("split", tmp_path / "plain", "--out", tmp_path / "t", "--folders")
    assert refused.exit_code == 1 and "--folders needs labelled patches" in refused.stderr
    assert not (tmp_path / "t").exists()  # refused before writing anything
