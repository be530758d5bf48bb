"""A clean Kaggle submission gets no FILE.errors.csv (and loses a stale one); failures get one."""

from __future__ import annotations

from hcd_edge.score.output import OutputFormat, errors_path
from hcd_edge.score.run import ScoreRequest, score


def _request(folder, out, engine_dir):
    return ScoreRequest(inputs=(folder,), out=out, fmt=OutputFormat.KAGGLE, engine=engine_dir,
                        batch=8, threads=1, recursive=True)


def test_clean_submission_writes_no_errors_file(tmp_path, good_folder, engine_dir):
    out = tmp_path / "submission.csv"
    errors_path(out).write_text("id,status,message\nold,3,stale\n")  # from an earlier run
    result = score(_request(good_folder, out, engine_dir))
    assert result.outputs == [out] and not errors_path(out).exists()
    assert out.read_text().startswith("id,label\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submission.csv"]  # no temporary left


def test_failures_go_to_the_errors_file(tmp_path, messy_folder, engine_dir):
    out = tmp_path / "submission.csv"
    result = score(_request(messy_folder, out, engine_dir))
    assert result.outputs == [out, errors_path(out)]
    lines = errors_path(out).read_text().splitlines()
    assert lines[0] == "id,status,message" and len(lines) - 1 == result.counts.failed > 0
