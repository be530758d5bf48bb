"""Hostile and careless inputs (issue 11 items 4, 9, 10, 11, 13; issue 18 point 3): every name
the OS can hold gets its row, CSV stays parseable, list files are read as people write them, a
damaged partial file is refused naming the line, and a list that is not a list is refused."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest

from hcd_edge.decode import DecodeStatus
from hcd_edge.errors import DataError
from hcd_edge.score.output import OutputFormat, errors_path
from hcd_edge.score.partial import partial_path
from hcd_edge.score.run import ScoreRequest, score
from hcd_edge.score.summary import summary_text
from tests.score.test_resume import interrupted


def run(tmp_path, inputs, engine_dir, name="scores.csv", **options):
    out = tmp_path / name
    result = score(ScoreRequest(inputs=tuple(inputs), out=out, engine=engine_dir, threads=1, **options))
    return result, out


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture()
def odd_names(tmp_path, good_folder):
    """good patches plus one named with a byte that is not UTF-8 and one with a carriage return."""
    folder = tmp_path / "odd"
    shutil.copytree(good_folder, folder)
    data = (good_folder / "p00000.tif").read_bytes()
    for raw in (b"a_bad\xffname.tif", b"q_cr\rname.tif"):
        with open(os.path.join(os.fsencode(folder), raw), "wb") as fh:
            fh.write(data)
    return folder


BAD_ID = "a_bad\\xffname"  # the documented spelling: each undecodable byte as \xNN


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_a_name_that_is_not_utf8_gets_its_row_with_the_same_id_in_every_format(tmp_path, odd_names,
                                                                               engine_dir, fmt):
    result, out = run(tmp_path, [odd_names], engine_dir, fmt=fmt)
    assert result.counts.total == 47 and result.counts.failed == 0
    if fmt is OutputFormat.JSONL:
        ids = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    else:
        ids = [r["id"] for r in csv_rows(out)]
    assert ids[0] == BAD_ID and ids.count(BAD_ID) == 1
    if fmt is OutputFormat.KAGGLE:
        assert not errors_path(out).exists()  # nothing failed: no errors file


def test_a_name_that_is_not_utf8_survives_an_interruption_and_resume(tmp_path, odd_names, engine_dir,
                                                                     monkeypatch):
    _, whole_out = run(tmp_path, [odd_names], engine_dir, name="whole.csv", batch=4)
    out = tmp_path / "s.csv"
    stop = interrupted(monkeypatch, 2, odd_names, out, engine_dir)
    assert stop.saved == 8 and "\\udcff" in partial_path(out).read_text(encoding="ascii")
    resumed = score(ScoreRequest(inputs=(odd_names,), out=out, engine=engine_dir, batch=4, threads=1,
                                 recursive=True, resume=True))
    assert resumed.counts.total == 47 and resumed.resumed == 8
    assert out.read_bytes() == whole_out.read_bytes()


def test_a_carriage_return_in_a_name_is_quoted_in_csv(tmp_path, odd_names, engine_dir):
    _, out = run(tmp_path, [odd_names], engine_dir)
    rows = csv_rows(out)
    assert len(rows) == 47
    assert "q_cr\rname" in [r["id"] for r in rows]
    assert b'"q_cr\rname"' in out.read_bytes()


@pytest.mark.parametrize("text", ["\ufeffpath\n{p}\n", "\ufeff{p}\n"], ids=["csv-header", "no-header"])
def test_a_list_starting_with_a_utf8_bom_reads_like_one_without(tmp_path, good_folder, engine_dir, text):
    for suffix in (".csv", ".txt"):
        listing = tmp_path / f"list{suffix}"
        listing.write_text(text.format(p=good_folder / "p00001.tif"), encoding="utf-8")
        result, out = run(tmp_path, [listing], engine_dir)
        assert [r["id"] for r in csv_rows(out)] == ["p00001"] and result.counts.failed == 0


def test_a_directory_named_like_a_patch_is_a_patch_input_also_as_an_argument(tmp_path, good_folder,
                                                                              engine_dir):
    odd = tmp_path / "x.tif"
    odd.mkdir()
    shutil.copy(good_folder / "p00002.tif", odd / "inner.tif")
    result, out = run(tmp_path, [odd, good_folder / "p00003.tif"], engine_dir)
    rows = {r["id"]: r for r in csv_rows(out)}
    assert set(rows) == {"x", "p00003"}
    assert int(rows["x"]["status"]) == DecodeStatus.NOT_A_FILE and "x.tif" in rows["x"]["message"]
    assert result.counts.failed == 1


@pytest.mark.parametrize(("edit", "fault"), [
    (lambda r: r["p"].__setitem__(1, "not-a-number"), r"row 2: probability 'not-a-number'"),
    (lambda r: r["p"].__setitem__(0, 2_000_000), r"row 1: probability 2000000"),
    (lambda r: r["status"].__setitem__(2, 7), r"row 3: status 7"),
    (lambda r: r["status"].__setitem__(0, 3), r"row 1: a failed patch"),
    (lambda r: r["path"].pop(), r"has columns of different lengths"),
    (lambda r: r.update(extra=1), r"has the fields"),
])
def test_every_partial_row_is_checked_on_resume_and_a_bad_one_refused_naming_the_line(
        tmp_path, good_folder, engine_dir, monkeypatch, edit, fault):
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 3, good_folder, out, engine_dir)
    lines = partial_path(out).read_text().splitlines(keepends=True)
    record = json.loads(lines[2])
    edit(record)
    lines[2] = json.dumps(record) + "\n"
    partial_path(out).write_text("".join(lines))
    with pytest.raises(DataError, match=rf"s\.csv\.partial:3 {fault}.*edited or damaged"):
        score(ScoreRequest(inputs=(good_folder,), out=out, engine=engine_dir, batch=4, threads=1,
                           recursive=True, resume=True))
    assert not out.exists()


def test_a_complete_line_that_is_not_json_is_refused_not_dropped(tmp_path, good_folder, engine_dir,
                                                                 monkeypatch):
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 3, good_folder, out, engine_dir)
    lines = partial_path(out).read_text().splitlines(keepends=True)
    lines[1] = lines[1][:20] + "\n"
    partial_path(out).write_text("".join(lines))
    with pytest.raises(DataError, match=r"s\.csv\.partial:2 is not JSON"):
        score(ScoreRequest(inputs=(good_folder,), out=out, engine=engine_dir, batch=4, threads=1,
                           recursive=True, resume=True))


def test_a_kaggle_labels_csv_scores_the_patches_it_names(tmp_path, good_folder, engine_dir):
    data = tmp_path / "kaggle"
    shutil.copytree(good_folder, data / "train")
    ids = ["p00004", "p00001", "p00007"]
    (data / "train_labels.csv").write_text("id,label\n" + "".join(f"{i},1\n" for i in ids))
    result, out = run(tmp_path, [data / "train_labels.csv"], engine_dir)
    assert [r["id"] for r in csv_rows(out)] == sorted(ids) and result.counts.failed == 0


def test_a_list_whose_rows_are_not_paths_is_refused_up_front(tmp_path, engine_dir):
    listing = tmp_path / "ids.csv"
    listing.write_text("name,value\nabc,1\ndef,0\n")
    out = tmp_path / "s.csv"
    with pytest.raises(DataError, match=r"ids\.csv: its rows are not patch paths \(the first is 'name'\)"):
        score(ScoreRequest(inputs=(listing,), out=out, engine=engine_dir, threads=1))
    assert not out.exists() and not partial_path(out).exists()


def test_a_run_that_scores_nothing_reports_no_rate(tmp_path, engine_dir):
    folder = tmp_path / "bad"
    folder.mkdir()
    for i in range(3):
        (folder / f"b{i}.tif").write_text("not a tiff")
    result, _ = run(tmp_path, [folder], engine_dir)
    assert result.counts.scored == 0 and result.counts.failed == 3
    assert result.summary["patches_per_second"] is None
    assert "patches/s" not in summary_text(result.summary)
