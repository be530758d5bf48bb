"""score(): one row per path in path order, formats, thresholds, invariance, bad inputs, summary."""

from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pytest
import tifffile

from hcd_edge.errors import DataError, EngineMismatchError
from hcd_edge.score.output import OutputFormat
from hcd_edge.score.partial import partial_path
from hcd_edge.score.run import ScoreRequest, score
from hcd_edge.score.tta import Tta
from tests.score.helpers import BAD_INPUTS, make_tiny_engine, reference_probabilities


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def run(tmp_path, inputs, engine_dir, name="scores.csv", **options):
    out = tmp_path / name
    result = score(ScoreRequest(inputs=tuple(inputs), out=out, engine=engine_dir, threads=1, **options))
    return result, out


def test_every_path_gets_one_row_sorted_by_path_with_status_and_message(tmp_path, messy_folder, engine_dir):
    result, out = run(tmp_path, [messy_folder], engine_dir, recursive=True)
    rows = read_csv(out)
    paths = sorted(p for p in messy_folder.rglob("*.tif"))
    assert [r["id"] for r in rows] == [p.stem for p in paths]
    by_path = dict(zip(paths, rows))
    for name, status in BAD_INPUTS.items():
        row = by_path[messy_folder / name]
        assert int(row["status"]) == status and row["probability"] == row["label"] == ""
        assert str(messy_folder / name) in row["message"]
    assert "collides with" in by_path[messy_folder / "sub/p00003.tif"]["message"]
    good = [r for r in rows if r["status"] == "0"]
    assert len(good) == 10 and all(r["message"] == "" and r["label"] in ("0", "1") for r in good)
    assert (result.counts.total, result.counts.scored, result.counts.failed) == (17, 10, 7)
    assert not partial_path(out).exists()


def test_probabilities_and_labels_match_direct_onnxruntime(tmp_path, good_folder, engine_dir):
    _, out = run(tmp_path, [good_folder], engine_dir)
    paths = sorted(good_folder.glob("*.tif"))
    expected = reference_probabilities(engine_dir / "model.onnx", np.stack([tifffile.imread(p) for p in paths]))
    rows = read_csv(out)
    assert [float(r["probability"]) for r in rows] == pytest.approx(expected, abs=1e-6)
    assert [r["label"] for r in rows] == ["1" if p >= 0.2 else "0" for p in np.round(expected, 9)]


def test_threshold_comes_from_the_manifest_unless_given(tmp_path, good_folder, engine_dir):
    default, _ = run(tmp_path, [good_folder], engine_dir)
    lowered, out = run(tmp_path, [good_folder], engine_dir, name="low.csv", threshold=0.0)
    assert default.summary["threshold"] == 0.2 and lowered.summary["threshold"] == 0.0
    assert lowered.counts.positive == 45 > default.counts.positive
    assert {r["label"] for r in read_csv(out)} == {"1"}


def test_output_bytes_identical_across_batch_sizes_and_threads(tmp_path, messy_folder, engine_dir):
    outputs = []
    for i, (batch, threads) in enumerate([(1, 1), (3, 2), (64, 1), (7, 2)]):
        out = tmp_path / f"s{i}.csv"
        score(ScoreRequest(inputs=(messy_folder,), out=out, engine=engine_dir, batch=batch,
                           threads=threads, recursive=True))
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs[1:])


def test_kaggle_format_lists_scored_patches_and_failures_apart(tmp_path, messy_folder, engine_dir):
    _, csv_out = run(tmp_path, [messy_folder], engine_dir)
    result, out = run(tmp_path, [messy_folder], engine_dir, name="submission.csv", fmt=OutputFormat.KAGGLE)
    assert result.outputs == [out, tmp_path / "submission.csv.errors.csv"]
    submission = read_csv(out)
    errors = read_csv(result.outputs[1])
    reference = read_csv(csv_out)
    assert list(submission[0]) == ["id", "label"] and list(errors[0]) == ["id", "status", "message"]
    assert [(r["id"], r["label"]) for r in submission] == [
        (r["id"], r["probability"]) for r in reference if r["status"] == "0"]
    assert [r["id"] for r in errors] == [r["id"] for r in reference if r["status"] != "0"]


def test_jsonl_carries_the_csv_fields(tmp_path, messy_folder, engine_dir):
    _, csv_out = run(tmp_path, [messy_folder], engine_dir)
    _, out = run(tmp_path, [messy_folder], engine_dir, name="s.jsonl", fmt=OutputFormat.JSONL)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    for record, row in zip(records, read_csv(csv_out), strict=True):
        assert record["id"] == row["id"] and record["status"] == int(row["status"])
        assert record["message"] == row["message"]
        if row["status"] == "0":
            assert record["probability"] == float(row["probability"]) and record["label"] == int(row["label"])
        else:
            assert record["probability"] is None and record["label"] is None


