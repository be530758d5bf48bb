"""A clean Kaggle submission gets no FILE.errors.csv (and loses a stale one); failures get one."""

from __future__ import annotations

from hcd_edge.score.output import OutputFormat, errors_path, write_outputs
from hcd_edge.score.rows import Row

GOOD = Row("a.tif", "a", "0.100000", "0", 0, "")
BAD = Row("b.tif", "b", "", "", 3, "not a TIFF file: b.tif")


def test_clean_submission_writes_no_errors_file(tmp_path):
    out = tmp_path / "submission.csv"
    errors_path(out).write_text("id,status,message\nold,3,stale\n")  # from an earlier run
    assert write_outputs([GOOD], out, OutputFormat.KAGGLE) == [out]
    assert out.read_text() == "id,label\na,0.100000\n"
    assert not errors_path(out).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]  # no temporary left


def test_failures_go_to_the_errors_file(tmp_path):
    out = tmp_path / "submission.csv"
    assert write_outputs([GOOD, BAD], out, OutputFormat.KAGGLE) == [out, errors_path(out)]
    assert errors_path(out).read_text() == "id,status,message\nb,3,not a TIFF file: b.tif\n"
    assert out.read_text() == "id,label\na,0.100000\n"
