"""Batches reach the log writer in groups when they come fast (a GPU's pace) and one by one when
slow; a group is whole batches, so --resume lines up, and held rows survive a Ctrl-C."""

from __future__ import annotations

import json
import time

import pytest

from hcd_edge.score import partial as score_partial
from hcd_edge.score import run as score_run
from hcd_edge.score.partial import partial_path
from hcd_edge.score.pipeline import ScoringPipeline
from hcd_edge.score.run import ScoreInterrupted, ScoreRequest, _Handoff, score


class _Batch:
    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


def test_fast_batches_are_held_until_the_rows_are_reached():
    held = _Handoff(rows=8, seconds=60.0)
    first, second, third = _Batch(4), _Batch(4), _Batch(4)
    assert held.add(first) is None and held.pending
    assert held.add(second) == [first, second] and not held.pending
    assert held.add(third) is None and held.take() == [third] and not held.pending


def test_a_slow_batch_goes_at_once():
    held = _Handoff(rows=1000, seconds=0.05)
    time.sleep(0.06)  # the engine took longer than the hand-off interval
    batch = _Batch(4)
    assert held.add(batch) == [batch]
    assert _Handoff(rows=1000, seconds=0.0).add(batch) == [batch]


def _request(folder, out, engine_dir, **options):
    return ScoreRequest(inputs=(folder,), out=out, engine=engine_dir, batch=4, threads=1, **options)


def _line_sizes(path):
    return [len(json.loads(line)["path"]) for line in path.read_text().splitlines()[1:]]


def test_grouped_lines_hold_whole_batches_and_resume_to_the_same_file(
        tmp_path, good_folder, engine_dir, monkeypatch):
    whole = score(_request(good_folder, tmp_path / "whole.csv", engine_dir))
    monkeypatch.setattr(score_run, "HANDOFF_SECONDS", 60.0)
    monkeypatch.setattr(score_run, "HANDOFF_ROWS", 12)
    original, lines = score_partial.PartialLog.append, []

    def append(self, rows):
        if len(lines) == 2:
            raise KeyboardInterrupt
        lines.append(len(rows))
        original(self, rows)

    out = tmp_path / "resumed.csv"
    with monkeypatch.context() as patch:
        patch.setattr(score_partial.PartialLog, "append", append)
        with pytest.raises(ScoreInterrupted) as stop:
            score(_request(good_folder, out, engine_dir))
    assert lines == [12, 12] and _line_sizes(partial_path(out)) == [12, 12]  # three batches a line
    assert stop.value.saved == 24
    resumed = score(_request(good_folder, out, engine_dir, resume=True))
    assert resumed.resumed == 24
    assert out.read_bytes() == whole.outputs[0].read_bytes()


def test_held_rows_are_saved_when_ctrl_c_stops_the_pipeline(tmp_path, good_folder, engine_dir, monkeypatch):
    monkeypatch.setattr(score_run, "HANDOFF_SECONDS", 60.0)
    monkeypatch.setattr(score_run, "HANDOFF_ROWS", 10_000)
    run = ScoringPipeline.run

    def three_batches_then_ctrl_c(self, paths, fill=None):
        for i, result in enumerate(run(self, paths, fill)):
            if i == 3:
                raise KeyboardInterrupt
            yield result

    monkeypatch.setattr(ScoringPipeline, "run", three_batches_then_ctrl_c)
    out = tmp_path / "s.csv"
    with pytest.raises(ScoreInterrupted) as stop:
        score(_request(good_folder, out, engine_dir))
    assert stop.value.saved == 12 and _line_sizes(partial_path(out)) == [12]
