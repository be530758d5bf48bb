"""A watch process killed (-9) or terminated (SIGTERM), then restarted: exactly one row per file."""

from __future__ import annotations

import json
import signal

from hcd_edge.watch import WatchRequest, watch
from hcd_edge.watch.results import RESULTS_FILE, ResultsCsv
from hcd_edge.watch.rows import Row
from hcd_edge.watch.settle import file_version
from hcd_edge.watch.state import STATE_FILE, Outcome, StateDb
from tests.watch.helpers import (
    count_rows,
    drop,
    read_rows,
    rows_per_path,
    wait_until,
    watch_process,
)


def test_kill_9_mid_burst_then_restart_leaves_exactly_one_row_per_file(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    child = watch_process(incoming, out, engine_dir, "--settle", "0.1", "--batch", "16")
    try:
        wait_until(lambda: (out / "health.json").exists(), 60, "the watch process to start")
        paths = drop(incoming, [f"p{i:05d}.tif" for i in range(1500)], payloads)
        wait_until(lambda: count_rows(out) >= 100, 60, "the first rows", poll=0.01)
    finally:
        child.kill()  # SIGKILL: no cleanup at all, most likely in the middle of the burst
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    paths += drop(incoming, [f"q{i:05d}.tif" for i in range(100)], payloads)  # while it is down
    assert count_rows(out) < len(paths)
    report = watch(WatchRequest(incoming, out, engine=engine_dir, settle=0.1, once=True, threads=1))
    assert report.skipped + report.scored + report.errors == len(paths)
    counts = rows_per_path(out)
    assert len(counts) == len(paths) and set(counts.values()) == {1}
    assert all(r["status"] == "0" for r in read_rows(out))


def _append_recorded(results, state, path, scored_at):
    size = results.append([Row(str(path), path.stem, "0.5", "1", 0, "")], scored_at)
    state.record([Outcome(file_version(path), 0, scored_at)], size)
    return size


def test_rows_the_database_never_recorded_are_cut_and_their_files_rescored(tmp_path, payloads):
    # The window a kill -9 can hit: rows appended to results.csv, the transaction not committed.
    (path,) = drop(tmp_path / "in", ["p.tif"], payloads)
    out = tmp_path / "out"
    out.mkdir()
    state = StateDb(out / STATE_FILE)
    results = ResultsCsv(out / RESULTS_FILE, state)
    committed = results.size
    results.append([Row(str(path), "p", "0.5", "1", 0, "")], "2026-01-01T00:00:00.000Z")
    results._fh.write(b"half a li")  # a torn write, too
    results.close()
    reopened = ResultsCsv(out / RESULTS_FILE, state)
    assert reopened.size == committed and reopened.dropped_bytes > 0
    assert not state.is_recorded(file_version(path))
    _append_recorded(reopened, state, path, "2026-01-01T00:00:01.000Z")
    reopened.close()
    assert state.is_recorded(file_version(path))
    assert [r["scored_at"] for r in read_rows(out)] == ["2026-01-01T00:00:01.000Z"]
    state.close()


def test_rows_lost_from_the_csv_after_a_power_cut_are_forgotten_and_rescored(tmp_path, payloads):
    # No fsync per batch: a power cut may lose the newest rows the database already recorded.
    a, b, c = drop(tmp_path / "in", ["a.tif", "b.tif", "c.tif"], payloads)
    out = tmp_path / "out"
    out.mkdir()
    state = StateDb(out / STATE_FILE)
    results = ResultsCsv(out / RESULTS_FILE, state)
    _append_recorded(results, state, a, "t1")
    kept = _append_recorded(results, state, b, "t2")
    _append_recorded(results, state, c, "t3")
    results.close()
    with open(out / RESULTS_FILE, "r+b") as fh:  # what survived: a, b and half of c's row
        fh.truncate(kept + 7)
    ResultsCsv(out / RESULTS_FILE, state).close()
    assert (out / RESULTS_FILE).stat().st_size == kept == state.csv_bytes()
    assert state.is_recorded(file_version(a)) and state.is_recorded(file_version(b))
    assert not state.is_recorded(file_version(c))
    assert [r["path"] for r in read_rows(out)] == [str(a), str(b)]
    state.close()


def test_sigterm_finishes_the_batch_and_exits_0(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    child = watch_process(incoming, out, engine_dir, "--settle", "0.1", "--batch", "8")
    try:
        wait_until(lambda: (out / "health.json").exists(), 60, "the watch process to start")
        drop(incoming, [f"p{i:05d}.tif" for i in range(600)], payloads)
        wait_until(lambda: count_rows(out) >= 8, 60, "the first rows")
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, output.decode(errors="replace")
    health = json.loads((out / "health.json").read_text())
    assert health["state"] == "stopped"
    state = StateDb(out / STATE_FILE)  # every row written is recorded: no batch cut in half
    assert state.csv_bytes() == (out / RESULTS_FILE).stat().st_size
    assert sum(state.counts().values()) == count_rows(out) > 0
    state.close()
    assert b"INFO hcd_edge.watch: stopped" in output  # standard logging format on stderr


def test_recorded_among_finds_exactly_the_recorded_versions(tmp_path, payloads):
    paths = drop(tmp_path / "in", [f"p{i}.tif" for i in range(1200)], payloads)
    state = StateDb(tmp_path / STATE_FILE)
    versions = [file_version(p) for p in paths]
    state.record([Outcome(v, 0, "t") for v in versions[::3]], 100)
    assert state.recorded_among(versions) == set(versions[::3])
    paths[0].write_bytes(payloads[1] + b"x")  # replaced: a new version, not recorded
    assert file_version(paths[0]) not in state.recorded_among([file_version(paths[0])])
    state.close()
