"""Outputs rendered live as batches finish (a fresh run into files) or from the partial log."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import hcd_edge.score.run as run_module
from hcd_edge.score.output import OutputFormat
from hcd_edge.score.render import LiveRender, RenderPlan
from hcd_edge.score.rows import RowBatch
from hcd_edge.score.run import ScoreRequest, score


def _request(folder, out, engine_dir, **options):
    return ScoreRequest(inputs=(folder,), out=out, engine=engine_dir, batch=3, threads=1, recursive=True,
                        **options)


class _FailingRender(LiveRender):
    """A live render that fails at its first batch, as a full disk would."""

    def _render(self) -> None:
        self.failed = OSError(28, "No space left on device")
        super()._render()


@pytest.mark.parametrize("fmt", [OutputFormat.CSV, OutputFormat.KAGGLE, OutputFormat.JSONL])
def test_a_fresh_run_renders_live_and_never_reads_its_log_back(tmp_path, messy_folder, engine_dir,
                                                              monkeypatch, fmt):
    def never(self, log):
        raise AssertionError("rendered from the log")

    monkeypatch.setattr(RenderPlan, "from_log", never)
    result = score(_request(messy_folder, tmp_path / "live.out", engine_dir, fmt=fmt))
    assert result.counts.total == 17 and result.counts.failed > 0
    assert result.summary["microseconds_per_patch"]["render"] > 0
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("fmt", [OutputFormat.CSV, OutputFormat.KAGGLE])
def test_when_live_rendering_fails_the_outputs_come_from_the_log_byte_for_byte(tmp_path, messy_folder,
                                                                              engine_dir, monkeypatch, fmt):
    live = score(_request(messy_folder, tmp_path / "live.out", engine_dir, fmt=fmt))
    monkeypatch.setattr(run_module, "LiveRender", _FailingRender)
    logged = score(_request(messy_folder, tmp_path / "logged.out", engine_dir, fmt=fmt))
    for a, b in zip(live.outputs, logged.outputs, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert logged.counts == live.counts


def test_a_stream_target_gets_its_rows_from_the_log_after_the_run(tmp_path, good_folder, engine_dir, monkeypatch):
    started = []
    monkeypatch.setattr(run_module, "LiveRender", lambda plan: started.append(plan))
    out = tmp_path / "pipe"
    os.mkfifo(out)
    received = []

    def read() -> None:
        with open(out, "rb") as fh:
            received.append(fh.read())

    reader = threading.Thread(target=read)
    reader.start()
    result = score(_request(good_folder, out, engine_dir))
    reader.join(timeout=30)
    assert not started and received[0].count(b"\n") == result.counts.total + 1


def _batch(paths):
    return RowBatch(list(paths), np.full(len(paths), 500_000, np.int64), np.zeros(len(paths), np.int32))


def test_live_render_writes_rows_in_order_and_drops_its_file_when_they_come_out_of_order(tmp_path):
    plan = RenderPlan(["/d/a.tif", "/d/b.tif", "/d/c.tif"], {}, 0.5, tmp_path / "s.csv", OutputFormat.CSV)
    render = LiveRender(plan)
    render.put(_batch(["/d/a.tif", "/d/b.tif"]))
    render.put(_batch(["/d/c.tif"]))
    counts = render.finish()
    assert counts is not None and counts.total == 3 and counts.positive == 3
    assert (tmp_path / "s.csv").read_text().splitlines()[1:] == ["a,0.500000,1,0,", "b,0.500000,1,0,",
                                                                   "c,0.500000,1,0,"]
    wrong = LiveRender(RenderPlan(plan.paths, {}, 0.5, tmp_path / "w.csv", OutputFormat.CSV))
    wrong.put(_batch(["/d/b.tif"]))
    wrong.put(_batch(["/d/a.tif"]))  # ignored: rendering already failed
    assert wrong.finish() is None and wrong.failed is not None
    assert not (tmp_path / "w.csv").exists() and not list(tmp_path.glob(".*.tmp"))


def test_an_aborted_live_render_leaves_no_file(tmp_path):
    plan = RenderPlan(["/d/a.tif", "/d/b.tif"], {}, 0.5, tmp_path / "s.csv", OutputFormat.CSV)
    render = LiveRender(plan)
    render.put(_batch(["/d/a.tif"]))
    render.abort()
    render.abort()  # idempotent
    assert not (tmp_path / "s.csv").exists() and not list(tmp_path.glob(".*.tmp"))
