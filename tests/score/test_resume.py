"""Interrupted runs: rows kept in FILE.partial, --resume scores the rest, the file is the same."""

from __future__ import annotations

import pytest

from hcd_edge.errors import DataError
from hcd_edge.score import partial as score_partial
from hcd_edge.score.output import OutputFormat
from hcd_edge.score.partial import partial_path
from hcd_edge.score.run import ScoreInterrupted, ScoreRequest, score


def request(folder, out, engine_dir, **options):
    return ScoreRequest(inputs=(folder,), out=out, engine=engine_dir, batch=4, threads=1,
                        recursive=True, **options)


def interrupt_after(monkeypatch, batches: int) -> None:
    """Make the run stop with Ctrl-C once `batches` lines of rows were saved."""
    original = score_partial.PartialLog.append
    calls = []

    def append(self, rows):
        if rows and len(calls) == batches:
            raise KeyboardInterrupt
        if rows:
            calls.append(len(rows))
        original(self, rows)

    monkeypatch.setattr(score_partial.PartialLog, "append", append)


def interrupted(monkeypatch, batches: int, *args, **kwargs) -> ScoreInterrupted:
    """Run score(request(*args, **kwargs)) until Ctrl-C after `batches` saved lines; the stop."""
    with monkeypatch.context() as patch:
        interrupt_after(patch, batches)
        with pytest.raises(ScoreInterrupted) as stop:
            score(request(*args, **kwargs))
    return stop.value


@pytest.mark.parametrize("fmt", [OutputFormat.CSV, OutputFormat.KAGGLE, OutputFormat.JSONL])
def test_resume_after_ctrl_c_writes_the_uninterrupted_files(tmp_path, messy_folder, engine_dir,
                                                            monkeypatch, fmt):
    whole = score(request(messy_folder, tmp_path / "whole.out", engine_dir, fmt=fmt))
    out = tmp_path / "resumed.out"
    stop = interrupted(monkeypatch, 2, messy_folder, out, engine_dir, fmt=fmt)
    assert stop.saved == 8 and stop.partial == partial_path(out)
    assert not out.exists() and partial_path(out).exists()
    assert not list(tmp_path.glob(".resumed.out*.tmp"))  # the live render dropped its temporary file
    resumed = score(request(messy_folder, out, engine_dir, fmt=fmt, resume=True))
    assert resumed.resumed == 8 and resumed.summary["counts"]["resumed"] == 8
    for a, b in zip(whole.outputs, resumed.outputs, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert not partial_path(out).exists()


def test_a_torn_last_line_is_scored_again(tmp_path, good_folder, engine_dir, monkeypatch):
    score(request(good_folder, tmp_path / "whole.csv", engine_dir))
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 2, good_folder, out, engine_dir)
    with open(partial_path(out), "a") as fh:
        fh.write('{"rows": [["/x/p.tif", "p", "0.5')  # a kill in the middle of a write
    result = score(request(good_folder, out, engine_dir, resume=True))
    assert result.resumed == 8
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_a_leftover_partial_is_not_overwritten_without_resume(tmp_path, good_folder, engine_dir,
                                                            monkeypatch):
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 1, good_folder, out, engine_dir)
    before = partial_path(out).read_bytes()
    with pytest.raises(DataError, match=r"s\.csv\.partial holds rows .* add --resume"):
        score(request(good_folder, out, engine_dir))
    assert partial_path(out).read_bytes() == before


def test_resume_with_other_options_is_refused_naming_both(tmp_path, good_folder, engine_dir,
                                                        monkeypatch):
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 1, good_folder, out, engine_dir)
    with pytest.raises(DataError, match=r"--threshold 0\.2.*this run uses .*--threshold 0\.9"):
        score(request(good_folder, out, engine_dir, resume=True, threshold=0.9))


def test_a_file_that_is_not_a_partial_is_refused(tmp_path, good_folder, engine_dir):
    out = tmp_path / "s.csv"
    partial_path(out).write_text("id,probability\n")
    with pytest.raises(DataError, match="not an hcd-edge partial file"):
        score(request(good_folder, out, engine_dir, resume=True))


def test_resume_without_a_partial_scores_everything(tmp_path, good_folder, engine_dir):
    result = score(request(good_folder, tmp_path / "s.csv", engine_dir, resume=True))
    assert result.resumed == 0 and result.counts.scored == 45


def test_ctrl_c_before_any_row_leaves_nothing_behind(tmp_path, good_folder, engine_dir, monkeypatch):
    out = tmp_path / "s.csv"
    interrupt_after(monkeypatch, 0)
    with pytest.raises(ScoreInterrupted) as stop:
        score(request(good_folder, out, engine_dir))
    assert stop.value.saved == 0
    assert not out.exists() and not partial_path(out).exists()


def test_resume_after_files_were_added_still_writes_every_row_in_path_order(tmp_path, good_folder,
                                                                          engine_dir, monkeypatch):
    import shutil

    folder = tmp_path / "growing"
    shutil.copytree(good_folder, folder)
    out = tmp_path / "s.csv"
    interrupted(monkeypatch, 2, folder, out, engine_dir)
    shutil.copy(folder / "p00040.tif", folder / "a-first.tif")  # sorts before all scored rows
    (folder / "p00001.tif").unlink()  # scored before the interruption, gone now
    resumed = score(request(folder, out, engine_dir, resume=True))
    fresh = score(request(folder, tmp_path / "fresh.csv", engine_dir))
    assert resumed.resumed == 7 and resumed.counts.total == fresh.counts.total == 45
    assert out.read_bytes() == (tmp_path / "fresh.csv").read_bytes()


def test_resume_removes_the_temporary_outputs_a_killed_run_left(tmp_path, messy_folder, engine_dir, monkeypatch):
    out = tmp_path / "k.csv"
    interrupted(monkeypatch, 2, messy_folder, out, engine_dir, fmt=OutputFormat.KAGGLE)
    # a kill (unlike Ctrl-C) leaves the live render's temporary files behind
    leftovers = [tmp_path / ".k.csv.a1b2c3d4.tmp", tmp_path / ".k.csv.errors.csv.zz_9xy01.tmp"]
    others = [tmp_path / ".k.csv.notmine.tmp", tmp_path / "k.csv.a1b2c3d4.tmp", tmp_path / ".j.csv.a1b2c3d4.tmp"]
    for path in leftovers + others:
        path.write_text("half a file")
    score(request(messy_folder, out, engine_dir, fmt=OutputFormat.KAGGLE, resume=True))
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in others)