def test_tta_changes_probabilities_but_not_rows(tmp_path, good_folder, engine_dir):
    _, plain_out = run(tmp_path, [good_folder], engine_dir)
    flip, flip_out = run(tmp_path, [good_folder], engine_dir, name="flip.csv", tta=Tta.FLIP)
    assert flip.summary["tta"] == "flip" and flip.summary["engine_batch_rows"] == 2 * flip.summary["batch"]
    a, b = read_csv(plain_out), read_csv(flip_out)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert [r["probability"] for r in a] != [r["probability"] for r in b]


def test_list_files_and_single_files_are_inputs_too(tmp_path, good_folder, engine_dir):
    paths = sorted(good_folder.glob("*.tif"))
    listing = tmp_path / "list.txt"
    listing.write_text("# two patches\n" + "\n".join(str(p) for p in paths[:2]) + "\n")
    result, out = run(tmp_path, [listing, paths[5]], engine_dir)
    assert [r["id"] for r in read_csv(out)] == [paths[0].stem, paths[1].stem, paths[5].stem]
    assert result.counts.failed == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod 000 does not stop root reading")
def test_unreadable_file_gets_a_row(tmp_path, good_folder, engine_dir):
    folder = tmp_path / "locked"
    shutil.copytree(good_folder, folder)
    locked = folder / "p00002.tif"
    locked.chmod(0)
    try:
        result, out = run(tmp_path, [folder], engine_dir)
    finally:
        locked.chmod(0o644)
    row = next(r for r in read_csv(out) if r["id"] == "p00002")
    assert row["status"] == "1" and "cannot open" in row["message"] and result.counts.failed == 1


def test_summary_file_has_counts_engine_rates_and_stage_seconds(tmp_path, messy_folder, engine_dir):
    summary_file = tmp_path / "summary.json"
    result, out = run(tmp_path, [messy_folder], engine_dir, summary=summary_file, batch=4)
    summary = json.loads(summary_file.read_text())
    assert summary == result.summary
    assert summary["counts"] == {"total": 16, "scored": 10, "failed": 6, "positive": result.counts.positive,
                                 "resumed": 0}
    assert summary["backend"] == "onnxruntime" and summary["precision"] == "fp32"
    assert summary["batch"] == 4 and summary["threads"] == 1 and summary["engine"] == str(engine_dir)
    assert summary["wall_seconds"] > 0 and summary["patches_per_second"] > 0
    assert set(summary["stages"]) >= {"decode", "copy", "inference", "write"}
    assert summary["outputs"] == [str(out)]


def test_batch_defaults_to_the_engines_optimal_batch(tmp_path, good_folder):
    engine = make_tiny_engine(tmp_path / "opt-16", max_batch=256)  # built as --batch 1:16:256
    default, _ = run(tmp_path, [good_folder], engine, name="default.csv")
    asked, _ = run(tmp_path, [good_folder], engine, name="asked.csv", batch=5)
    assert default.summary["batch"] == 16 and default.summary["engine_batch_rows"] == 16
    assert asked.summary["batch"] == 5


def test_no_patches_is_a_configuration_error_naming_the_folder(tmp_path, engine_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no patches .* found in .*empty \(add --recursive"):
        run(tmp_path, [tmp_path / "empty"], engine_dir)


def test_bad_output_paths_are_refused_before_scoring(tmp_path, good_folder, engine_dir):
    with pytest.raises(DataError, match="is a directory"):
        score(ScoreRequest(inputs=(good_folder,), out=tmp_path, engine=engine_dir))
    with pytest.raises(DataError, match="does not exist; create it first"):
        score(ScoreRequest(inputs=(good_folder,), out=tmp_path / "nope" / "s.csv", engine=engine_dir))


def test_engine_that_cannot_open_leaves_no_output_and_no_partial(tmp_path, good_folder, engine_dir):
    damaged = shutil.copytree(engine_dir, tmp_path / "damaged")
    with open(damaged / "model.onnx", "ab") as fh:
        fh.write(b"x")
    out = tmp_path / "s.csv"
    with pytest.raises(EngineMismatchError, match="does not match the manifest"):
        score(ScoreRequest(inputs=(good_folder,), out=out, engine=damaged))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged"]


def test_outputs_stream_from_the_partial_file_without_sorting_in_memory(tmp_path, messy_folder,
                                                                      engine_dir, monkeypatch):
    from hcd_edge.score.render import RenderPlan

    def never(*args):
        raise AssertionError("rows were loaded into memory to be sorted")

    monkeypatch.setattr(RenderPlan, "_sorted", never)
    result, out = run(tmp_path, [messy_folder], engine_dir, recursive=True, batch=3)
    assert result.counts.total == 17 and len(read_csv(out)) == 17
