"""Scoring real Kaggle patches from ../shared/data end to end (skipped when the data is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import tifffile

from hcd_edge.score.default_engine import packaged_starter
from hcd_edge.score.run import ScoreRequest, score
from tests.realdata import real_patch_dir
from tests.score.helpers import reference_probabilities

N_REAL = 500

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def real_list(tmp_path_factory):
    """A path list of the first 500 real patches of train_labels.csv, and their labels."""
    root = real_patch_dir()
    with open(root / "train_labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:N_REAL]
    listing = tmp_path_factory.mktemp("real") / "real.csv"
    with open(listing, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path"])
        writer.writerows([[str(root / "train" / f"{r['id']}.tif")] for r in rows])
    return listing, {r["id"]: int(r["label"]) for r in rows}


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_500_real_patches_score_like_direct_tifffile_and_onnxruntime(real_list, engine_dir, tmp_path):
    listing, labels = real_list
    out = tmp_path / "real.csv"
    result = score(ScoreRequest(inputs=(listing,), out=out, engine=engine_dir, batch=64))
    rows = read_rows(out)
    assert result.counts.total == result.counts.scored == N_REAL
    assert sorted(r["id"] for r in rows) == sorted(labels)
    paths = sorted(Path(line) for line in listing.read_text().splitlines()[1:])
    expected = reference_probabilities(engine_dir / "model.onnx", np.stack([tifffile.imread(p) for p in paths]))
    assert [float(r["probability"]) for r in rows] == pytest.approx(expected, abs=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(not packaged_starter().is_file(), reason="the starter model is not trained yet")
def test_starter_engine_out_of_the_box_separates_real_tumour_patches(real_list, tmp_path):
    from sklearn.metrics import roc_auc_score

    listing, labels = real_list
    result = score(ScoreRequest(inputs=(listing,), out=tmp_path / "s.csv"))
    rows = read_rows(tmp_path / "s.csv")
    assert result.summary["default_engine"] and result.counts.scored == N_REAL
    auc = roc_auc_score([labels[r["id"]] for r in rows], [float(r["probability"]) for r in rows])
    assert auc > 0.8, f"starter engine AUC {auc:.3f} on {N_REAL} real patches"
