"""benchmarks/null_engine.py: within null_engine_for, score() runs the null executor."""

from __future__ import annotations

import csv

import numpy as np

from benchmarks.null_engine import NullExecutor, null_engine_for
from hcd_edge.backends.engine_folder import EngineFolder
from hcd_edge.decode import read_patch
from hcd_edge.score.run import ScoreRequest, score


def test_score_inside_null_engine_for_uses_the_null_executor_and_only_there(tmp_path, engine_dir, good_folder):
    with null_engine_for(engine_dir):
        with EngineFolder.open(engine_dir).executor() as executor:
            assert isinstance(executor, NullExecutor)
        score(ScoreRequest(inputs=(good_folder,), out=tmp_path / "null.csv", engine=engine_dir))
    with EngineFolder.open(engine_dir).executor() as executor:
        assert not isinstance(executor, NullExecutor)
    with open(tmp_path / "null.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 45
    spec = EngineFolder.open(engine_dir).manifest.preprocess
    first = min(good_folder.glob("*.tif"))
    centre = (read_patch(first)[48, 48, 0] / 255.0 - spec.mean[0]) / spec.std[0]
    expected = 1.0 / (1.0 + np.exp(-centre))
    assert abs(float(rows[0]["probability"]) - expected) < 1e-5
