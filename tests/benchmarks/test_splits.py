"""benchmarks.splits: the starter's own split reproduced from its provenance, so benchmark AUCs
are measured on patches the model never trained on."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.splits import folder_name, starter_split
from hcd_edge.score.sources import open_patch_set
from hcd_edge.synthetic import write_synthetic_set
from hcd_edge.train.prepare import prepare_data
from tests.train.conftest import tiny_config


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    """Two disjoint generated Kaggle folders side by side, as the data cache holds them."""
    root = tmp_path_factory.mktemp("cache")
    write_synthetic_set(root / "first", 80, seed=11)
    write_synthetic_set(root / "second", 70, seed=12)
    return root / "first", root / "second"


def _ids(folder: Path) -> set[str]:
    return {ref.id for ref in open_patch_set(folder).refs}


def test_a_holdout_model_gets_its_own_holdout_and_training_rows(two_sets, tmp_path):
    first, second = two_sets
    trained = prepare_data(tiny_config((first, second), tmp_path / "run", holdout=30,
                                       holdout_from=second, val_fraction=0.25))
    folders = [{"source": open_patch_set(f).source} for f in (first, second)]
    split = starter_split(first, tmp_path / "work", {**trained.provenance, "data": {"folders": folders}})
    assert _ids(split.val) == set(trained.holdout.ids)
    assert _ids(split.train) == set(trained.train.ids)
    assert split.about == "the untouched holdout (30 of second, seed 0)"


def test_a_single_set_model_keeps_its_validation_split(two_sets, tmp_path):
    first, _ = two_sets
    trained = prepare_data(tiny_config(first, tmp_path / "run", val_fraction=0.25))
    folders = [{"source": open_patch_set(first).source}]
    split = starter_split(first, tmp_path / "work", {**trained.provenance, "data": {"folders": folders}})
    assert _ids(split.val) == set(trained.val.ids) and _ids(split.train) == set(trained.train.ids)
    assert split.about == "the validation split of first (seed 0, 25%)"


def test_a_missing_holdout_folder_is_said_to_overlap_training(two_sets, tmp_path):
    first, _ = two_sets
    split = {"seed": 0, "val_fraction": 0.25, "holdout_from": "absent", "n_holdout": 30}
    folders = [{"source": open_patch_set(first).source}, {"source": "kaggle layout absent (train_labels.csv)"}]
    found = starter_split(first, tmp_path / "work", {"split": split, "data": {"folders": folders}})
    assert "may include its training patches" in found.about


def test_folder_name_reads_the_patch_set_description():
    assert folder_name("kaggle layout /data/pcam-real-extra (train_labels.csv)") == "pcam-real-extra"
    assert folder_name("kaggle layout pcam-real-5k (train_labels.csv)") == "pcam-real-5k"
