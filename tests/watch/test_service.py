"""The watch service end to end (in a thread): every file dropped, in every way, gets exactly one row."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from hcd_edge.watch import WatchRequest, watch
from tests.watch.helpers import (
    count_rows,
    drop,
    read_rows,
    rows_per_path,
    running_watch,
    wait_until,
)

SETTLE = 0.3


def request(incoming, out, engine, **kwargs) -> WatchRequest:
    kwargs = {"settle": SETTLE, "batch_window": 0.1, "threads": 1, **kwargs}
    return WatchRequest(incoming=incoming, out=out, engine=engine, **kwargs)


def names(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i:05d}.tif" for i in range(n)]


def assert_one_row_each(out, paths) -> None:
    counts = rows_per_path(out)
    assert {str(p) for p in paths} <= set(counts), "some files have no row"
    assert all(counts[str(p)] == 1 for p in paths), f"duplicates: {counts.most_common(3)}"


def test_files_dropped_while_running_get_one_row_each(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    with running_watch(request(incoming, out, engine_dir)):
        paths = drop(incoming, names(40), payloads)
        (incoming / "sub").mkdir()
        paths += drop(incoming / "sub", ["q.tif"], payloads)
        (incoming / "notes.txt").write_text("not a patch")
        wait_until(lambda: count_rows(out) >= 41, 30, "41 rows")
        time.sleep(SETTLE * 3)  # nothing more may come
    assert_one_row_each(out, paths)
    rows = read_rows(out)
    assert len(rows) == 41 and all(r["status"] == "0" and r["probability"] for r in rows)
    assert {r["id"] for r in rows} == {p.stem for p in paths}


def test_the_same_patches_score_as_score_does(tmp_path, engine_dir, payloads):
    from hcd_edge.score import ScoreRequest, score

    incoming, out = tmp_path / "in", tmp_path / "out"
    paths = drop(incoming, names(20), payloads)
    watch(request(incoming, out, engine_dir, once=True))
    score(ScoreRequest(inputs=(incoming,), out=tmp_path / "scores.csv", engine=engine_dir))
    scored = (tmp_path / "scores.csv").read_text().splitlines()[1:]
    watched = {r["id"]: r for r in read_rows(out)}
    assert len(scored) == len(paths)
    for line in scored:
        pid, probability, label, status, _ = line.split(",")
        row = watched[pid]
        assert (row["probability"], row["label"], row["status"]) == (probability, label, status)


def test_a_file_written_slowly_is_taken_only_when_complete(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    data, path = payloads[0], incoming / "slow.tif"
    with running_watch(request(incoming, out, engine_dir, settle=1.5)):
        with open(path, "wb") as fh:
            for start in range(0, len(data), 4096):  # 7 pieces, 0.2 s apart: 1.2 s in all
                fh.write(data[start : start + 4096])
                fh.flush()
                time.sleep(0.2)
        wait_until(lambda: count_rows(out) >= 1, 20, "the slow file's row")
        time.sleep(1.0)
    rows = read_rows(out)
    assert len(rows) == 1 and rows[0]["path"] == str(path)
    assert rows[0]["status"] == "0", rows[0]["message"]


def test_a_file_renamed_into_place_is_taken_at_once_and_temporary_names_never(
        tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    with running_watch(request(incoming, out, engine_dir, settle=60)) as running:
        for name in ("a.tif.part", ".b.tif"):  # temporary names: one unmatched, one hidden
            (incoming / name).write_bytes(payloads[1][:1000])
        (incoming / "a.tif.part").write_bytes(payloads[1])
        os.replace(incoming / "a.tif.part", incoming / "a.tif")
        (incoming / ".b.tif").write_bytes(payloads[2])
        os.replace(incoming / ".b.tif", incoming / "b.tif")
        began = time.monotonic()
        wait_until(lambda: count_rows(out) >= 2, 20, "rows of the renamed files")
        waited = time.monotonic() - began
        assert waited < 30, "renamed files waited for --settle"  # settle is 60 s
        assert running.thread.is_alive()
    assert sorted(r["id"] for r in read_rows(out)) == ["a", "b"]
    assert all(r["status"] == "0" for r in read_rows(out))


def test_files_dropped_while_stopped_are_scored_at_the_next_start_and_nothing_twice(
        tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    first = drop(incoming, names(10), payloads)
    report = watch(request(incoming, out, engine_dir, once=True))
    assert (report.scored, report.skipped) == (10, 0)
    later = drop(incoming, names(5, "late"), payloads)
    with running_watch(request(incoming, out, engine_dir)) as running:
        wait_until(lambda: count_rows(out) >= 15, 30, "the 5 new rows")
        time.sleep(SETTLE * 3)
    assert running.report.skipped == 10
    assert_one_row_each(out, first + later)
    assert count_rows(out) == 15


def test_a_replaced_file_is_scored_again_and_an_unchanged_one_is_not(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    kept, replaced = drop(incoming, ["kept.tif", "replaced.tif"], payloads[:2])
    watch(request(incoming, out, engine_dir, once=True))
    with running_watch(request(incoming, out, engine_dir)):
        replaced.write_bytes(payloads[5])  # new content and mtime: a new version
        wait_until(lambda: count_rows(out) >= 3, 20, "the replaced file's second row")
        time.sleep(SETTLE * 3)
    counts = rows_per_path(out)
    assert counts[str(kept)] == 1 and counts[str(replaced)] == 2
    first, second = [r for r in read_rows(out) if r["path"] == str(replaced)]
    assert first["probability"] != second["probability"]


def test_a_broken_file_gets_one_error_row_and_is_not_retried(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    drop(incoming, ["good.tif"], payloads)
    (incoming / "truncated.tif").write_bytes(payloads[0][:5000])
    (incoming / "not_tiff.tif").write_text("hello")
    first = watch(request(incoming, out, engine_dir, once=True))
    second = watch(request(incoming, out, engine_dir, once=True))
    assert (first.scored, first.errors) == (1, 2)
    assert (second.scored, second.errors, second.skipped) == (0, 0, 3)
    rows = {r["id"]: r for r in read_rows(out)}
    assert len(rows) == 3 and rows["good"]["status"] == "0"
    assert rows["truncated"]["status"] != "0" and "truncated.tif" in rows["truncated"]["message"]
    assert rows["not_tiff"]["status"] != "0" and rows["not_tiff"]["probability"] == ""


def test_health_file_reports_the_last_file_and_counts(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    with running_watch(request(incoming, out, engine_dir)):
        running = json.loads((out / "health.json").read_text())
        assert running["state"] == "running" and running["events"] in ("native", "polling")
        paths = drop(incoming, names(3), payloads)
        wait_until(lambda: count_rows(out) >= 3, 20, "3 rows")
    health = json.loads((out / "health.json").read_text())
    assert health["state"] == "stopped" and health["pid"] == os.getpid()
    assert (health["scored"], health["errors"], health["queue"]) == (3, 0, 0)
    assert health["last_file"] == str(paths[-1]) and health["rate_per_second"] > 0
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_polling_observer_sees_dropped_files(tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    with running_watch(request(incoming, out, engine_dir, polling=True)):
        paths = drop(incoming, names(3), payloads)
        wait_until(lambda: count_rows(out) >= 3, 20, "3 rows via polling")
    assert json.loads((out / "health.json").read_text())["events"] == "polling"
    assert_one_row_each(out, paths)


def test_output_folder_inside_incoming_is_not_watched(tmp_path, engine_dir, payloads):
    incoming = tmp_path / "in"
    out = incoming / "results"
    paths = drop(incoming, names(2), payloads)
    out.mkdir()
    (out / "heatmap.tif").write_bytes(payloads[0])  # an output, not an input
    watch(request(incoming, out, engine_dir, once=True))
    assert set(rows_per_path(out)) == {str(p) for p in paths}


def test_a_second_watch_on_the_same_output_folder_is_refused(tmp_path, engine_dir):
    from hcd_edge.errors import DataError

    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    with running_watch(request(incoming, out, engine_dir)), \
            pytest.raises(DataError, match="another hcd-edge watch"):
        watch(request(incoming, out, engine_dir, once=True))


def test_a_foreign_results_csv_is_refused_not_appended_to(tmp_path, engine_dir):
    from hcd_edge.errors import DataError

    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    out.mkdir()
    (out / "results.csv").write_text("id,probability,label,status,message\nx,0.1,0,0,\n")
    with pytest.raises(DataError, match="not a results file of hcd-edge watch"):
        watch(request(incoming, out, engine_dir, once=True))
    assert (out / "results.csv").read_text().count("\n") == 2


def test_without_an_engine_the_starter_default_engine_is_built_and_used(tmp_path, payloads):
    from tests.tiny_models import write_tiny_cnn

    incoming, out = tmp_path / "in", tmp_path / "out"
    paths = drop(incoming, names(3), payloads)
    starter = write_tiny_cnn(tmp_path / "starter.onnx", threshold=0.3)
    report = watch(request(incoming, out, None, once=True, starter_model=starter))
    assert report.scored == 3
    assert_one_row_each(out, paths)
    engine = json.loads((out / "health.json").read_text())["engine"]
    assert engine.startswith(str(tmp_path / "cache"))  # built into the (private) cache


def test_a_folder_moved_in_and_a_folder_made_in_place_are_scored_file_by_file(
        tmp_path, engine_dir, payloads):
    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    outside = drop(tmp_path / "case7", names(6), payloads)  # written elsewhere, moved in whole
    with running_watch(request(incoming, out, engine_dir)):
        os.rename(tmp_path / "case7", incoming / "case7")
        made = drop(incoming / "case8" / "deep", names(4, "q"), payloads)
        wait_until(lambda: count_rows(out) >= 10, 20, "10 rows")
        time.sleep(SETTLE * 3)
    moved = [incoming / "case7" / p.name for p in outside]
    assert_one_row_each(out, moved + made)
    assert count_rows(out) == 10


def test_a_file_replaced_while_it_waits_in_the_queue_is_scored_once_as_its_newest_version(
        tmp_path, engine_dir, payloads):
    from hcd_edge.score import ScoreRequest, score

    incoming, out = tmp_path / "in", tmp_path / "out"
    incoming.mkdir()
    path = incoming / "a.tif"
    with running_watch(request(incoming, out, engine_dir, settle=0.1, batch_window=4.0)):
        path.write_bytes(payloads[0])
        time.sleep(1.0)  # complete and queued: the batch window holds it for 4 s
        path.write_bytes(payloads[7])  # replaced before it was scored
        wait_until(lambda: count_rows(out) >= 1, 20, "the row")
        time.sleep(1.0)
    (row,) = read_rows(out)
    score(ScoreRequest(inputs=(path,), out=tmp_path / "now.csv", engine=engine_dir))
    assert row["probability"] == (tmp_path / "now.csv").read_text().splitlines()[1].split(",")[1]


def test_batches_default_to_the_engines_optimal_batch(tmp_path, engine_dir, payloads, caplog):
    incoming, out = tmp_path / "in", tmp_path / "out"
    drop(incoming, names(3), payloads)
    with caplog.at_level(logging.INFO, logger="hcd_edge.watch"):
        watch(request(incoming, out, engine_dir, once=True))  # the tiny engine: --batch 1:16:256
        watch(request(incoming, tmp_path / "out5", engine_dir, once=True, batch=5))
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("watching")]
    assert [m.rsplit("batch ", 1)[1] for m in started] == ["16)", "5)"]
